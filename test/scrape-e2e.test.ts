/**
 * Signals from an application without the SDK, with real processes only: `failsmall serve`,
 * three `failsmall agent`s that scrape the Prometheus metrics of three example apps
 * (examples/scrape-app/app.mjs, the README's scrape tour) and hand them each routes file through
 * --reload-url. A good routes file completes; one that sends /api to an upstream that does not
 * exist (502s) rolls back at the canary on error_rate alone. Then the agents scrape endpoints that
 * answer garbage or refuse: the gates have no data, the rollout never passes (it pauses), and
 * `failsmall nodes` says why.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT } from '../packages/cli/src/exit-codes.ts';
import { Api, Child, freePort, REPO_ROOT, runCli, startServe, waitFor, type Served } from './helpers/procs.ts';

const ARTIFACT = 'web-proxy-routes';
const NODES = ['web-1', 'web-2', 'web-3'];
const example = (f: string) => join(REPO_ROOT, 'examples', f);

interface NodeJson { id: string; loads: { artifact: string; serving: string | null }[]; signal_problems?: { module: string; source: string; reason: string; message: string; since: number }[] }
interface RolloutJson { id: string; status: string; assigned: string[]; pause_reason: string | null; last_verdicts: { gate: string; status: string; reason: string }[] }

function show(r: { code: number | null; stdout: string; stderr: string }): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

/** `node examples/scrape-app/app.mjs`, ready once it prints its address. */
async function startApp(port: number): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = spawn(process.execPath, [example('scrape-app/app.mjs'), '--port', String(port), '--rps', '150'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  await waitFor(`the scrape app on port ${port} to listen`, () => /scrape-app on http/.test(out) || (proc.exitCode !== null ? Promise.reject(new Error(out)) : false), { timeoutMs: 30_000 });
  return { proc, out: () => out };
}

test('agents scraping an application gate a rollout: healthy completes, 502s roll back at the canary, a broken scrape is inconclusive with its reason on the node', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-scrape-'));
  const apps: ChildProcess[] = [];
  const agents: Child[] = [];
  let server: Served | undefined;
  let garbage: Server | undefined;
  t.after(async () => {
    await Promise.all(agents.map((c) => c.stop()));
    for (const a of apps) a.kill('SIGTERM');
    await server?.child.stop();
    garbage?.closeAllConnections();
    garbage?.close();
    await rm(dir, { recursive: true, force: true });
  });

  assert.equal((await runCli(['keys', 'init', '--dir', join(dir, 'keys')], { cwd: dir })).code, EXIT.OK);
  server = await startServe({ store: join(dir, 'fs.db'), port: 0, tickMs: 100, cwd: dir, signingKey: join(dir, 'keys', 'artifact.key') });
  const admin = server.adminToken ?? '';
  const env = { FAILSMALL_SERVER: server.url, FAILSMALL_TOKEN: admin };
  const cli = (args: string[], timeoutMs?: number) => runCli(args, { env, ...(timeoutMs ? { timeoutMs } : {}) });
  const api = new Api(server.url, admin);
  const fleetToken = (await api.post<{ token: string }>('/v1/tokens', { name: 'fleet', role: 'join' })).token;

  const appPorts = await Promise.all(NODES.map(() => freePort()));
  for (const port of appPorts) apps.push((await startApp(port)).proc);
  const metricsPort = await freePort();
  const startAgent = (i: number, scrapeUrl: string) => {
    const port = appPorts[i] ?? 0;
    const child = new Child([
      'agent', '--node-id', NODES[i] ?? '', '--modules', 'web-proxy', '--dir', join(dir, 'agents', NODES[i] ?? ''),
      '--public-key', join(dir, 'keys', 'artifact.pub'), '--metrics-interval', '300', '--poll-wait', '5000',
      '--scrape', `web-proxy=${scrapeUrl}`, '--reload-url', `web-proxy=http://127.0.0.1:${port}/-/reload`,
      // One node names its metrics in the example mapping file; the others use the defaults.
      ...(i === 0 ? ['--scrape-map', example('scrape-app/scrape-map.yaml'), '--metrics-listen', `127.0.0.1:${metricsPort}`] : []),
    ], { env: { FAILSMALL_SERVER: server?.url, FAILSMALL_TOKEN: fleetToken }, cwd: dir });
    agents.push(child);
    return child;
  };
  const first = NODES.map((_, i) => startAgent(i, `http://127.0.0.1:${appPorts[i]}/metrics`));

  const applied = await cli(['apply', 'examples/scrape.yaml']);
  assert.equal(applied.code, EXIT.OK, show(applied));
  await copyFile(example('scrape-app/routes-v1.json'), join(dir, 'routes-v3.json'));
  for (const [file, version] of [[example('scrape-app/routes-v1.json'), 'v1'], [example('scrape-app/routes-v2.json'), 'v2'], [join(dir, 'routes-v3.json'), 'v3']] as const) {
    const pushed = await cli(['artifact', 'push', ARTIFACT, file, '--version', version]);
    assert.equal(pushed.code, EXIT.OK, show(pushed));
  }
  await waitFor('3 agents to register', async () => (await api.get<{ nodes: NodeJson[] }>('/v1/nodes')).nodes.length === NODES.length,
    { timeoutMs: 60_000, intervalMs: 250, last: () => first.map((c) => (c.running ? '' : c.describe())).join('\n') });

  await t.test('a healthy routes file completes, its error_rate and latency_p99 read from the scraped app', async () => {
    const r = await cli(['rollout', 'start', ARTIFACT, 'v1', '--watch'], 150_000);
    assert.equal(r.code, EXIT.OK, show(r));
    assert.match(r.stdout, /pass {2}web-proxy\/error_rate: 0 <= 0\.01/, show(r));
    assert.match(r.stdout, /pass {2}web-proxy\/latency_p99: [\d.]+ <= 250/, show(r));
    assert.match(r.stdout, /completed at stage global: 3 nodes run the new version/);
  });

  await t.test('a routes file that sends /api to a missing upstream (502s) rolls back at the canary on error_rate', async () => {
    const r = await cli(['rollout', 'start', ARTIFACT, 'v2', '--watch'], 150_000);
    assert.equal(r.code, EXIT.ROLLOUT_FAILED, show(r));
    assert.match(r.stdout, /FAIL {2}web-proxy\/error_rate: 0\.\d+ > 0\.01/, show(r));
    assert.match(r.stdout, /ROLLBACK at stage canary .*gate web-proxy\/error_rate on stage canary failed/);
    assert.doesNotMatch(r.stdout, /stage global \(/, 'the bad file never leaves the canary');
    await waitFor('every node to serve v1 again', async () => (await api.get<{ nodes: NodeJson[] }>('/v1/nodes')).nodes
      .every((n) => n.loads.some((l) => l.artifact === ARTIFACT && l.serving === 'v1')));
  });

  await t.test('scrapes that answer garbage or nothing: no data, the rollout pauses instead of passing, and the node says why', async () => {
    garbage = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html><body>Welcome to nginx!</body></html>\n'); });
    const garbagePort = await freePort();
    await new Promise<void>((r) => garbage?.listen(garbagePort, '127.0.0.1', () => r()));
    const refusedPort = await freePort();
    await Promise.all(first.map((c) => c.stop()));
    const broken = [
      startAgent(0, `http://127.0.0.1:${garbagePort}/metrics`),
      startAgent(1, `http://127.0.0.1:${garbagePort}/metrics`),
      startAgent(2, `http://127.0.0.1:${refusedPort}/metrics`),
    ];
    const problems = await waitFor('every node to report why it sends no metrics', async () => {
      const nodes = (await api.get<{ nodes: NodeJson[] }>('/v1/nodes')).nodes;
      const reasons = Object.fromEntries(nodes.map((n) => [n.id, n.signal_problems?.[0]?.reason]));
      return reasons['web-1'] === 'not_prometheus' && reasons['web-2'] === 'not_prometheus' && reasons['web-3'] === 'unreachable' ? nodes : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, last: () => broken.map((c) => c.stderr.slice(-500)).join('\n') });
    assert.match(problems.find((n) => n.id === 'web-1')?.signal_problems?.[0]?.message ?? '', /not Prometheus text: "<html><body>Welcome" is not a metric name/);
    assert.match(problems.find((n) => n.id === 'web-3')?.signal_problems?.[0]?.message ?? '', /ECONNREFUSED/);

    const started = await api.post<{ rollout: RolloutJson }>('/v1/rollouts', { artifact: ARTIFACT, version: 'v3' });
    const ended = await waitFor('the v3 rollout to stop', async () => {
      const r = (await api.get<{ rollout: RolloutJson }>(`/v1/rollouts/${started.rollout.id}`)).rollout;
      return r.status === 'running' ? undefined : r;
    }, { timeoutMs: 90_000, intervalMs: 250 });
    assert.equal(ended.status, 'paused', `without data the rollout never passes: ${JSON.stringify(ended)}`);
    assert.match(ended.pause_reason ?? '', /inconclusive/);
    const errorRate = ended.last_verdicts.find((v) => v.gate.endsWith('error_rate'));
    assert.equal(errorRate?.status, 'inconclusive', JSON.stringify(ended.last_verdicts));
    assert.match(errorRate?.reason ?? '', /no data/);
    // The verdict itself names the cause: the cohort node that cannot scrape its application.
    assert.match(errorRate?.reason ?? '', /cohort node(s)? cannot read web-proxy's metrics: web-\d: scrape (not_prometheus|unreachable): /);

    // Where a user finds the reason: `failsmall nodes` names it for the canary node.
    const canary = ended.assigned[0] ?? '';
    const nodes = await cli(['nodes']);
    assert.equal(nodes.code, EXIT.OK, show(nodes));
    const line = nodes.stdout.split('\n').find((l) => l.startsWith(`${canary} `)) ?? '';
    assert.match(line, /NO METRICS web-proxy \(scrape (not_prometheus|unreachable): /, nodes.stdout);

    // The agent logs the reason once, however many scrapes fail, and counts them on its /metrics.
    await waitFor('web-1 to count several failed scrapes', async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const n = Number(/failsmall_agent_scrape_errors_total\{node="web-1",module="web-proxy",reason="not_prometheus"\} (\d+)/.exec(text)?.[1] ?? 0);
      return n >= 5;
    });
    const warned = (broken[0]?.stderr ?? '').split('\n').filter((l) => /scrape of web-proxy .* failed \[not_prometheus\]/.test(l));
    assert.equal(warned.length, 1, broken[0]?.stderr);
    await api.post(`/v1/rollouts/${started.rollout.id}/abort`, { reason: 'test done' }).catch(() => undefined);
  });
});
