/**
 * Figure 2: a new desired version reaches 1,000 long-polling agents on loopback with p99 under 1 s.
 *
 * The real server runs in its own process (bench/propagation-server.ts: `startServer`, SQLite
 * in a temp dir, port 0), as `failsmall serve` would; this process plays 1,000 agents over
 * plain node:http with a keep-alive agent (maxSockets = agents + 100), one socket per agent.
 *
 * Each simulated agent does what the real agent's loop does, minus the file work: long-poll
 * GET /v1/nodes/:id/desired?wait=60000 with If-None-Match: its ETag; when the desired version
 * changes, fetch the version's content and POST the load report; poll again.
 *
 * One repetition makes two changes that alter every node's desired state:
 *   start  — POST /v1/rollouts with a policy whose only stage is `100% nodes` (every node → vN)
 *   abort  — POST /v1/rollouts/:id/abort (every node → back to the current version)
 * t0 is taken just before the triggering call; an agent's latency is when its long-poll has
 * returned 200 with the new version and its body is read. Nothing else runs between changes:
 * each change waits until all 1,000 long-polls are held again (server gauge) and the
 * agents' reports are done.
 *
 *   npm run bench:propagation                 # human summary
 *   npm run bench:propagation -- --json       # one JSON object on stdout
 *   options: --agents 1000 --reps 5 --in-process (server in this process, for comparison)
 */
import { fork, execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { argInt, DECLARATIONS_YAML, fleetLabels, hasFlag, machine, ms, nodeId, summarize, type Summary } from './lib.ts';

const AGENTS = argInt('agents', 1000);
const REPS = argInt('reps', 5);
const IN_PROCESS = hasFlag('in-process');
const JSON_OUT = hasFlag('json');
const TARGET_P99_MS = 1000;
const CHANGE_TIMEOUT_MS = 30_000;
const ARTIFACT = 'bot-management-feature-file';
const log = (s: string) => { if (!JSON_OUT) process.stdout.write(`${s}\n`); };
const progress = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ── file descriptors: 1,000 sockets on each side of loopback ────────────────

function fdLimits(): { soft: number; hard: number } {
  const read = (flag: string) => {
    const v = execSync(`sh -c 'ulimit ${flag}'`, { encoding: 'utf8' }).trim();
    return v === 'unlimited' ? Infinity : Number(v);
  };
  return { soft: read('-Sn'), hard: read('-Hn') };
}

const need = AGENTS + 512;
const limits = fdLimits();
if (limits.soft < need) {
  if (process.env.FAILSMALL_BENCH_ULIMIT_RAISED || limits.hard < need) {
    progress(`propagation: ulimit -n is ${limits.soft} (hard ${limits.hard}); ${need} needed for ${AGENTS} agents. Raise it (ulimit -n ${need}) and run again.`);
    process.exit(1);
  }
  const to = Math.min(limits.hard, Math.max(need, 8192));
  progress(`propagation: ulimit -n is ${limits.soft}; re-running with ulimit -n ${to}`);
  const r = spawnSync('sh', ['-c', `ulimit -n ${to} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, FAILSMALL_BENCH_ULIMIT_RAISED: '1' },
  });
  process.exit(r.status ?? 1);
}

// ── HTTP ────────────────────────────────────────────────────────────────────

/** Agents' sockets: one keep-alive connection each (a long-poll holds it). */
const agentPool = new http.Agent({ keepAlive: true, maxSockets: AGENTS + 100, maxFreeSockets: AGENTS + 100 });
/** The operator's calls (apply, push, rollout, metrics): their own sockets, never queued behind long-polls. */
const adminPool = new http.Agent({ keepAlive: true, maxSockets: 16 });

interface Res { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

let base = { host: '127.0.0.1', port: 0 };
let token = '';

function request(pool: http.Agent, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...base, method, path, agent: pool, headers: { authorization: `Bearer ${token}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await request(adminPool, method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? {} : { 'content-type': 'application/json' });
  const text = res.body.toString('utf8');
  if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

async function serverWaiting(): Promise<number> {
  const res = await request(adminPool, 'GET', '/metrics');
  const m = /^failsmall_desired_long_polls (\d+)/m.exec(res.body.toString('utf8'));
  return m ? Number(m[1]) : -1;
}

// ── the server ──────────────────────────────────────────────────────────────

interface ServerStats { cpu_ms: number; event_loop_utilization: number; event_loop_max_stall_ms: number }
interface ServerHandle { url: string; adminToken: string; stats(): Promise<ServerStats | null>; resetStats(): Promise<void>; stop(): Promise<void> }

async function startServerProcess(dir: string): Promise<ServerHandle> {
  if (IN_PROCESS) {
    const { startServer } = await import('../packages/server/src/serve.ts');
    const srv = await startServer({ store: `sqlite:${join(dir, 'failsmall.db')}`, host: '127.0.0.1', port: 0, maxWaitMs: 60_000 });
    if (!srv.adminToken) throw new Error('no admin token from a fresh store');
    return { url: srv.url, adminToken: srv.adminToken, stats: async () => null, resetStats: async () => undefined, stop: () => srv.close() };
  }
  const child = fork(new URL('./propagation-server.ts', import.meta.url).pathname, [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(type: string) => new Promise<T>((resolve, reject) => {
    const on = (m: { type: string }) => { if (m.type === type) { child.off('message', on); child.off('exit', ex); resolve(m as T); } };
    const ex = (code: number | null) => reject(new Error(`server process exited (${code}) before ${type}`));
    child.on('message', on);
    child.once('exit', ex);
  });
  const ready = await next<{ url: string; adminToken: string }>('ready');
  return {
    url: ready.url, adminToken: ready.adminToken,
    stats: async () => {
      child.send({ type: 'stats' });
      const { cpu_ms, event_loop_utilization, event_loop_max_stall_ms } = await next<ServerStats>('stats');
      return { cpu_ms, event_loop_utilization, event_loop_max_stall_ms };
    },
    resetStats: async () => { child.send({ type: 'stats-reset' }); await next('stats-reset'); },
    stop: async () => {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.send({ type: 'stop' });
      await Promise.race([exited, sleep(10_000).then(() => { child.kill('SIGKILL'); })]);
    },
  };
}

// ── simulated agents ────────────────────────────────────────────────────────

interface SimAgent {
  readonly id: string;
  etag: string | undefined;
  /** The desired version last received. */
  desired: string | null | undefined;
  serving: string | null;
  /** A long-poll is in flight with the current ETag. */
  armed: boolean;
  /** Fetching content / reporting a load. */
  busy: boolean;
}

interface Change {
  readonly kind: 'start' | 'abort';
  readonly expect: string | null;
  readonly t0: number;
  readonly latencies: Map<string, number>;
  readonly done: () => void;
}

let stopping = false;
let current: Change | undefined;
const counts = { polls: 0, not_modified: 0, changed: 0, content_fetches: 0, load_reports: 0, errors: 0 };
const lastErrors: string[] = [];

async function runAgent(a: SimAgent): Promise<void> {
  while (!stopping) {
    let res: Res;
    try {
      a.armed = a.etag !== undefined;
      counts.polls++;
      res = await request(agentPool, 'GET', `/v1/nodes/${a.id}/desired?wait=60000`, undefined, a.etag ? { 'if-none-match': a.etag } : {});
    } catch (err) {
      a.armed = false;
      if (stopping) return;
      counts.errors++;
      if (lastErrors.length < 5) lastErrors.push(String(err));
      await sleep(200);
      continue;
    }
    const at = performance.now();
    a.armed = false;
    if (res.status === 304) { counts.not_modified++; continue; }
    if (res.status !== 200) {
      counts.errors++;
      if (lastErrors.length < 5) lastErrors.push(`desired: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`);
      await sleep(200);
      continue;
    }
    const body = JSON.parse(res.body.toString('utf8')) as { artifacts: { artifact: string; version: string | null }[] };
    const version = body.artifacts.find((x) => x.artifact === ARTIFACT)?.version ?? null;
    a.etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    a.desired = version;
    counts.changed++;
    const c = current;
    if (c && version === c.expect && !c.latencies.has(a.id)) {
      c.latencies.set(a.id, at - c.t0);
      if (c.latencies.size === AGENTS) c.done();
    }
    if (version !== a.serving) {
      // What the agent does next: fetch the bytes (if any), load them, report.
      a.busy = true;
      try {
        if (version !== null) {
          const content = await request(agentPool, 'GET', `/v1/artifacts/${ARTIFACT}/versions/${version}/content`);
          counts.content_fetches++;
          if (content.status !== 200) throw new Error(`content: HTTP ${content.status}`);
        }
        const report = await request(agentPool, 'POST', `/v1/nodes/${a.id}/loads`, JSON.stringify({ artifact: ARTIFACT, version, ok: true, serving: version, error: null }), { 'content-type': 'application/json' });
        if (report.status !== 200) throw new Error(`load report: HTTP ${report.status} ${report.body.toString('utf8').slice(0, 200)}`);
        counts.load_reports++;
        a.serving = version;
      } catch (err) {
        counts.errors++;
        if (lastErrors.length < 5) lastErrors.push(String(err));
      } finally {
        a.busy = false;
      }
    }
  }
}

/** Every agent holds a long-poll with its current ETag, is done reporting, and the server holds them all. */
async function quiesce(agents: readonly SimAgent[], why: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const armed = agents.filter((a) => a.armed && !a.busy).length;
    if (armed === agents.length) {
      const held = await serverWaiting();
      if (held === agents.length) break;
    }
    if (Date.now() > deadline) throw new Error(`${why}: agents did not settle (${armed}/${agents.length} armed, errors ${counts.errors}: ${lastErrors.join(' | ')})`);
    await sleep(50);
  }
  await sleep(250); // let stray work (controller ticks after the reports) finish
}

async function waitRollout(id: string, status: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = (await admin('GET', `/v1/rollouts/${id}`)) as { rollout: { status: string; phase: string } };
    if (r.rollout.status === status) return;
    if (Date.now() > deadline) throw new Error(`rollout ${id} is ${r.rollout.status}/${r.rollout.phase}, waited for ${status}`);
    await sleep(100);
  }
}

async function change(server: ServerHandle, agents: readonly SimAgent[], kind: Change['kind'], expect: string | null, trigger: () => Promise<unknown>): Promise<{ kind: string; expect: string | null; trigger_ms: number; received: number; summary: Summary; first_ms: number; server: ServerStats | null }> {
  await server.resetStats();
  let done!: () => void;
  const all = new Promise<void>((r) => { done = r; });
  const c: Change = { kind, expect, t0: performance.now(), latencies: new Map(), done };
  current = c;
  await trigger();
  const triggerMs = performance.now() - c.t0;
  await Promise.race([all, sleep(CHANGE_TIMEOUT_MS)]);
  current = undefined;
  // The server's CPU and event loop from just before t0 until it answers this request, which it
  // sees once the last agent had the change (and, queued with it, some follow-up fetches and reports).
  const stats = await server.stats();
  const xs = [...c.latencies.values()];
  if (xs.length < agents.length) progress(`  ${kind} → ${expect}: only ${xs.length}/${agents.length} agents received it within ${CHANGE_TIMEOUT_MS} ms`);
  // An agent that never received the change counts as the timeout, never as fast.
  for (let i = xs.length; i < agents.length; i++) xs.push(CHANGE_TIMEOUT_MS);
  for (const x of xs) allLatencies.push({ kind, ms: x });
  return { kind, expect, trigger_ms: triggerMs, received: c.latencies.size, summary: summarize(xs), first_ms: Math.min(...xs), server: stats };
}

// ── main ────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-propagation-'));
  const server = await startServerProcess(dir);
  const url = new URL(server.url);
  base = { host: url.hostname, port: Number(url.port) };
  token = server.adminToken;
  const agents: SimAgent[] = Array.from({ length: AGENTS }, (_, i) => ({ id: nodeId(i), etag: undefined, desired: undefined, serving: null, armed: false, busy: false }));
  const runs: Promise<void>[] = [];
  try {
    progress(`propagation: server ${IN_PROCESS ? 'in this process' : 'in its own process'} at ${server.url}; ${AGENTS} agents, ${REPS} repetitions, ulimit -n ${fdLimits().soft}`);
    await admin('POST', '/v1/apply', { text: DECLARATIONS_YAML, file: 'bench/lib.ts' });
    const versions = ['v0', ...Array.from({ length: REPS }, (_, i) => `v${i + 1}`)];
    for (const v of versions) {
      const res = await request(adminPool, 'POST', `/v1/artifacts/${ARTIFACT}/versions?version=${v}`, Buffer.from(JSON.stringify({ version: v, features: Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, weight: i })) })), { 'content-type': 'application/octet-stream' });
      if (res.status >= 400) throw new Error(`push ${v}: HTTP ${res.status} ${res.body.toString('utf8')}`);
    }
    const t = performance.now();
    for (let i = 0; i < AGENTS; i += 50) {
      await Promise.all(agents.slice(i, i + 50).map((a, j) => admin('POST', '/v1/nodes/register', { id: a.id, labels: fleetLabels(i + j), modules: [] })));
    }
    progress(`  registered ${AGENTS} nodes in ${Math.round(performance.now() - t)} ms`);
    for (const a of agents) runs.push(runAgent(a));
    await quiesce(agents, 'initial long-polls');
    progress(`  ${AGENTS} long-polls held`);

    // Seed: a first rollout that completes, so that the artifact has a current version (v0) to go back to.
    const seed = (await admin('POST', '/v1/rollouts', { artifact: ARTIFACT, version: 'v0', policy: 'propagation-seed' })) as { rollout: { id: string } };
    await waitRollout(seed.rollout.id, 'completed');
    await quiesce(agents, 'seed rollout');
    progress('  seed rollout v0 completed; measuring');

    const changes: Awaited<ReturnType<typeof change>>[] = [];
    for (let r = 1; r <= REPS; r++) {
      let rolloutId = '';
      const start = await change(server, agents, 'start', `v${r}`, async () => {
        const res = (await admin('POST', '/v1/rollouts', { artifact: ARTIFACT, version: `v${r}`, policy: 'propagation' })) as { rollout: { id: string } };
        rolloutId = res.rollout.id;
      });
      changes.push(start);
      progress(`  rep ${r} start → v${r}: p50 ${ms(start.summary.p50)} p99 ${ms(start.summary.p99)} max ${ms(start.summary.max)} ms (trigger call ${ms(start.trigger_ms)} ms)`);
      await quiesce(agents, `rep ${r} start`);
      const abort = await change(server, agents, 'abort', 'v0', () => admin('POST', `/v1/rollouts/${rolloutId}/abort`, { reason: 'benchmark' }));
      changes.push(abort);
      progress(`  rep ${r} abort → v0: p50 ${ms(abort.summary.p50)} p99 ${ms(abort.summary.p99)} max ${ms(abort.summary.max)} ms (trigger call ${ms(abort.trigger_ms)} ms)`);
      await waitRollout(rolloutId, 'aborted');
      await quiesce(agents, `rep ${r} abort`);
    }

    const result = {
      benchmark: 'propagation',
      date: new Date().toISOString(),
      machine: machine(),
      params: {
        agents: AGENTS, reps: REPS, changes: changes.length, server: IN_PROCESS ? 'same process as the agents' : 'separate process (fork), SQLite file store',
        long_poll_wait_ms: 60_000, client: `node:http keep-alive Agent, maxSockets ${AGENTS + 100}`, fd_soft_limit: fdLimits().soft,
      },
      target_p99_ms: TARGET_P99_MS,
      changes: changes.map((c) => ({ kind: c.kind, to: c.expect, received: c.received, trigger_ms: round(c.trigger_ms), first_ms: round(c.first_ms), ...roundSummary(c.summary), server_during_change: c.server })),
      // Every agent's latency in every change of a kind, pooled (n = agents × reps).
      pooled: {
        start: roundSummary(pooledOf('start')),
        abort: roundSummary(pooledOf('abort')),
        all: roundSummary(pooledOf()),
      },
      worst_change_p99_ms: round(Math.max(...changes.map((c) => c.summary.p99))),
      meets_target: changes.every((c) => c.received === AGENTS && c.summary.p99 < TARGET_P99_MS),
      client_counts: counts,
      runtime_s: Math.round((performance.now() - started) / 100) / 10,
    };
    if (JSON_OUT) { process.stdout.write(`${JSON.stringify(result, null, 2)}\n`); return; }

    const m = result.machine;
    log(`\nfailsmall propagation benchmark — ${result.date}`);
    log(`machine: ${m.cpu_model}, ${m.cpus} CPUs, ${m.mem_gib} GiB, node ${m.node}, load avg (1 min) ${m.loadavg_1m_at_start ?? '?'} at start, ${m.loadavg_1m_at_end ?? '?'} at end`);
    log(`${AGENTS} long-polling agents (one process, node:http), server ${result.params.server}; ${REPS} reps × (start, abort)`);
    log('\nper change: latency from just before the triggering call to each agent\'s long-poll returning the new version, ms');
    log(row(['change', 'to', 'recv', 'trigger', 'first', 'p50', 'p95', 'p99', 'max']));
    for (const c of changes) log(row([c.kind, String(c.expect), String(c.received), ms(c.trigger_ms), ms(c.first_ms), ms(c.summary.p50), ms(c.summary.p95), ms(c.summary.p99), ms(c.summary.max)]));
    log('\npooled over all agents and changes, ms');
    log(row(['kind', 'n', '', '', '', 'p50', 'p95', 'p99', 'max']));
    for (const [k, s] of Object.entries(result.pooled)) log(row([k, String(s.n), '', '', '', ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)]));
    log(`\nworst per-change p99: ${ms(result.worst_change_p99_ms)} ms; target p99 < ${TARGET_P99_MS} ms → ${result.meets_target ? 'MET' : 'NOT MET'}`);
    if (changes[0]?.server) {
      log('\nserver process from just before t0 until it answered a stats request sent once the last agent had the change');
      log('(so it includes some of the agents\' follow-up content fetches and load reports):');
      for (const c of changes) if (c.server) log(`  ${c.kind.padEnd(5)} → ${String(c.expect).padEnd(3)}  CPU ${c.server.cpu_ms} ms, event-loop utilization ${c.server.event_loop_utilization}, longest event-loop stall ${ms(c.server.event_loop_max_stall_ms)} ms`);
    }
    log(`client: ${JSON.stringify(counts)}`);
    log(`runtime ${result.runtime_s} s`);
  } finally {
    stopping = true;
    await server.stop();
    agentPool.destroy();
    adminPool.destroy();
    await Promise.race([Promise.allSettled(runs), sleep(5_000)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function pooledOf(kind?: string): Summary {
  return summarize(allLatencies.filter((x) => kind === undefined || x.kind === kind).map((x) => x.ms));
}

/** Every (kind, latency) recorded, for the pooled figures. */
const allLatencies: { kind: string; ms: number }[] = [];

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function roundSummary(s: Summary): Summary {
  return { n: s.n, min: round(s.min), p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max), mean: round(s.mean) };
}

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(8) : i === 1 ? c.padEnd(5) : c.padStart(8))).join(' ');
}

await main();
process.exit(0);
