/**
 * Figure 1: one engine decision over a 10,000-node fleet takes at most 50 ms.
 *
 * Part A (the figure): the pure core calls a controller tick makes — `startRollout`, and
 * `gateQueries` + `step` in every phase — timed with performance.now() over a 10,000-node
 * fleet and the issue's 3-stage policy (1% → 10% → 100%, two gates). No IO.
 *
 * Part B (context, labelled as including IO): the server's whole `Controller.tick()` for one
 * rollout against a real SQLite store (a file in a temp dir) holding 10,000 registered nodes,
 * their load reports and one metrics sample each, with a breakdown of where the time goes.
 *
 *   npm run bench:engine                  # human summary
 *   npm run bench:engine -- --json        # one JSON object on stdout
 *   options: --nodes 10000 --iterations 200 --warmup 50 --tick-iterations 20 --skip-tick
 *            --reread-fleet (the controller reads the whole fleet at each observation, as before FleetView)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  gateQueries, LATENCY_BUCKETS_MS, startRollout, step,
  type FleetNode, type GateObservation, type MetricAggregate, type NodeLoad, type PolicySpec, type RolloutState, type StepOutput,
} from '@failsmall/core';
import { Controller } from '../packages/server/src/controller/controller.ts';
import { observe } from '../packages/server/src/controller/observations.ts';
import { DesiredHub } from '../packages/server/src/desired/hub.ts';
import { openStore } from '../packages/server/src/store/index.ts';
import type { LoadReport, NodeRecord, Store } from '../packages/server/src/store/types.ts';
import { argInt, declarations, fleetLabels, hasFlag, machine, ms, nodeId, summarize, type Summary } from './lib.ts';

const NODES = argInt('nodes', 10_000);
const ITERATIONS = argInt('iterations', 200);
const WARMUP = argInt('warmup', 50);
const TICK_ITERATIONS = argInt('tick-iterations', 20);
const TICK_WARMUP = 3;
const TARGET_MS = 50;
const JSON_OUT = hasFlag('json');
const log = (s: string) => { if (!JSON_OUT) process.stdout.write(`${s}\n`); };
const progress = (s: string) => process.stderr.write(`${s}\n`);

const decls = declarations();
const policy = (name: string): PolicySpec => {
  const p = decls.policies.find((x) => x.name === name);
  if (!p) throw new Error(`no policy ${name}`);
  return p;
};
const THREE = policy('three-stage');
const FREE_FIRST = policy('free-tier-first');
const ARTIFACT = 'bot-management-feature-file';
const MODULE = 'bot-management';
const FROM = 'v1';
const TO = 'v2';
const T0 = 1_800_000_000_000; // a fixed epoch for the fake clock

// ── the fleet and what it reported ──────────────────────────────────────────

const fleet: FleetNode[] = Array.from({ length: NODES }, (_, i) => ({ id: nodeId(i), labels: fleetLabels(i) }));
const allIds = fleet.map((n) => n.id);

function loadsFor(ids: readonly string[], load: NodeLoad): Map<string, NodeLoad> {
  return new Map(ids.map((id) => [id, load]));
}
const loadedTo = loadsFor(allIds, { version: TO, ok: true, serving: TO, error: null });
const backOnFrom = loadsFor(allIds, { version: FROM, ok: true, serving: FROM, error: null });

function aggregate(nodes: number, perNode: { requests: number; errors: number; loads: number; loadsOk: number }): MetricAggregate {
  const buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  buckets[3] = perNode.requests * nodes;
  return {
    requests: perNode.requests * nodes, errors: perNode.errors * nodes, loads_attempted: perNode.loads * nodes,
    loads_succeeded: perNode.loadsOk * nodes, latency_buckets: buckets, counters: {}, nodes,
  };
}

/** One observation per gate of the state's current stage, as the shell would hand them to `step`. */
function observationsFor(state: RolloutState, healthy: boolean): Map<string, GateObservation> {
  const cohort = state.assigned.length;
  const baseline = NODES - cohort;
  const out = new Map<string, GateObservation>();
  const stage = state.policy_spec.stages[state.stage_index];
  for (const gate of stage?.health_gates ?? []) {
    const loadGate = gate.metric === 'load_success_rate';
    out.set(gate.name, {
      cohort: loadGate ? aggregate(cohort, { requests: 0, errors: 0, loads: 1, loadsOk: 1 }) : aggregate(cohort, { requests: 200, errors: healthy ? 0 : 20, loads: 0, loadsOk: 0 }),
      cohortNodes: cohort,
      baseline: baseline === 0 ? null : loadGate ? aggregate(baseline, { requests: 0, errors: 0, loads: 1, loadsOk: 1 }) : aggregate(baseline, { requests: 200, errors: 0, loads: 0, loadsOk: 0 }),
      windowMs: gate.window_ms,
    });
  }
  return out;
}

function ok(r: StepOutput | { error: { message: string } }): StepOutput {
  if ('error' in r) throw new Error(r.error.message);
  return r;
}

function must(out: StepOutput, want: Partial<Pick<RolloutState, 'status' | 'phase' | 'stage_index'>>, what: string): RolloutState {
  for (const [k, v] of Object.entries(want)) {
    if ((out.state as unknown as Record<string, unknown>)[k] !== v) {
      const reasons = out.events.flatMap((e) => ((e.payload as { verdicts?: { gate: string; status: string; reason: string }[] }).verdicts ?? []).map((v) => `${v.gate} ${v.status}: ${v.reason}`));
      throw new Error(`${what}: expected ${k}=${String(v)}, got ${String((out.state as unknown as Record<string, unknown>)[k])} (events: ${out.events.map((e) => e.type).join(', ')}; ${reasons.join(' | ')})`);
    }
  }
  return out.state;
}

// ── drive one rollout through its states with the real engine ───────────────

function decide(state: RolloutState, loads: ReadonlyMap<string, NodeLoad>, healthy: boolean, now: number): StepOutput {
  const queries = gateQueries(state, now);
  const observations = queries.length > 0 ? observationsFor(state, healthy) : new Map<string, GateObservation>();
  return step({ state, fleet, loads, observations, now });
}

function startState(id = 'r-bench'): RolloutState {
  return ok(startRollout({ id, artifact: ARTIFACT, module: MODULE, policy: THREE, fromVersion: FROM, toVersion: TO, fleet, actor: 'bench', now: T0 })).state;
}

/** Applying at `stage`, then baking, then (past bake) evaluating: returns the states the bench needs. */
function stagesOf(): { applying: RolloutState[]; baking: RolloutState[]; bakeEnd: number[] } {
  const applying: RolloutState[] = [];
  const baking: RolloutState[] = [];
  const bakeEnd: number[] = [];
  let s = startState();
  let now = T0;
  for (let i = 0; i < THREE.stages.length; i++) {
    applying.push(s);
    now += 5_000;
    let b = must(decide(s, loadedTo, true, now), { phase: 'baking', stage_index: i }, `stage ${i} applying`);
    baking.push(b);
    const end = now + (THREE.stages[i]?.bake_ms ?? 0);
    bakeEnd.push(end);
    // Checked every interval through the bake, as the controller does: bake counts only watched time.
    const interval = THREE.stages[i]?.interval_ms ?? 10_000;
    for (let t = now + interval; t < end; t += interval) b = must(decide(b, loadedTo, true, t), { phase: 'baking', stage_index: i }, `stage ${i} baking at ${t - now} ms`);
    if (i + 1 < THREE.stages.length) s = must(decide(b, loadedTo, true, end), { phase: 'applying', stage_index: i + 1 }, `stage ${i} promote`);
    now = end;
  }
  return { applying, baking, bakeEnd };
}

const { applying, baking, bakeEnd } = stagesOf();
const lastStage = THREE.stages.length - 1;
const applyingGlobal = applying[lastStage]!;
const bakingCanary = baking[0]!;
const bakingPartial = baking[1]!;
const bakingGlobal = baking[lastStage]!;
const rollingBackGlobal = must(decide(bakingGlobal, loadedTo, false, (bakingGlobal.bake_started_at ?? T0) + 10_000), { status: 'rolling_back' }, 'global gate failure');
const missingOne = new Map(loadedTo);
missingOne.delete(allIds[allIds.length - 1]!);

interface Case {
  readonly kind: string;
  readonly what: string;
  readonly cohort: number;
  readonly run: (i: number) => StepOutput;
  readonly expect: (out: StepOutput) => boolean;
}

const cases: Case[] = [
  {
    kind: 'start', what: 'startRollout: stage canary (1% nodes) cohort selected over the whole fleet', cohort: applying[0]!.assigned.length,
    run: (i) => ok(startRollout({ id: `r-bench-${i}`, artifact: ARTIFACT, module: MODULE, policy: THREE, fromVersion: FROM, toVersion: TO, fleet, actor: 'bench', now: T0 })),
    expect: (o) => o.desiredChanged,
  },
  {
    kind: 'start_selector', what: 'startRollout: stage "1% nodes where customer_tier=free" (label match over the fleet)', cohort: 0,
    run: (i) => ok(startRollout({ id: `r-bench-${i}`, artifact: ARTIFACT, module: MODULE, policy: FREE_FIRST, fromVersion: FROM, toVersion: TO, fleet, actor: 'bench', now: T0 })),
    expect: (o) => o.desiredChanged,
  },
  {
    kind: 'applying_wait', what: 'applying, global (100%) cohort, 1 node not reported yet → no change', cohort: applyingGlobal.assigned.length,
    run: () => decideTimed(applyingGlobal, missingOne, true, applyingGlobal.stage_started_at + 1_000),
    expect: (o) => o.state === applyingGlobal,
  },
  {
    kind: 'applying_to_baking', what: 'applying, global (100%) cohort, all loads reported → baking', cohort: applyingGlobal.assigned.length,
    run: () => decideTimed(applyingGlobal, loadedTo, true, applyingGlobal.stage_started_at + 5_000),
    expect: (o) => o.state.phase === 'baking',
  },
  {
    kind: 'baking_not_due', what: 'baking, global, evaluation not due → no change', cohort: bakingGlobal.assigned.length,
    run: () => decideTimed({ ...bakingGlobal, last_evaluated_at: bakeEnd[lastStage]! - 60_000 }, loadedTo, true, bakeEnd[lastStage]! - 55_000),
    expect: (o) => o.events.length === 0,
  },
  {
    kind: 'baking_evaluate', what: 'baking, global, gates evaluated on observations of 10k cohort, pass, still baking', cohort: bakingGlobal.assigned.length,
    run: () => decideTimed(bakingGlobal, loadedTo, true, (bakingGlobal.bake_started_at ?? T0) + 10_000),
    expect: (o) => o.state.phase === 'baking' && o.events[0]?.type === 'gates.evaluated',
  },
  {
    kind: 'promote_1_to_10', what: 'baking, canary baked, gates pass → promote to partial (10%): nested cohort over the fleet', cohort: baking[1]!.assigned.length,
    run: () => decideTimed({ ...bakingCanary, last_evaluated_at: bakeEnd[0]! - 10_000 }, loadedTo, true, bakeEnd[0]!),
    expect: (o) => o.state.stage_index === 1 && o.desiredChanged,
  },
  {
    kind: 'promote_10_to_100', what: 'baking, partial baked, gates pass → promote to global (100%): nested cohort over the fleet', cohort: bakingGlobal.assigned.length,
    run: () => decideTimed({ ...bakingPartial, last_evaluated_at: bakeEnd[1]! - 10_000 }, loadedTo, true, bakeEnd[1]!),
    expect: (o) => o.state.stage_index === 2 && o.desiredChanged,
  },
  {
    kind: 'complete', what: 'baking, global baked, gates pass → completed', cohort: bakingGlobal.assigned.length,
    run: () => decideTimed({ ...bakingGlobal, last_evaluated_at: bakeEnd[lastStage]! - 10_000 }, loadedTo, true, bakeEnd[lastStage]!),
    expect: (o) => o.state.status === 'completed',
  },
  {
    kind: 'gate_fail_rollback', what: 'baking, global, error_rate gate fails → rolling back (10k nodes)', cohort: bakingGlobal.assigned.length,
    run: () => decideTimed(bakingGlobal, loadedTo, false, (bakingGlobal.bake_started_at ?? T0) + 10_000),
    expect: (o) => o.state.status === 'rolling_back',
  },
  {
    kind: 'rollback_confirmed', what: 'rolling back, all 10k nodes serve from_version again → rolled_back', cohort: rollingBackGlobal.assigned.length,
    run: () => decideTimed(rollingBackGlobal, backOnFrom, true, (rollingBackGlobal.rollback_started_at ?? T0) + 5_000),
    expect: (o) => o.state.status === 'rolled_back',
  },
];

/**
 * What the controller does per decision besides IO: `gateQueries` (the shell asks it what to
 * read) and `step`. Observations are prebuilt, since building them is the shell's work
 * (measured separately below as `observe_in_memory`).
 */
let prebuilt = new Map<string, GateObservation>();
let prebuiltBad = new Map<string, GateObservation>();
const none = new Map<string, GateObservation>();
function decideTimed(state: RolloutState, loads: ReadonlyMap<string, NodeLoad>, healthy: boolean, now: number): StepOutput {
  const queries = gateQueries(state, now);
  const observations = queries.length > 0 ? (healthy ? prebuilt : prebuiltBad) : none;
  return step({ state, fleet, loads, observations, now });
}

interface CaseResult { kind: string; what: string; cohort: number; summary: Summary; meets_target: boolean }

function runPure(): CaseResult[] {
  const results: CaseResult[] = [];
  for (const c of cases) {
    // Observations for a healthy stage are built once per case (as the shell would, outside step).
    const probe = c.kind.startsWith('promote_1') ? bakingCanary : c.kind.startsWith('promote_10') ? bakingPartial : bakingGlobal;
    prebuilt = observationsFor(probe, true);
    prebuiltBad = observationsFor(probe, false);
    const check = c.run(-1);
    if (!c.expect(check)) throw new Error(`case ${c.kind} did not produce the transition it measures: ${check.events.map((e) => e.type).join(', ') || 'no events'}`);
    const cohort = c.kind === 'start_selector' ? check.state.assigned.length : c.cohort;
    for (let i = 0; i < WARMUP; i++) c.run(i);
    const samples: number[] = [];
    let sink = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const t = performance.now();
      const out = c.run(WARMUP + i);
      samples.push(performance.now() - t);
      sink += out.events.length;
    }
    if (sink < 0) log('unreachable');
    const summary = summarize(samples);
    results.push({ kind: c.kind, what: c.what, cohort, summary, meets_target: summary.max <= TARGET_MS });
  }
  return results;
}

// ── observe() over an in-memory store: the shell's CPU work without IO ──────

function memoryStore(state: RolloutState): Store {
  const nodes: NodeRecord[] = fleet.map((n) => ({ id: n.id, labels: n.labels, modules: [], registered_at: T0, last_seen_at: T0, pins: [] }));
  const reports: LoadReport[] = allIds.map((id) => ({ node_id: id, artifact: state.artifact, version: TO, ok: true, serving: TO, error: null, at: T0 }));
  const perNode = (): Map<string, MetricAggregate> => new Map(allIds.map((id) => [id, aggregate(1, { requests: 200, errors: 0, loads: 0, loadsOk: 0 })]));
  const stub = {
    listNodes: async () => nodes,
    listLoads: async () => reports,
    metricsByNode: async () => perNode(),
  };
  return stub as unknown as Store;
}

async function runObserveInMemory(): Promise<CaseResult> {
  const state = bakingGlobal;
  const store = memoryStore(state);
  const now = (state.bake_started_at ?? T0) + 10_000;
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const t = performance.now();
    const obs = await observe(store, state, now);
    step({ state, fleet: obs.fleet, loads: obs.loads, observations: obs.observations, now });
    const d = performance.now() - t;
    if (i >= WARMUP) samples.push(d);
  }
  const summary = summarize(samples);
  return {
    kind: 'observe_in_memory+step', cohort: state.assigned.length, summary, meets_target: summary.max <= TARGET_MS,
    what: 'the shell\'s observe() over an in-memory store stub (fleetFor, loads map, cohort/baseline aggregation of 10k per-node metrics) + step; no IO',
  };
}

// ── Part B: Controller.tick() against a real SQLite store ───────────────────

interface Interval { cat: string; start: number; end: number }

/** Wraps an object so that every async method call is recorded as an interval. */
function recorder<T extends object>(target: T, prefix: string, sink: Interval[]): T {
  return new Proxy(target, {
    get(t, prop, _receiver) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const start = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(t, args);
        if (r instanceof Promise) {
          return r.finally(() => { sink.push({ cat: `${prefix}${String(prop)}`, start, end: performance.now() }); });
        }
        return r;
      };
    },
  });
}

/**
 * Exclusive time per category. Store calls are serialized on the single SQLite connection,
 * so the time between the previous call's end and a call's end is that call's own work.
 * hub.refresh encloses two store calls; its own share is what is left of it.
 */
function breakdown(intervals: readonly Interval[], total: number): Record<string, number> {
  const store = intervals.filter((i) => i.cat.startsWith('store.')).sort((a, b) => a.end - b.end);
  const out: Record<string, number> = {};
  let prevEnd = -Infinity;
  let storeTotal = 0;
  for (const i of store) {
    const own = i.end - Math.max(i.start, prevEnd);
    // observe() runs these two with Promise.all: they interleave on the one connection, so only their sum is meaningful.
    const cat = i.cat === 'store.listNodes' || i.cat === 'store.listLoads' ? 'store.listNodes+listLoads (concurrent)' : i.cat;
    out[cat] = (out[cat] ?? 0) + Math.max(0, own);
    storeTotal += Math.max(0, own);
    prevEnd = Math.max(prevEnd, i.end);
  }
  for (const h of intervals.filter((i) => i.cat.startsWith('hub.'))) {
    const inner = store.filter((s) => s.start >= h.start && s.end <= h.end);
    let innerOwn = 0;
    let pe = h.start;
    for (const s of inner) { innerOwn += Math.max(0, s.end - Math.max(s.start, pe)); pe = Math.max(pe, s.end); }
    out[`${h.cat} (in-memory part)`] = (out[`${h.cat} (in-memory part)`] ?? 0) + Math.max(0, (h.end - h.start) - innerOwn);
    storeTotal += Math.max(0, (h.end - h.start) - innerOwn);
  }
  out['compute (observe aggregation + engine step, outside store calls)'] = Math.max(0, total - storeTotal);
  return out;
}

interface TickResult {
  kind: string;
  what: string;
  summary: Summary;
  /** CPU time of this process per tick (user + system; better-sqlite3 runs on this thread, so its reads and writes are in it). */
  cpu: Summary;
  /** Rows the controller's fleet view read per tick (deltas; every node and load report on a full read). */
  fleet_rows_read: number;
  /** Mean ms per iteration, by where the time went. */
  breakdown_mean_ms: Record<string, number>;
  store_calls: Record<string, number>;
}

async function runTicks(): Promise<{ setup_ms: Record<string, number>; ticks: TickResult[]; store_calls_alone: Record<string, Summary>; db_bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-bench-'));
  const setup: Record<string, number> = {};
  const mark = async <R>(name: string, fn: () => Promise<R>): Promise<R> => {
    const t = performance.now();
    const r = await fn();
    setup[name] = Math.round(performance.now() - t);
    progress(`  setup ${name}: ${setup[name]} ms`);
    return r;
  };
  const raw = await openStore({ engine: 'sqlite', path: join(dir, 'bench.db') });
  try {
    await raw.applyDeclarations(decls, { actor: 'bench' });
    for (const v of [FROM, TO]) {
      const content = Buffer.from(JSON.stringify({ version: v, features: [] }));
      const put = await raw.putVersion({ artifact: ARTIFACT, version: v, sha256: `${v}`.padEnd(64, '0'), content, forced: false, created_at: T0 }, { actor: 'bench' });
      if (!put.ok) throw new Error('putVersion failed');
    }
    await raw.db.updateTable('artifacts').set({ current_version: FROM }).where('name', '=', ARTIFACT).execute();

    await mark(`register ${NODES} nodes (upsertNode)`, async () => {
      for (const n of fleet) await raw.upsertNode({ id: n.id, labels: { ...n.labels }, modules: [] }, T0);
    });
    await mark(`${NODES} load reports (recordLoad)`, async () => {
      for (const id of allIds) await raw.recordLoad({ node_id: id, artifact: ARTIFACT, version: TO, ok: true, serving: TO, error: null, at: T0 });
    });
    const sample = (errors: number) => ({ proxy: { requests: 200, errors, loads_attempted: 0, loads_succeeded: 0, latency_buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0).map((_, i) => (i === 3 ? 200 : 0)), counters: {} } });
    // Healthy samples around every stage's evaluation times; an unhealthy set far later for the rollback case.
    const BAD_AT = T0 + 10_000_000;
    await mark(`${NODES} healthy metric samples (insertMetrics)`, async () => {
      for (const id of allIds) await raw.insertMetrics(id, bakeEnd[lastStage]! - 20_000, sample(0));
    });
    await mark(`${NODES} unhealthy metric samples (insertMetrics, later window)`, async () => {
      for (const id of allIds) await raw.insertMetrics(id, BAD_AT, sample(20));
    });

    const intervals: Interval[] = [];
    const store = recorder(raw, 'store.', intervals);
    const hubRaw = new DesiredHub(store);
    const hub = recorder(hubRaw, 'hub.', intervals);
    let clockNow = T0;
    // --reread-fleet: read every node and load report at each observation, as before FleetView (the side-by-side).
    const controller = new Controller({ store, hub, clock: { now: () => clockNow }, log: { error: (o, m) => progress(`controller: ${m} ${String((o as { err?: unknown }).err)}`) }, tickMs: 250, memoryFleet: !hasFlag('reread-fleet') });

    // The rollout row the controller reads; each iteration resets it to a prepared state (untimed).
    const first = { ...startState('r-tick'), rev: 1 };
    const created = await raw.createRollout(first, []);
    if (!created.ok) throw new Error(`bench setup: createRollout refused (${created.code})`);
    let rev = 1;
    const put = async (s: RolloutState) => {
      rev += 1;
      await raw.db.updateTable('rollouts').set({ state: JSON.stringify({ ...s, id: 'r-tick', rev }), status: s.status, rev, updated_at: s.updated_at }).where('id', '=', 'r-tick').execute();
      await raw.db.updateTable('artifacts').set({ current_version: FROM }).where('name', '=', ARTIFACT).execute();
    };
    // The states, re-derived for id r-tick so that cohorts match what the engine would pick.
    const baseline = { id: 'r-tick' };

    interface TickCase { kind: string; what: string; state: RolloutState; now: number; expectTransitions: number; before?: () => Promise<void>; armWaiters?: boolean }
    const tickCases: TickCase[] = [
      { kind: 'tick_baking_not_due', what: 'baking, global, evaluation not due: no transition (what most ticks are)', state: { ...bakingGlobal, ...baseline, last_evaluated_at: bakeEnd[lastStage]! - 25_000 }, now: bakeEnd[lastStage]! - 20_000, expectTransitions: 0 },
      { kind: 'tick_applying_to_baking', what: 'applying, global (10k cohort), all 10k loads reported → baking', state: { ...applyingGlobal, ...baseline }, now: applyingGlobal.stage_started_at + 5_000, expectTransitions: 1 },
      { kind: 'tick_baking_evaluate', what: 'baking, global: gates read 10k load reports + 10k metric samples, pass, keep baking', state: { ...bakingGlobal, ...baseline }, now: bakeEnd[lastStage]! - 10_000, expectTransitions: 1 },
      { kind: 'tick_promote_10_to_100', what: 'baking, partial baked → promote to global (nested cohort over 10k) + hub refresh', state: { ...bakingPartial, ...baseline, bake_started_at: bakeEnd[lastStage]! - 70_000, stage_started_at: bakeEnd[lastStage]! - 75_000, last_evaluated_at: bakeEnd[lastStage]! - 20_000 }, now: bakeEnd[lastStage]! - 10_000, expectTransitions: 1 },
      { kind: 'tick_promote_10_to_100_with_10k_waiters', what: 'same promote, with 10,000 long-polls held in the hub (woken in-process, no HTTP)', state: { ...bakingPartial, ...baseline, bake_started_at: bakeEnd[lastStage]! - 70_000, stage_started_at: bakeEnd[lastStage]! - 75_000, last_evaluated_at: bakeEnd[lastStage]! - 20_000 }, now: bakeEnd[lastStage]! - 10_000, expectTransitions: 1, armWaiters: true },
      { kind: 'tick_gate_fail_rollback', what: 'baking, global: error_rate gate fails on 10k samples → rolling back', state: { ...bakingGlobal, ...baseline, bake_started_at: BAD_AT - 5_000, stage_started_at: BAD_AT - 10_000, last_evaluated_at: null }, now: BAD_AT + 5_000, expectTransitions: 1 },
      {
        kind: 'tick_rollback_confirmed', what: 'rolling back, all 10k nodes report from_version → rolled_back', state: { ...rollingBackGlobal, ...baseline }, now: (rollingBackGlobal.rollback_started_at ?? T0) + 5_000, expectTransitions: 1,
        // Every node reports the old version again, as agents would (recordLoad stamps each report's time: the fleet view reads them as changed).
        before: async () => { await raw.db.updateTable('node_loads').set({ version: FROM, serving: FROM, at: (rollingBackGlobal.rollback_started_at ?? T0) + 4_000 }).where('artifact', '=', ARTIFACT).execute(); },
      },
    ];

    // Each store call alone (no tick around it), to attribute the tick's IO without interleaving.
    const isolated: Record<string, Summary> = {};
    const alone = async (name: string, fn: () => Promise<unknown>) => {
      const xs: number[] = [];
      for (let i = 0; i < TICK_WARMUP + TICK_ITERATIONS; i++) {
        const t = performance.now();
        await fn();
        if (i >= TICK_WARMUP) xs.push(performance.now() - t);
      }
      isolated[name] = summarize(xs);
    };
    await put({ ...bakingGlobal, id: 'r-tick' });
    await alone('listRollouts({active}) (state JSON with 10k assigned)', () => raw.listRollouts({ active: true }));
    await alone(`listNodes (${NODES} rows)`, () => raw.listNodes());
    await alone(`listLoads (${NODES} rows)`, () => raw.listLoads(ARTIFACT));
    await alone(`metricsByNode (${NODES} samples in window)`, () => raw.metricsByNode('proxy', bakeEnd[lastStage]! - 60_000, bakeEnd[lastStage]!));
    await alone('hub.refresh (no waiters)', () => hubRaw.refresh());

    const nodeRecords = await raw.listNodes();
    const results: TickResult[] = [];
    for (const c of tickCases) {
      await c.before?.();
      const samples: number[] = [];
      const cpus: number[] = [];
      let rowsRead = 0;
      const sums: Record<string, number> = {};
      const calls: Record<string, number> = {};
      for (let i = 0; i < TICK_WARMUP + TICK_ITERATIONS; i++) {
        await put(c.state);
        await hubRaw.refresh();
        if (c.armWaiters) {
          hubRaw.close();
          for (const n of nodeRecords) void hubRaw.wait(n, hubRaw.desiredFor(n).etag, 60_000);
          if (hubRaw.waiting !== nodeRecords.length) throw new Error(`armed ${hubRaw.waiting} waiters, want ${nodeRecords.length}`);
        }
        clockNow = c.now;
        intervals.length = 0;
        const t = performance.now();
        const cpu0 = process.cpuUsage();
        const transitions = await controller.tick();
        const cpu = process.cpuUsage(cpu0);
        const d = performance.now() - t;
        if (transitions !== c.expectTransitions) throw new Error(`${c.kind}: ${transitions} transitions, expected ${c.expectTransitions}`);
        if (c.armWaiters && hubRaw.waiting > nodeRecords.length * 0.11) throw new Error(`${c.kind}: ${hubRaw.waiting} waiters still held after the promote`);
        if (i < TICK_WARMUP) continue;
        samples.push(d);
        cpus.push((cpu.user + cpu.system) / 1000);
        rowsRead += controller.fleet.lastRead;
        for (const [k, v] of Object.entries(breakdown(intervals, d))) sums[k] = (sums[k] ?? 0) + v;
        for (const iv of intervals) calls[iv.cat] = (calls[iv.cat] ?? 0) + 1;
      }
      hubRaw.close();
      const bd = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Math.round((v / TICK_ITERATIONS) * 100) / 100]).sort((a, b) => (b[1] as number) - (a[1] as number)));
      const perTick = Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v / TICK_ITERATIONS]));
      results.push({ kind: c.kind, what: c.what, summary: summarize(samples), cpu: summarize(cpus), fleet_rows_read: rowsRead / TICK_ITERATIONS, breakdown_mean_ms: bd, store_calls: perTick });
      progress(`  ${c.kind}: p50 ${ms(summarize(samples).p50)} ms`);
    }
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(join(dir, 'bench.db')));
    return { setup_ms: setup, ticks: results, store_calls_alone: isolated, db_bytes: size };
  } finally {
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── main ────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const started = performance.now();
  progress(`engine-decision: ${NODES} nodes, ${ITERATIONS} iterations after ${WARMUP} warm-up per decision kind`);
  const pure = runPure();
  pure.push(await runObserveInMemory());
  let tick: Awaited<ReturnType<typeof runTicks>> | null = null;
  if (!hasFlag('skip-tick')) {
    progress(`engine-decision: Controller.tick() against SQLite, ${TICK_ITERATIONS} iterations after ${TICK_WARMUP} warm-up per case`);
    tick = await runTicks();
  }
  const worst = pure.filter((r) => r.kind !== 'observe_in_memory+step').reduce((a, b) => (b.summary.max > a.summary.max ? b : a));
  const result = {
    benchmark: 'engine-decision',
    date: new Date().toISOString(),
    machine: machine(),
    params: { nodes: NODES, iterations: ITERATIONS, warmup: WARMUP, tick_iterations: TICK_ITERATIONS, tick_warmup: TICK_WARMUP, policy: 'three-stage: 1% → 10% → 100%, gates bot-management/load_success_rate + proxy/error_rate' },
    target_ms: TARGET_MS,
    pure_decisions: pure,
    worst_pure_decision: { kind: worst.kind, max_ms: worst.summary.max, p99_ms: worst.summary.p99 },
    meets_target: pure.filter((r) => r.kind !== 'observe_in_memory+step').every((r) => r.meets_target),
    server_tick_with_sqlite_io: tick,
    runtime_s: Math.round((performance.now() - started) / 100) / 10,
  };
  if (JSON_OUT) { process.stdout.write(`${JSON.stringify(result, null, 2)}\n`); return; }

  const m = result.machine;
  log(`\nfailsmall engine-decision benchmark — ${result.date}`);
  log(`machine: ${m.cpu_model}, ${m.cpus} CPUs, ${m.mem_gib} GiB, node ${m.node}, load avg (1 min) ${m.loadavg_1m_at_start ?? '?'} at start, ${m.loadavg_1m_at_end ?? '?'} at end`);
  log(`fleet: ${NODES} nodes (labels region, customer_tier); policy ${result.params.policy}`);
  log(`\nA. Pure engine decisions (gateQueries + step, or startRollout), ${ITERATIONS} runs each after ${WARMUP} warm-up, ms:`);
  log(row(['decision', 'cohort', 'p50', 'p99', 'max', `≤ ${TARGET_MS} ms`]));
  for (const r of pure) log(row([r.kind, String(r.cohort), ms(r.summary.p50), ms(r.summary.p99), ms(r.summary.max), r.meets_target ? 'yes' : 'NO']));
  log(`worst pure decision: ${worst.kind}, max ${ms(worst.summary.max)} ms → target ${result.meets_target ? 'MET' : 'NOT MET'}`);
  if (tick) {
    log(`\nB. Controller.tick() for one rollout, real SQLite store (INCLUDES IO), ${TICK_ITERATIONS} runs each after ${TICK_WARMUP} warm-up, ms:`);
    log(row(['tick', 'p50', 'p99', 'max', '≤ 50 ms', 'CPU p50', 'CPU max', 'rows read'], 40));
    for (const r of tick.ticks) log(row([r.kind, ms(r.summary.p50), ms(r.summary.p99), ms(r.summary.max), r.summary.max <= TARGET_MS ? 'yes' : 'no', ms(r.cpu.p50), ms(r.cpu.max), String(Math.round(r.fleet_rows_read))], 40));
    log('\nwhere the time goes (mean ms per tick):');
    for (const r of tick.ticks) {
      log(`  ${r.kind}: ${Object.entries(r.breakdown_mean_ms).map(([k, v]) => `${k} ${ms(v)}`).join('; ')}`);
    }
    log('\nstore calls alone (no tick around them), ms:');
    log(row(['call', 'p50', 'p99', 'max'], 56));
    for (const [k, v] of Object.entries(tick.store_calls_alone)) log(row([k, ms(v.p50), ms(v.p99), ms(v.max)], 56));
    log(`\nsetup: ${Object.entries(tick.setup_ms).map(([k, v]) => `${k} ${v} ms`).join('; ')}; db ${(tick.db_bytes / 2 ** 20).toFixed(1)} MiB`);
  }
  log(`\nruntime ${result.runtime_s} s`);
}

function row(cells: string[], first = 24): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(first) : c.padStart(9))).join(' ');
}

await main();
