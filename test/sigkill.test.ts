/**
 * Design rule 5, crash-safe control plane: the server is killed with SIGKILL mid-rollout
 * (a real `failsmall serve` child process), restarted on the same store and port, and the
 * rollout resumes from the store. No transition is lost or doubled, and no node ends on an
 * unknown version. Rule 4 on the way: while the server is down, the agents keep serving
 * what they had (in memory and on disk).
 *
 * The fleet is 20 in-process `Agent`s talking real HTTP to the child. Kill points are drawn
 * from a seeded random source; replay a run with FAILSMALL_TEST_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Agent } from '../packages/agent/src/index.ts';
import { generateSigningKeys, TERMINAL_STATUSES, type RolloutState } from '../packages/core/src/index.ts';
import { openStore } from '../packages/server/src/store/index.ts';
import { Api, freePort, seededRandom, sleep, startServe, waitFor, type Served } from './helpers/procs.ts';

const ARTIFACT = 'feature-file';
const FLEET = 20;
const STAGES = ['canary', 'partial', 'global'] as const;
const SEED = Number(process.env.FAILSMALL_TEST_SEED ?? 20251118);
/** The module takes this long to refuse a bad file: long enough that a kill right after the start lands before any report. */
const REFUSAL_MS = 500;

const CONTENT: Record<string, Buffer> = {
  v1: Buffer.from('feature file v1\nfeature_a 0.5\nfeature_b 0.25\n'),
  v2: Buffer.from('feature file v2\nfeature_a 0.5\nfeature_b 0.25\nfeature_c 0.125\n'),
  v3: Buffer.from('feature file v3 BAD\nfeature_a 0.5\nfeature_a 0.5\n'),
};

const POLICY_YAML = `
modules:
  bot-management:
    on_load_failure: serve-stale
  proxy:
    on_load_failure: serve-stale

artifacts:
  ${ARTIFACT}:
    kind: feature-file
    module: bot-management
    policy: three-stage
    validation:
      max_bytes: 65536

policies:
  three-stage:
    artifact: ${ARTIFACT}
    interval: 300ms
    bake: 1s
    load_timeout: 3s
    # After a restart, gates lack data until every agent is back: one that lost the control plane
    # retries with full-jitter backoff capped at 30 s (Backoff in the agent), counted from before
    # the restart. Wait that out, downtime included; do not pause.
    max_extension: 90s
    stages:
      - name: canary
        scope: 10% nodes
        health_gates: &gates
          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 2s }
          - { module: proxy, metric: error_rate, threshold: 0.01, window: 2s }
        rollback_on_failure: true
      - name: partial
        scope: 50% nodes
        health_gates: *gates
        rollback_on_failure: true
      - name: global
        scope: 100% nodes
        health_gates: *gates
        rollback_on_failure: true
  # Installs the first version on the whole fleet quickly, so the scenarios have a "from" version.
  all-at-once:
    artifact: ${ARTIFACT}
    interval: 100ms
    bake: 200ms
    load_timeout: 3s
    max_extension: 30s
    stages:
      - name: everyone
        scope: 100% nodes
        health_gates:
          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 2s }
`;

interface EventRecord { seq: number; type: string; at: number; rollout_id: string | null; payload: Record<string, unknown> }
interface LoadRow { artifact: string; version: string | null; ok: boolean; serving: string | null; error: string | null }
interface NodeRow { id: string; loads: LoadRow[] }
interface RolloutResponse { rollout: RolloutState; cohort: { nodes: number; reported: number; failed_loads: number } }

interface KillRecord {
  readonly label: string;
  /** The rollout as the store held it when the server died (read from the store while it was down). */
  readonly persisted: Pick<RolloutState, 'status' | 'phase' | 'stage_index' | 'rev'>;
}

/** One control-plane child, its store and port, the fleet, and everything to clean up. */
class Cluster {
  readonly dir: string;
  readonly storePath: string;
  readonly keyPath: string;
  publicKey = '';
  readonly port: number;
  server!: Served;
  api!: Api;
  readonly agents: Agent[] = [];
  agentDirs = new Map<string, string>();
  /** Every agent's serving() as sampled through the test: catches a node that ever served a version it must not. */
  readonly everServed = new Set<string>();
  #sampler: NodeJS.Timeout | undefined;
  readonly kills: KillRecord[] = [];

  constructor(dir: string, port: number) {
    this.dir = dir;
    this.storePath = join(dir, 'fs.db');
    this.keyPath = join(dir, 'artifact.key');
    this.port = port;
  }

  static async create(t: TestContext): Promise<Cluster> {
    const dir = await mkdtemp(join(tmpdir(), 'failsmall-sigkill-'));
    const c = new Cluster(dir, await freePort());
    t.after(() => c.teardown());
    const keys = generateSigningKeys();
    await writeFile(c.keyPath, keys.privateKey, { mode: 0o600 });
    c.publicKey = keys.publicKey;
    const first = await startServe({ store: c.storePath, port: c.port, signingKey: c.keyPath });
    c.server = first;
    assert.ok(first.adminToken, 'the first start of a fresh store prints the admin token');
    c.api = new Api(first.url, first.adminToken);
    assert.equal(first.url, `http://127.0.0.1:${c.port}`);

    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, POLICY_YAML);
    await c.api.post('/v1/apply', { text: await readFile(policyFile, 'utf8'), file: policyFile });
    const { token } = await c.api.post<{ token: string }>('/v1/tokens', { name: 'fleet', role: 'join' });

    for (let i = 0; i < FLEET; i++) {
      const id = `node-${String(i + 1).padStart(2, '0')}`;
      const agentDir = join(dir, 'agents', id);
      c.agentDirs.set(id, agentDir);
      c.agents.push(new Agent({
        server: first.url, token, nodeId: id, dir: agentDir, publicKey: c.publicKey,
        labels: { region: ['eu', 'us', 'ap'][i % 3] ?? 'eu' },
        modules: ['bot-management', 'proxy'],
        metricsIntervalMs: 300,
        pollWaitMs: 5000,
        callbacks: {
          // The module, in process: it refuses (slowly) a file that contains BAD.
          'bot-management': async (path) => {
            if ((await readFile(path, 'utf8')).includes('BAD')) {
              await sleep(REFUSAL_MS);
              throw new Error('bot-management refused the file: it contains BAD');
            }
          },
        },
        // ~100 requests/s of healthy synthetic traffic on the proxy.
        onInterval: (a) => { const m = a.meter('proxy'); for (let k = 0; k < 30; k++) m.request(true, 5 + (k % 7)); },
      }));
    }
    await Promise.all(c.agents.map((a) => a.start()));
    await waitFor(`${FLEET} agents to register`, async () => (await c.api.get<{ nodes: NodeRow[] }>('/v1/nodes')).nodes.length === FLEET);
    c.#sampler = setInterval(() => { for (const a of c.agents) c.everServed.add(String(a.serving()[ARTIFACT] ?? null)); }, 20);

    // v1 everywhere, so each scenario rolls from a known version.
    await c.api.postBytes(`/v1/artifacts/${ARTIFACT}/versions?version=v1`, CONTENT.v1!);
    const { rollout } = await c.api.post<{ rollout: RolloutState }>('/v1/rollouts', { artifact: ARTIFACT, version: 'v1', policy: 'all-at-once' });
    const done = await c.waitTerminal(rollout.id);
    assert.equal(done.status, 'completed', `installing v1 on the fleet: ${done.outcome?.reason ?? done.status}`);
    await waitFor('every agent to serve v1', () => c.agents.every((a) => a.serving()[ARTIFACT] === 'v1'), { last: () => JSON.stringify(c.servingMap()) });
    c.everServed.clear();
    return c;
  }

  servingMap(): Record<string, string | null> {
    return Object.fromEntries(this.agents.map((a) => [a.nodeId, a.serving()[ARTIFACT] ?? null]));
  }

  /** What each agent serves, and the bytes of its artifact file on disk. */
  async snapshot(): Promise<Record<string, { serving: string | null; file: string | null }>> {
    const out: Record<string, { serving: string | null; file: string | null }> = {};
    for (const a of this.agents) {
      let file: string | null = null;
      try { file = (await readFile(join(this.agentDirs.get(a.nodeId)!, ARTIFACT))).toString('base64'); } catch { file = null; }
      out[a.nodeId] = { serving: a.serving()[ARTIFACT] ?? null, file };
    }
    return out;
  }

  async rollout(id: string): Promise<RolloutResponse> {
    return this.api.get<RolloutResponse>(`/v1/rollouts/${id}`);
  }

  async waitTerminal(id: string, timeoutMs = 120_000): Promise<RolloutState> {
    let last: RolloutState | undefined;
    return waitFor(`rollout ${id} to finish`, async () => {
      last = (await this.rollout(id)).rollout;
      if (last.status === 'paused') throw new Error(`rollout ${id} paused: ${last.pause_reason ?? ''}`);
      return TERMINAL_STATUSES.includes(last.status) ? last : undefined;
    }, { timeoutMs, last: () => (last ? `${last.status}/${last.phase} stage ${last.stage_index} (${JSON.stringify(last.last_verdicts.map((v) => `${v.gate}:${v.status}`))})` : 'nothing') });
  }

  /** Polls the rollout until `pred` holds, and returns the state that satisfied it. */
  async until(id: string, what: string, pred: (r: RolloutResponse) => boolean): Promise<RolloutResponse> {
    let last: RolloutResponse | undefined;
    return waitFor(what, async () => { last = await this.rollout(id); return pred(last) ? last : undefined; },
      { intervalMs: 10, timeoutMs: 120_000, last: () => (last ? `${last.rollout.status}/${last.rollout.phase} stage ${last.rollout.stage_index}` : 'nothing') });
  }

  /**
   * kill -9 the control plane; while it is down, check that the fleet keeps serving what it
   * had and read the rollout as the store holds it; then restart on the same store and port.
   */
  async crash(t: TestContext, rolloutId: string, label: string, known: readonly string[]): Promise<KillRecord> {
    const pid = this.server.child.pid;
    process.kill(pid, 'SIGKILL');
    const exit = await this.server.child.exited;
    assert.equal(exit.signal, 'SIGKILL', `the server (pid ${pid}) should have died of SIGKILL, got ${JSON.stringify(exit)}`);

    // The store exactly as the killed process left it.
    const store = await openStore({ engine: 'sqlite', path: this.storePath });
    const state = await store.getRollout(rolloutId);
    await store.close();
    assert.ok(state, `rollout ${rolloutId} is in the store after the kill`);
    const record: KillRecord = { label, persisted: { status: state.status, phase: state.phase, stage_index: state.stage_index, rev: state.rev } };
    t.diagnostic(`kill -9 #${this.kills.length + 1} (${label}): store held ${state.status}/${state.phase} stage ${STAGES[state.stage_index] ?? state.stage_index} rev ${state.rev}`);

    // Loads already in flight at the kill finish (a refusal takes REFUSAL_MS); then nothing may change.
    await sleep(REFUSAL_MS + 200);
    const during = await this.snapshot();
    for (const [node, s] of Object.entries(during)) {
      assert.ok(s.serving !== null && known.includes(s.serving), `${node} serves ${s.serving} while the control plane is down; expected one of ${known.join(', ')}`);
      assert.equal(s.file, CONTENT[s.serving]!.toString('base64'), `${node}: the file on disk is not the bytes of ${s.serving}, the version it says it serves`);
    }
    await sleep(600);
    assert.deepEqual(await this.snapshot(), during, 'an agent changed what it serves (or its file on disk) while the control plane was down');

    const again = await startServe({ store: this.storePath, port: this.port, signingKey: this.keyPath });
    this.server = again;
    assert.equal(again.adminToken, null, 'a restart on the same store creates no new admin token');
    assert.equal(again.url, this.api.url, 'the restarted server listens on the same address');
    this.kills.push(record);
    return record;
  }

  async events(id: string): Promise<EventRecord[]> {
    return (await this.api.get<{ events: EventRecord[] }>(`/v1/rollouts/${id}/events?limit=5000`)).events;
  }

  async teardown(): Promise<void> {
    if (this.#sampler) clearInterval(this.#sampler);
    // Stop agents while the server is (normally) up; an agent sleeping in backoff may take a while, so bound it.
    await Promise.race([Promise.all(this.agents.map((a) => a.stop())), sleep(5000)]);
    await this.server?.child.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Transitions only: the events that move the state machine, without gate evaluations and extensions. */
function transitions(events: readonly EventRecord[]): EventRecord[] {
  return events.filter((e) => e.type !== 'gates.evaluated' && e.type !== 'rollout.extended' && e.type !== 'rollout.bake_extended');
}

/** `+0ms started, +12ms baking canary, …`: the transitions relative to the first event, for the test's diagnostics. */
function timeline(events: readonly EventRecord[]): string {
  const t0 = events[0]?.at ?? 0;
  return transitions(events).map((e) => `+${e.at - t0}ms ${e.type.replace('rollout.', '')}${e.payload.stage ? ` ${String(e.payload.stage)}` : ''}`).join(', ');
}

function assertStrictlyIncreasingSeqs(events: readonly EventRecord[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i]!.seq > events[i - 1]!.seq, `event seqs must strictly increase: ${events[i - 1]!.seq} then ${events[i]!.seq}`);
  }
}

test('server killed with SIGKILL mid-rollout resumes and leaves no node on an unknown version (good version completes)', { timeout: 300_000 }, async (t) => {
  const random = seededRandom(SEED);
  t.diagnostic(`seed ${SEED} (replay with FAILSMALL_TEST_SEED=${SEED})`);
  const c = await Cluster.create(t);
  await c.api.postBytes(`/v1/artifacts/${ARTIFACT}/versions?version=v2`, CONTENT.v2!);

  const { rollout: started } = await c.api.post<{ rollout: RolloutState }>('/v1/rollouts', { artifact: ARTIFACT, version: 'v2' });
  assert.equal(started.from_version, 'v1');
  const id = started.id;
  const known = ['v1', 'v2'];
  const stageSeen: number[] = [];

  // Kill 1: right after the start, while the canary applies (or has just begun to bake).
  await sleep(Math.floor(random() * 80));
  await c.crash(t, id, 'canary applying', known);

  // Kill 2: while some stage bakes, at a random point of its bake.
  const k = random() < 0.5 ? 0 : 1;
  const seen2 = await c.until(id, `stage ${STAGES[k]} to bake (or pass it)`, (r) => TERMINAL_STATUSES.includes(r.rollout.status) || r.rollout.stage_index > k || (r.rollout.stage_index === k && r.rollout.phase === 'baking'));
  stageSeen.push(seen2.rollout.stage_index);
  await sleep(Math.floor(random() * 600));
  await c.crash(t, id, `${STAGES[k]} baking (or just past it)`, known);

  // Kill 3: right after the promote to the last stage.
  const seen3 = await c.until(id, 'the promote to stage global', (r) => TERMINAL_STATUSES.includes(r.rollout.status) || r.rollout.stage_index >= 2);
  stageSeen.push(seen3.rollout.stage_index);
  await sleep(Math.floor(random() * 50));
  await c.crash(t, id, 'right after the promote to global', known);

  for (const kill of c.kills) {
    assert.equal(kill.persisted.status, 'running', `kill "${kill.label}" must land mid-rollout; the store held ${kill.persisted.status}`);
  }
  assert.ok(c.kills.some((k2) => k2.persisted.stage_index === 2), `one kill lands in stage global; got ${JSON.stringify(c.kills)}`);

  const final = await c.waitTerminal(id);
  assert.equal(final.status, 'completed', `the rollout completes after ${c.kills.length} kills: ${final.outcome?.reason ?? ''}`);
  assert.equal(final.stage_index, 2);
  assert.equal(final.assigned.length, FLEET);

  // The log: every transition exactly once, in order, despite three crashes.
  const events = await c.events(id);
  assertStrictlyIncreasingSeqs(events);
  assert.ok(events.every((e) => e.rollout_id === id));
  t.diagnostic(`timeline: ${timeline(events)}`);
  const moves = transitions(events).map((e) => {
    const p = e.payload;
    if (e.type === 'rollout.promoted') return `${e.type} ${String(p.from_stage)}->${String(p.to_stage)}`;
    if (e.type === 'rollout.started') return e.type;
    return `${e.type} ${String(p.stage)}`;
  });
  assert.deepEqual(moves, [
    'rollout.started',
    'rollout.stage_started canary', 'rollout.baking canary', 'rollout.promoted canary->partial',
    'rollout.stage_started partial', 'rollout.baking partial', 'rollout.promoted partial->global',
    'rollout.stage_started global', 'rollout.baking global', 'rollout.completed global',
  ], 'each transition happens exactly once, stages in order canary → partial → global');
  assert.equal(events.at(-1)?.type, 'rollout.completed', 'nothing is logged for the rollout after it completed');
  // Gate evaluations follow the stages in order too (never one for an earlier stage after a later one began).
  const evalStages = events.filter((e) => e.type === 'gates.evaluated').map((e) => STAGES.indexOf(e.payload.stage as typeof STAGES[number]));
  assert.ok(evalStages.length >= 3 && evalStages.every((s, i) => s >= 0 && (i === 0 || s >= evalStages[i - 1]!)), `gate evaluations in stage order: ${evalStages.join(',')}`);

  // Every node ends on v2, in the agent, on disk and in the control plane's view.
  await waitFor('every agent to serve v2', () => c.agents.every((a) => a.serving()[ARTIFACT] === 'v2'), { last: () => JSON.stringify(c.servingMap()) });
  const snap = await c.snapshot();
  for (const [node, s] of Object.entries(snap)) assert.equal(s.file, CONTENT.v2!.toString('base64'), `${node}: file on disk is v2`);
  const { nodes } = await c.api.get<{ nodes: NodeRow[] }>('/v1/nodes');
  assert.equal(nodes.length, FLEET);
  for (const n of nodes) {
    const load = n.loads.find((l) => l.artifact === ARTIFACT);
    assert.ok(load, `${n.id} reported a load of ${ARTIFACT}`);
    assert.deepEqual({ version: load.version, ok: load.ok, serving: load.serving }, { version: 'v2', ok: true, serving: 'v2' }, `${n.id}'s last load`);
  }
  const art = await c.api.get<{ artifact: { current_version: string | null } }>(`/v1/artifacts/${ARTIFACT}`);
  assert.equal(art.artifact.current_version, 'v2');
  assert.deepEqual([...c.everServed].sort(), ['v1', 'v2'], 'no agent ever served anything but v1 or v2');
});

test('server killed with SIGKILL as a bad version starts resumes into the rollback; every node keeps the old version', { timeout: 300_000 }, async (t) => {
  const random = seededRandom(SEED ^ 0x5bad);
  t.diagnostic(`seed ${SEED} (replay with FAILSMALL_TEST_SEED=${SEED})`);
  const c = await Cluster.create(t);
  await c.api.postBytes(`/v1/artifacts/${ARTIFACT}/versions?version=v3`, CONTENT.v3!);

  const { rollout: started } = await c.api.post<{ rollout: RolloutState }>('/v1/rollouts', { artifact: ARTIFACT, version: 'v3' });
  const id = started.id;
  assert.equal(started.from_version, 'v1');

  // Kill 1: right after the start. The canary nodes need REFUSAL_MS to refuse, so none has reported yet.
  await sleep(Math.floor(random() * 60));
  const k1 = await c.crash(t, id, 'bad version just started', ['v1']);
  assert.deepEqual({ status: k1.persisted.status, phase: k1.persisted.phase, stage: k1.persisted.stage_index }, { status: 'running', phase: 'applying', stage: 0 },
    'the first kill lands before the canary reported (the store still holds the applying canary)');

  // Kill 2: as soon as the canary's refusals reach the restarted server (before or during the rollback).
  await c.until(id, 'a canary node to report its failed load', (r) => r.cohort.reported > 0 || r.rollout.status !== 'running');
  await c.crash(t, id, 'refusals arriving / rolling back', ['v1']);

  const final = await c.waitTerminal(id);
  assert.equal(final.status, 'rolled_back', `the bad version is rolled back: ${final.outcome?.reason ?? final.status}`);
  assert.equal(final.stage_index, 0);
  assert.equal(final.outcome?.stage, 'canary');
  assert.equal(final.outcome?.verdict?.gate, 'bot-management/load_success_rate');
  assert.equal(final.assigned.length, 2, 'the canary is 10% of 20 nodes');

  const events = await c.events(id);
  assertStrictlyIncreasingSeqs(events);
  t.diagnostic(`timeline: ${timeline(events)}`);
  const moves = transitions(events).map((e) => `${e.type} ${String(e.payload.stage ?? '')}`.trim());
  assert.deepEqual(moves, ['rollout.started', 'rollout.stage_started canary', 'rollout.baking canary', 'rollout.rolling_back canary', 'rollout.rolled_back canary'],
    'exactly one start, one rollback and one rolled_back, all at the canary');
  const rb = events.find((e) => e.type === 'rollout.rolling_back');
  assert.equal(rb?.payload.gate, 'bot-management/load_success_rate', 'the rollback names the failing gate');
  assert.equal(events.at(-1)?.type, 'rollout.rolled_back');

  // Every node serves v1: none serves v3, none serves nothing.
  await waitFor('every agent to serve v1', () => c.agents.every((a) => a.serving()[ARTIFACT] === 'v1'), { last: () => JSON.stringify(c.servingMap()) });
  for (const [node, s] of Object.entries(await c.snapshot())) assert.equal(s.file, CONTENT.v1!.toString('base64'), `${node}: the file on disk is v1 again`);
  const canary = new Set(final.assigned);
  const { nodes } = await c.api.get<{ nodes: NodeRow[] }>('/v1/nodes');
  assert.equal(nodes.length, FLEET);
  let refusals = 0;
  for (const n of nodes) {
    const load = n.loads.find((l) => l.artifact === ARTIFACT);
    assert.ok(load, `${n.id} reported a load of ${ARTIFACT}`);
    assert.equal(load.serving, 'v1', `${n.id} serves v1 (control plane's view)`);
    const seen = { version: load.version, ok: load.ok };
    if (canary.has(n.id)) {
      // The first refusal already fails the gate (the silent canary cannot save it), so a
      // second canary node may be rolled back before it ever tried v3.
      assert.ok(seen.version === 'v3' ? !seen.ok : seen.version === 'v1' && seen.ok, `${n.id} (canary) refused v3 or never tried it: ${JSON.stringify(seen)}`);
      if (seen.version === 'v3') refusals++;
    } else {
      assert.deepEqual(seen, { version: 'v1', ok: true }, `${n.id} (outside the canary) never tried v3`);
    }
  }
  assert.ok(refusals >= 1, 'at least one canary node refused v3');
  const art = await c.api.get<{ artifact: { current_version: string | null } }>(`/v1/artifacts/${ARTIFACT}`);
  assert.equal(art.artifact.current_version, 'v1');
  assert.deepEqual([...c.everServed].sort(), ['v1'], 'no agent ever served v3 (or nothing) during the scenario');
});
