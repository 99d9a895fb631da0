import {
  addCounters, addLoadReport, checkCandidate, emptyAggregate, gateObservation, gateQueries, generateSigningKeys, nextLoadStep, nodeStep, parsePrivateKey, parsePublicKey,
  normalCdf, readsLoadReports, applyCommand, LATENCY_BUCKETS_MS, signVersion, startRollout, step, TERMINAL_STATUSES,
  type CheckKeys, type Command, type ModuleCounters, type NodeCounters, type CheckResult, type DesiredEntry, type FleetNode, type GateObservation, type LoadOutcome, type MutableAggregate, type NodeLoad, type NodeState, type RolloutState,
} from '@failsmall/core';
import { matchesPredicate, renderContent, VersionCatalog, type SimVersion } from './content.ts';
import { REGIMES, type RegimeName, type RegimeReport, type RolloutSummary, type SimulationReport } from './report.ts';
import { RunRecorder } from './record.ts';
import { Rng } from './rng.ts';
import { drawTraffic, latencyHistogram, nodeCounters } from './traffic-model.ts';
import type { Effect, Scenario } from './scenario/types.ts';
import { buildConditions, ConditionFlags, FLAG_BURST, FLAG_DARK, FLAG_LOST_REPORTS, FLAG_SICK, FLAG_SILENT, type Conditions } from './conditions.ts';

export interface SimulateOptions {
  /** Overrides the scenario's seed. */
  readonly seed?: number;
  /** Which regimes to run (default: all three). */
  readonly regimes?: readonly RegimeName[];
  /** Overrides the fleet size; label shares are kept. */
  readonly nodes?: number;
  /**
   * The node core the simulated nodes run (default: core's, the one every agent runs). A test
   * swaps a piece of it to show that the simulator's figures follow the node's real decisions.
   */
  readonly nodeCore?: NodeCore;
  /** Keep each staged regime's record (engine events, rollout states, counters by cohort, and the truth): `report.regimes[name].record`. */
  readonly record?: boolean;
}

/** The node core's functions the simulator drives. */
export interface NodeCore {
  readonly nodeStep: typeof nodeStep;
  readonly nextLoadStep: typeof nextLoadStep;
  readonly checkCandidate: typeof checkCandidate;
}

const NODE_CORE: NodeCore = { nodeStep, nextLoadStep, checkCandidate };

/** No version: nothing loaded yet, or the module's fail-open safe default. */
const NONE = -1;
/** The module failed closed: it stops its traffic (every request 5xx). */
const FAIL_CLOSED = -2;
/** The module failed open: it serves its safe default, so every request is served, degraded. */
const FAIL_OPEN = -3;
/** No desired change in flight for this node. */
const IDLE = -3;

const CRASH: Effect = { crash: true, at_load: false, degrade: false, error_rate: 0, add_latency_ms: 0, latency_factor: 1, ramp_ms: 0 };
const SAFE_DEFAULT: Effect = { ...CRASH, crash: false, degrade: true };
const RNG_FLEET = 1;
const RNG_CHANGE = 2;
const RNG_TRAFFIC = 3;
/** The per-node view of compare: baseline gates: its own stream, so the regime's traffic draws stay as they are. */
const RNG_NODE_VIEW = 5;
/** How far back a node's own history reaches before a rollout, as the server reads it (controller/observations.ts HISTORY_MS). */
const HISTORY_MS = 30 * 60_000;

/**
 * Runs a scenario under each regime, in virtual time, and compares them. Staged regimes
 * drive the real rollout engine (`startRollout`/`step`, so the real gate code), the safe
 * loader calls the real validator (`validateContent`) and the real fallback decision
 * (`afterFailedLoad`). Pure: the same scenario and seed give the same report.
 *
 * Examples
 *   const report = simulate(scenario, { seed: 7, nodes: 1000 });
 *   report.ratios.safe_vs_global // e.g. 0.00002
 */
export function simulate(s: Scenario, opts: SimulateOptions = {}): SimulationReport {
  const world = buildWorld(s, opts.seed ?? s.seed, opts.nodes ?? s.fleet.nodes);
  const regimes: Partial<Record<RegimeName, RegimeReport>> = {};
  for (const name of REGIMES) {
    if (opts.regimes && !opts.regimes.includes(name)) continue;
    regimes[name] = new RegimeRun(world, name, opts.nodeCore ?? NODE_CORE, opts.record === true && name !== 'global-push').run();
  }
  const global = regimes['global-push']?.failed_requests;
  const vs = (r: RegimeReport | undefined): number | null => (r === undefined || global === undefined || global === 0 ? null : sig(r.failed_requests / global, 4));
  const firstBad = world.schedule.find((p) => world.bad[p.version])?.at ?? null;
  return {
    scenario: s.name,
    seed: world.seed,
    nodes: world.ids.length,
    duration_seconds: s.duration_ms / 1000,
    tick_seconds: s.tick_ms / 1000,
    first_bad_push_seconds: firstBad === null ? null : firstBad / 1000,
    versions: world.catalog.versions.map((v) => ({ version: v.label, sha256: v.sha256, bytes: v.content.byteLength, entries: v.entries, bad: world.bad[v.index] ?? false })),
    regimes,
    ratios: { staged_vs_global: vs(regimes.staged), safe_vs_global: vs(regimes['staged-safe-loader']) },
  };
}

// ── the world: what every regime shares ──────────────────────────────────────

interface World {
  readonly s: Scenario;
  readonly seed: number;
  readonly ids: readonly string[];
  readonly fleet: readonly FleetNode[];
  /** Each node's behaviour class: nodes with the same labels on every key a rule looks at. */
  readonly classOf: Int32Array;
  readonly classCount: number;
  /** Each class's labels, and the labels the policy's gates are split by (by:): classes keep them apart. */
  readonly classLabels: readonly Readonly<Record<string, string>>[];
  readonly splitLabels: readonly string[];
  /** Agent propagation delay of each node (ms). */
  readonly delay: Float64Array;
  readonly catalog: VersionCatalog;
  readonly initial: number;
  readonly schedule: readonly { readonly at: number; readonly version: number }[];
  /** Pushes written in response to a detection: each regime makes them `after` its own detection. */
  readonly responses: readonly { readonly after: number; readonly version: number }[];
  /** Bad nodes, bursts and faults: which nodes each hits, and when. */
  readonly conditions: Conditions;
  /** effects[version][class]: what the module does with that content there (null: it handles it). */
  readonly effects: readonly (readonly (Effect | null)[])[];
  /** A version is bad when some node's module cannot handle it. */
  readonly bad: readonly boolean[];
  /** Each version's desired entry, signed once with the world's artifact key (the node core checks it). */
  readonly entries: readonly DesiredEntry[];
  /** The key nodes check signatures with. */
  readonly keys: CheckKeys;
  /** The node core's checks per version (sha256, signature, limits, schema): same bytes, same verdict, run once. */
  readonly checks: (CheckResult | undefined)[];
}

function buildWorld(s: Scenario, seed: number, nodeCount: number): World {
  const rng = new Rng(seed, RNG_FLEET);
  const width = String(nodeCount - 1).length;
  const ids = Array.from({ length: nodeCount }, (_, i) => `node-${String(i).padStart(Math.max(5, width), '0')}`);
  // Exact shares (largest remainder), shuffled: 28% of 10,000 nodes is 2,800 nodes.
  const labelRows: Record<string, string>[] = ids.map(() => ({}));
  for (const dist of s.fleet.labels) {
    const raw = dist.values.map((v) => v.share * nodeCount);
    const counts = raw.map(Math.floor);
    let left = nodeCount - counts.reduce((a, b) => a + b, 0);
    const order = raw.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
    for (const o of order) { if (left <= 0) break; counts[o.i] = (counts[o.i] ?? 0) + 1; left--; }
    const values: string[] = [];
    dist.values.forEach((v, i) => { for (let k = 0; k < (counts[i] ?? 0); k++) values.push(v.value); });
    for (let i = values.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      const t = values[i] as string; values[i] = values[j] as string; values[j] = t;
    }
    labelRows.forEach((row, i) => { row[dist.key] = values[i] ?? dist.values[0]?.value ?? ''; });
  }
  const fleet: FleetNode[] = ids.map((id, i) => ({ id, labels: labelRows[i] ?? {} }));

  const splitLabels = [...new Set(s.policy.stages.flatMap((st) => st.health_gates.flatMap((g) => (g.by !== undefined ? [g.by] : []))))].sort();
  const keys = [...new Set([...s.behaviour.flatMap((r) => r.where.map((w) => w.key)), ...splitLabels])].sort();
  const classIds = new Map<string, number>();
  const classLabels: Record<string, string>[] = [];
  const classOf = new Int32Array(nodeCount);
  fleet.forEach((n, i) => {
    const sig = keys.map((k) => `${k}=${n.labels[k] ?? ''}`).join(',');
    let c = classIds.get(sig);
    if (c === undefined) { c = classLabels.length; classIds.set(sig, c); classLabels.push(n.labels as Record<string, string>); }
    classOf[i] = c;
  });

  const delay = new Float64Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) delay[i] = Math.round(s.propagation_ms * (0.5 + rng.next()));

  const catalog = new VersionCatalog();
  const initial = s.change.initial ? catalog.intern(renderContent(s.change.initial), null).index : NONE;
  const schedule: { at: number; version: number; order: number }[] = [];
  let order = 0;
  const responses: { after: number; version: number }[] = [];
  for (const v of s.change.versions) {
    const version = catalog.intern(renderContent(v.source), v.version).index;
    if (v.at_ms !== null) schedule.push({ at: v.at_ms, version, order: order++ });
    else responses.push({ after: v.after_detection_ms ?? 0, version });
  }
  const regen = s.change.regenerate;
  if (regen) {
    const crng = new Rng(seed, RNG_CHANGE);
    const good = renderContent(regen.good);
    const bad = renderContent(regen.bad);
    for (let t = regen.start_ms; t < Math.min(regen.until_ms, s.duration_ms); t += regen.every_ms) {
      const b = regen.bad_share;
      const share = b.over_ms === 0 ? b.to : b.from + (b.to - b.from) * Math.min(1, (t - regen.start_ms) / b.over_ms);
      const isBad = crng.next() < share;
      schedule.push({ at: t, version: catalog.intern(isBad ? bad : good, null).index, order: order++ });
    }
  }
  schedule.sort((a, b) => a.at - b.at || a.order - b.order);

  const effects = catalog.versions.map((v) => classLabels.map((labels) => effectFor(s, v, labels)));
  const bad = effects.map((row) => row.some((e) => e !== null));
  return {
    s, seed, ids, fleet, classOf, classCount: classLabels.length, classLabels, splitLabels, delay, catalog, initial, schedule, responses, effects, bad,
    conditions: buildConditions(s, seed, fleet),
    ...signedEntries(s, catalog),
    checks: catalog.versions.map(() => undefined),
  };
}

/**
 * Every version as the control plane would send it: signed with an artifact key made for this
 * run (ed25519 signatures are deterministic, and they never reach the report). Nodes check them
 * with the node core's own checks, like agents do.
 */
function signedEntries(s: Scenario, catalog: VersionCatalog): { entries: DesiredEntry[]; keys: CheckKeys } {
  const pair = generateSigningKeys();
  const priv = parsePrivateKey(pair.privateKey);
  const pub = parsePublicKey(pair.publicKey);
  if (!priv.ok || !pub.ok) throw new Error('simulator: could not make its artifact key');
  const entries = catalog.versions.map((v) => ({
    artifact: s.artifact.name, module: s.module.name, version: v.label, sha256: v.sha256, signature: signVersion(priv.key, s.artifact.name, v.label, v.sha256),
    validation: s.artifact.validation, on_failure: s.module,
  }));
  return { entries, keys: { publicKey: pub.key } };
}

function effectFor(s: Scenario, v: SimVersion, labels: Readonly<Record<string, string>>): Effect | null {
  for (const rule of s.behaviour) {
    if (!rule.where.every((w) => w.values.includes(labels[w.key] ?? '') !== w.negated)) continue;
    if (matchesPredicate(rule.cannot_handle, v)) return rule.effect;
  }
  return null;
}

// ── one regime ───────────────────────────────────────────────────────────────

/** Nodes that behave alike this tick: same cohort side, same effect, same apply time when the effect ramps. */
interface Group {
  n: number;
  /** The behaviour class (labels) of its nodes; kept apart only when a gate splits by a label. */
  readonly cls: number;
  readonly inCohort: boolean;
  readonly effect: Effect | null;
  readonly appliedAt: number;
  /** The nodes' FLAG_SICK, FLAG_BURST and FLAG_DARK (conditions.ts). */
  readonly flags: number;
}

/** What the simulator remembers about the active rollout, beside the engine's state. */
interface ActiveRollout {
  readonly id: string;
  readonly version: number;
  readonly from: number;
  readonly started: number;
  readonly bad: boolean;
  failingGate: string | null;
  failReason: string | null;
}

/** One tick's counters, split as the server splits them: the active rollout's cohort and every other node. */
interface TickRecord {
  readonly t: number;
  readonly cohort: MutableAggregate;
  readonly baseline: MutableAggregate;
  /** For split gates: per label, per value, the same split (absent without by: gates). */
  readonly split?: Map<string, Map<string, { cohort: MutableAggregate; baseline: MutableAggregate }>>;
}

class RegimeRun {
  readonly #w: World;
  readonly #name: RegimeName;
  readonly #safe: boolean;
  readonly #staged: boolean;
  readonly #n: number;
  readonly #rng: Rng;
  readonly #serving: Int32Array;
  readonly #appliedAt: Float64Array;
  /** Each node's state in the node core (one artifact). */
  readonly #nodes: NodeState[];
  readonly #desired: Int32Array;
  readonly #pendingV: Int32Array;
  readonly #pendingAt: Float64Array;
  readonly #exposed: Uint8Array;
  readonly #inCohort: Uint8Array;
  readonly #loads = new Map<string, NodeLoad>();
  #pendingCount = 0;
  #groups: Group[] = [];
  #dirty = true;
  #records: TickRecord[] = [];
  #current: number;
  #active: RolloutState | null = null;
  #activeAssigned: readonly string[] | null = null;
  #queued: number | null = null;
  #rolloutCount = 0;
  readonly #rollouts: RolloutSummary[] = [];
  #activeSummary: ActiveRollout | null = null;
  #pushes = 0;
  #stopped = false;
  #lastGood: number;
  #firstBadPush: number | null = null;
  #detectAt: number | null = null;
  #rollbackDoneAt: number | null = null;
  #manualRollbackAt: number | null = null;
  #totals = { requests: 0, failed: 0, background: 0, degraded: 0, slowed: 0, failOpen: 0 };
  readonly #cond: ConditionFlags;
  /** Versions replaced by a newer push while they waited for the active rollout to end. */
  #superseded = 0;
  #lostReports = 0;
  /** When the active rollout began waiting for a manual promote (human.approve_after), or for a human after the engine paused it (human.resume_after). */
  #awaitingSince: number | null = null;
  #humanRolledBack = false;
  readonly #responded: boolean[];
  readonly #viewRng: Rng;
  readonly #perNodeGates: boolean;
  /** Each node as it was when the active rollout began: what its history (the HISTORY_MS before) is drawn from. */
  #before: { readonly effects: (Effect | null)[]; readonly background: Float64Array } | null = null;
  /** Each node's own counters before the active rollout began, for compare: baseline gates (as the server reads them). */
  #history: { readonly rollout: string; readonly latency: boolean; readonly counters: ModuleCounters[] } | null = null;

  readonly #core: NodeCore;
  readonly #recorder: RunRecorder | null;

  constructor(w: World, name: RegimeName, core: NodeCore, record = false) {
    this.#core = core;
    this.#recorder = record ? new RunRecorder() : null;
    this.#w = w;
    this.#name = name;
    this.#safe = name === 'staged-safe-loader';
    this.#staged = name !== 'global-push';
    const n = w.ids.length;
    this.#n = n;
    this.#rng = new Rng(w.seed, RNG_TRAFFIC);
    this.#serving = new Int32Array(n).fill(w.initial);
    this.#appliedAt = new Float64Array(n);
    const start = w.initial === NONE ? undefined : w.entries[w.initial];
    const initialNode: NodeState = {
      artifacts: start?.version != null && start.sha256 !== null
        ? { [w.s.artifact.name]: { serving: { version: start.version, sha256: start.sha256, module: start.module, state: 'serving', on_failure: w.s.module }, history: [{ version: start.version, sha256: start.sha256, signature: start.signature ?? null }] } }
        : {},
    };
    this.#nodes = Array.from({ length: n }, () => initialNode);
    this.#desired = new Int32Array(n).fill(w.initial);
    this.#pendingV = new Int32Array(n).fill(IDLE);
    this.#pendingAt = new Float64Array(n);
    this.#exposed = new Uint8Array(n);
    this.#inCohort = new Uint8Array(n);
    this.#current = w.initial;
    this.#cond = new ConditionFlags(w.conditions, n);
    this.#responded = w.responses.map(() => false);
    this.#viewRng = new Rng(w.seed, RNG_NODE_VIEW);
    this.#perNodeGates = w.s.policy.stages.some((st) => st.health_gates.some((g) => g.compare === 'baseline'));
    this.#lastGood = w.initial !== NONE && !w.bad[w.initial] ? w.initial : NONE;
    const label = this.#label(w.initial);
    if (label !== null) for (const id of w.ids) this.#loads.set(id, { version: label, ok: true, serving: label });
  }

  run(): RegimeReport {
    const { s } = this.#w;
    let next = 0;
    const schedule = this.#w.schedule;
    for (let t = s.tick_ms; t <= s.duration_ms; t += s.tick_ms) {
      if (this.#cond.advance(t)) this.#dirty = true;
      // 1. the pipeline pushes (identical in every regime), and the fixes written in response to this regime's detection
      while (next < schedule.length && (schedule[next]?.at ?? Infinity) <= t) {
        const push = schedule[next++];
        if (push) this.#push(push.version, t);
      }
      this.#responses(t);
      if (!this.#staged) this.#manualResponse(t);
      else this.#stagedHuman(t);
      // 2. agents apply what they were told a propagation delay ago
      if (this.#pendingCount > 0) this.#agents(t);
      // 3. traffic over (t - tick, t]
      this.#traffic(t);
      // 4. the controller decides, and again at once after every transition
      if (this.#staged) this.#controller(t);
      // Rolled back means no node serves a bad version any more: not when the engine marks the
      // rollout rolled_back (nodes that poll slowly may still serve it), nor when a human pushes
      // the last good version (a later good push may have healed the fleet already).
      if (this.#detectAt !== null && this.#rollbackDoneAt === null && t >= this.#detectAt && this.#badServing() === 0) this.#rollbackDoneAt = t;
    }
    return this.#report();
  }

  // ── the change ──────────────────────────────────────────────────────────────

  /** A push by the pipeline, or (`response`) a fix a person pushes, which a stopped generator does not stop. */
  #push(version: number, t: number, response = false): void {
    if (this.#firstBadPush === null && this.#w.bad[version]) this.#firstBadPush = t;
    if (this.#stopped && !response) return;
    this.#pushes++;
    if (!this.#w.bad[version]) this.#lastGood = version;
    if (!this.#staged) {
      // Global push: the whole fleet, within seconds, no gates.
      if (version === this.#current) return;
      this.#current = version;
      this.#retarget(t);
      return;
    }
    // Staged: one active rollout per artifact; the latest waiting version replaces older ones.
    if (this.#queued !== null && this.#queued !== version) this.#superseded++;
    this.#queued = version;
    if (this.#active === null) this.#startQueued(t);
  }

  /** A human detects the incident and, later, pushes the last good version everywhere and stops the generator. */
  #manualResponse(t: number): void {
    const manual = this.#w.s.manual;
    if (!manual || this.#firstBadPush === null) return;
    if (this.#detectAt === null && t >= this.#firstBadPush + manual.detect_after_ms) this.#detectAt = t;
    if (this.#manualRollbackAt === null && t >= this.#firstBadPush + manual.rollback_after_ms) {
      this.#manualRollbackAt = t;
      this.#stopped = true;
      if (this.#current !== this.#lastGood) {
        this.#current = this.#lastGood;
        this.#retarget(t);
      }
    }
  }

  /** Pushes written in response to a detection: made `after` this regime's own detection, even once the generator is stopped. */
  #responses(t: number): void {
    if (this.#detectAt === null) return;
    this.#w.responses.forEach((r, k) => {
      if (this.#responded[k] || t < (this.#detectAt ?? 0) + r.after) return;
      this.#responded[k] = true;
      this.#push(r.version, t, true);
    });
  }

  /**
   * A person watching the staged regimes (`human:`): promotes a stage that waits for approval
   * `approve_after` after it asks; resumes a rollout the engine paused for a human (inconclusive
   * data) `resume_after` after it paused; `rollback_after` the first bad push, if a node still serves a
   * bad version, aborts the rollout that carries it (the engine rolls it back), or, with none
   * active (the gates let it through), puts the last good version back on every node at once (a
   * break-glass `lkg`) and stops the pipeline.
   */
  #stagedHuman(t: number): void {
    const human = this.#w.s.human;
    if (!human) return;
    const a = this.#active;
    const approving = human.approve_after_ms !== null && a?.status === 'running' && a.phase === 'awaiting_approval';
    const resuming = human.resume_after_ms !== null && a?.status === 'paused';
    if (a && (approving || resuming)) {
      this.#awaitingSince ??= t;
      const after = (approving ? human.approve_after_ms : human.resume_after_ms) ?? 0;
      if (t >= this.#awaitingSince + after) {
        this.#awaitingSince = null;
        this.#command(a, approving ? { type: 'promote', actor: 'human', reason: `approved after ${after / 1000}s` } : { type: 'resume', actor: 'human', reason: `looked after ${after / 1000}s and chose to wait` }, t);
      }
    } else {
      this.#awaitingSince = null;
    }
    if (human.rollback_after_ms === null || this.#humanRolledBack || this.#firstBadPush === null || t < this.#firstBadPush + human.rollback_after_ms || this.#badServing() === 0) return;
    this.#humanRolledBack = true;
    this.#detectAt ??= t;
    const active = this.#active;
    if (active && this.#activeSummary?.bad && (active.status === 'running' || active.status === 'paused')) {
      this.#command(active, { type: 'abort', actor: 'human', reason: 'a bad version is still served' }, t);
      return;
    }
    this.#stopped = true;
    this.#queued = null;
    if (this.#current !== this.#lastGood) {
      this.#current = this.#lastGood;
      this.#retarget(t);
    }
  }

  #command(state: RolloutState, cmd: Command, t: number): void {
    const out = applyCommand(state, cmd, this.#w.fleet, t);
    if ('error' in out) return;
    this.#recorder?.engine(out);
    this.#transition(out.state, t);
  }

  // ── the controller: the server's loop, in virtual time ──────────────────────

  #startQueued(t: number): void {
    const version = this.#queued;
    this.#queued = null;
    if (version === null || version === this.#current) return; // NO_CHANGE: the artifact is already at that version
    const w = this.#w;
    const id = `${w.s.name}-s${w.seed}-r${++this.#rolloutCount}`;
    const out = startRollout({
      id, artifact: w.s.artifact.name, module: w.s.artifact.module, policy: w.s.policy, fromVersion: this.#label(this.#current),
      toVersion: this.#label(version) ?? '', fleet: w.fleet, actor: 'pipeline', now: t,
    });
    if ('error' in out) {
      this.#rollouts.push({
        id, version: this.#label(version) ?? '', from_version: this.#label(this.#current), bad: w.bad[version] ?? false, started_seconds: t / 1000,
        ended_seconds: t / 1000, final_state: 'refused', stopped_at_stage: null, failing_gate: null, reason: `${out.error.code}: ${out.error.message}`,
      });
      return;
    }
    this.#recorder?.engine(out);
    this.#active = out.state;
    if (this.#perNodeGates) this.#before = { effects: Array.from({ length: this.#n }, (_, i) => this.#effectOf(i)), background: Float64Array.from({ length: this.#n }, (_, i) => this.#background(i)) };
    this.#activeSummary = { id, version, from: this.#current, started: t, bad: w.bad[version] ?? false, failingGate: null, failReason: null };
    this.#syncCohort();
    this.#retarget(t);
  }

  #controller(t: number): void {
    for (let guard = 0; guard < 100; guard++) {
      const state = this.#active;
      if (state === null) return;
      const out = step({ state, fleet: this.#w.fleet, loads: this.#loads, observations: this.#observe(state, t), now: t });
      if (out.state === state) return;
      this.#recorder?.engine(out);
      this.#transition(out.state, t);
    }
  }

  #transition(next: RolloutState, t: number): void {
    const summary = this.#activeSummary;
    this.#active = next;
    if (summary && next.last_evaluated_at === t && summary.failingGate === null) {
      const failed = next.last_verdicts.find((v) => v.status === 'fail');
      if (failed) {
        summary.failingGate = failed.gate;
        summary.failReason = failed.reason;
        if (summary.bad && this.#detectAt === null && this.#firstBadPush !== null) { this.#detectAt = t; }
      }
    }
    const done = TERMINAL_STATUSES.includes(next.status);
    if (done && next.status === 'completed') this.#current = summary?.version ?? this.#current;
    this.#syncCohort();
    this.#retarget(t);
    if (!done) return;
    if (summary) {
      this.#rollouts.push(this.#summarize(next, summary, t));
    }
    this.#active = null;
    this.#activeSummary = null;
    this.#syncCohort();
    if (this.#queued !== null) this.#startQueued(t);
  }

  #summarize(state: RolloutState, s: ActiveRollout, end: number | null): RolloutSummary {
    const stage = state.outcome?.stage ?? state.policy_spec.stages[state.stage_index]?.name ?? null;
    const reason = state.outcome?.reason ?? state.pause_reason ?? (TERMINAL_STATUSES.includes(state.status) ? null : `still ${state.status}${state.status === 'running' ? ` (${state.phase})` : ''} on stage ${stage ?? '?'} at the end of the run`);
    return {
      id: s.id, version: this.#label(s.version) ?? '', from_version: this.#label(s.from), bad: s.bad, started_seconds: s.started / 1000,
      ended_seconds: end === null ? null : end / 1000, final_state: state.status, stopped_at_stage: stage,
      failing_gate: state.outcome?.verdict?.gate ?? s.failingGate, reason: state.outcome?.verdict?.reason ?? reason ?? s.failReason,
    };
  }

  /** Marks the active rollout's cohort (its `assigned` list only ever grows within a rollout). */
  #syncCohort(): void {
    const assigned = this.#active?.assigned ?? null;
    if (assigned === this.#activeAssigned) return;
    this.#inCohort.fill(0);
    if (assigned) {
      const index = this.#indexById();
      for (const id of assigned) { const i = index.get(id); if (i !== undefined) this.#inCohort[i] = 1; }
    }
    this.#activeAssigned = assigned;
    this.#dirty = true;
  }

  #index: Map<string, number> | null = null;
  #indexById(): Map<string, number> {
    if (!this.#index) this.#index = new Map(this.#w.ids.map((id, i) => [id, i]));
    return this.#index;
  }

  /**
   * Desired state, as `desiredVersion` derives it: a running or paused rollout's cohort runs
   * to_version, everyone else the artifact's current version. Changed nodes are told, and
   * apply after their propagation delay.
   */
  #retarget(t: number): void {
    const a = this.#active;
    const rolloutVersion = a && (a.status === 'running' || a.status === 'paused') ? this.#activeSummary?.version ?? null : null;
    for (let i = 0; i < this.#n; i++) {
      const want = rolloutVersion !== null && this.#inCohort[i] === 1 ? rolloutVersion : this.#current;
      if (want === this.#desired[i]) continue;
      this.#desired[i] = want;
      if (this.#pendingV[i] === IDLE) this.#pendingCount++;
      this.#pendingV[i] = want;
      this.#pendingAt[i] = t + (this.#w.delay[i] ?? 0);
    }
  }

  /**
   * What the engine needs for one decision, built as the server's `observe()` builds it: the
   * load gate on the artifact's own module from each node's latest load report; request
   * metrics over the gate's window, split into the cohort and the baseline.
   */
  #observe(state: RolloutState, now: number): Map<string, GateObservation> {
    const observations = new Map<string, GateObservation>();
    const queries = gateQueries(state, now);
    if (queries.length === 0) return observations;
    for (const q of queries) {
      const inCohort = emptyAggregate();
      const outside = emptyAggregate();
      if (readsLoadReports(q.gate, state)) {
        const index = this.#indexById();
        const split = { cohort: inCohort, baseline: outside };
        for (const [nodeId, load] of this.#loads) {
          const i = index.get(nodeId);
          addLoadReport(split, i !== undefined && this.#inCohort[i] === 1, load, state);
        }
      } else {
        // Every request passes through every module on the node: each module's counters are the node's.
        let cohortNodes = 0;
        let baselineNodes = 0;
        for (let k = this.#records.length - 1; k >= 0; k--) {
          const r = this.#records[k];
          if (!r || r.t <= q.from) break;
          if (r.t > q.to) continue;
          addCounters(inCohort, r.cohort, 0);
          addCounters(outside, r.baseline, 0);
          cohortNodes = Math.max(cohortNodes, r.cohort.nodes);
          baselineNodes = Math.max(baselineNodes, r.baseline.nodes);
        }
        inCohort.nodes = cohortNodes;
        outside.nodes = baselineNodes;
        if (q.gate.compare === 'baseline') {
          // Node by node, each with its own history, as the server's observe() gives it: the gate
          // then runs the same test (nodes as units) it runs in production.
          observations.set(q.gate.name, { ...gateObservation(q, state, inCohort, outside, now, 'simulated'), perNode: this.#perNode(q.gate.metric.startsWith('latency_p'), q.from, q.to, state, now) });
          continue;
        }
        if (q.gate.by !== undefined) {
          observations.set(q.gate.name, { ...gateObservation(q, state, inCohort, outside, now, 'simulated'), groups: this.#splitWindow(q.gate.by, q.from, q.to) });
          continue;
        }
      }
      observations.set(q.gate.name, gateObservation(q, state, inCohort, outside, now, 'simulated'));
    }
    return observations;
  }

  /** Each value of `label`: the cohort's and the baseline's counters over (from, to], nodes as the most seen in a tick. */
  #splitWindow(label: string, from: number, to: number): Map<string, { cohort: MutableAggregate; baseline: MutableAggregate | null }> {
    const out = new Map<string, { cohort: MutableAggregate; baseline: MutableAggregate }>();
    for (let k = this.#records.length - 1; k >= 0; k--) {
      const r = this.#records[k];
      if (!r || r.t <= from) break;
      if (r.t > to) continue;
      for (const [value, pair] of r.split?.get(label) ?? []) {
        let acc = out.get(value);
        if (!acc) out.set(value, acc = { cohort: emptyAggregate(), baseline: emptyAggregate() });
        addCounters(acc.cohort, pair.cohort, 0);
        addCounters(acc.baseline, pair.baseline, 0);
        acc.cohort.nodes = Math.max(acc.cohort.nodes, pair.cohort.nodes);
        acc.baseline.nodes = Math.max(acc.baseline.nodes, pair.baseline.nodes);
      }
    }
    return new Map([...out].map(([v, p]) => [v, { cohort: p.cohort, baseline: p.baseline.nodes > 0 ? p.baseline : null }]));
  }

  /**
   * Each reporting node's counters over (from, to], cohort and baseline apart, with its own
   * counters over the HISTORY_MS before the rollout: drawn from the same traffic model as the
   * group counters, on the node's current state (what it serves, whether it is sick or in a burst).
   */
  #perNode(latency: boolean, from: number, to: number, state: RolloutState, now: number): { cohort: NodeCounters[]; baseline: NodeCounters[] } {
    const w = this.#w;
    const tick = w.s.tick_ms;
    const perTick = w.s.traffic.rps_per_node * (tick / 1000);
    const ticks = Math.max(1, Math.round((to - from) / tick));
    if (this.#history?.rollout !== state.id || this.#history.latency !== latency) {
      const historyTicks = Math.round(HISTORY_MS / tick);
      this.#history = {
        rollout: state.id, latency,
        counters: Array.from({ length: this.#n }, (_, i) => nodeCounters(this.#viewRng, w.s.traffic, { ticks: historyTicks, perTick, background: this.#before?.background[i] ?? this.#background(i), effect: this.#before?.effects[i] ?? null, ramp: 1, latency })),
      };
    }
    const history = this.#history.counters;
    const out = { cohort: [] as NodeCounters[], baseline: [] as NodeCounters[] };
    for (let i = 0; i < this.#n; i++) {
      // A node whose metrics do not arrive has no rows in the window: the server never sees it.
      if (this.#cond.has(i, FLAG_DARK)) continue;
      const effect = this.#effectOf(i);
      const ramp = effect && effect.ramp_ms > 0 ? Math.min(1, Math.max(0, now - (this.#appliedAt[i] ?? 0)) / effect.ramp_ms) : 1;
      const counters = nodeCounters(this.#viewRng, w.s.traffic, { ticks, perTick, background: this.#background(i), effect, ramp, latency });
      const h = history[i];
      (this.#inCohort[i] === 1 ? out.cohort : out.baseline).push({ node: w.ids[i] ?? '', counters, ...(h ? { history: h } : {}), labels: w.fleet[i]?.labels ?? {} });
    }
    return out;
  }

  /** What node i's module does with what it serves now (null: it handles it). */
  #effectOf(i: number): Effect | null {
    const s = this.#serving[i] ?? NONE;
    return s === FAIL_CLOSED ? CRASH : s === FAIL_OPEN ? SAFE_DEFAULT : s >= 0 ? this.#w.effects[s]?.[this.#w.classOf[i] ?? 0] ?? null : null;
  }

  /** Node i's background 5xx ratio. */
  #background(i: number): number {
    return this.#backgroundOf(this.#cond.flags[i] ?? 0);
  }

  /** The background 5xx ratio of a node with these flags: the fleet's, plus a bad node's and a burst's (errors with or without the change). */
  #backgroundOf(f: number): number {
    const tr = this.#w.s.traffic;
    return Math.min(1, tr.error_rate + (f & FLAG_SICK ? tr.bad_nodes?.error_rate ?? 0 : 0) + (f & FLAG_BURST ? tr.bursts?.error_rate ?? 0 : 0));
  }

  // ── agents ──────────────────────────────────────────────────────────────────

  #agents(t: number): void {
    for (let i = 0; i < this.#n; i++) {
      const v = this.#pendingV[i] ?? IDLE;
      // An agent out of touch learns of its new desired state only when it is back.
      if (v === IDLE || (this.#pendingAt[i] ?? 0) > t || this.#cond.has(i, FLAG_SILENT)) continue;
      this.#pendingV[i] = IDLE;
      this.#pendingCount--;
      this.#apply(i, v, t);
    }
  }

  /**
   * One node acts on its desired state, through the node core (nodeStep, and the load sequence
   * of nextLoadStep): the same decisions an agent makes. The regimes differ in whether the node
   * runs its checks and falls back: a hard-failing loader applies whatever arrives, and the module
   * misbehaves if it cannot handle it.
   */
  #apply(i: number, v: number, t: number): void {
    const w = this.#w;
    const id = w.ids[i] ?? '';
    const entry: DesiredEntry = v === NONE
      ? { artifact: w.s.artifact.name, module: w.s.module.name, version: null, sha256: null, on_failure: w.s.module }
      : w.entries[v] as DesiredEntry;
    const stepped = this.#core.nodeStep(this.#nodes[i] as NodeState, { type: 'desired', at: t, artifacts: [entry] });
    this.#nodes[i] = stepped.state;
    if (!stepped.effects.some((e) => e.type === 'load')) {
      // Settled, or a version it keeps serving as its last known-good is desired again (a rollback).
      if (stepped.effects.some((e) => e.type === 'serving')) this.#reportLoad(i, { version: entry.version, ok: true, serving: entry.version });
      return;
    }
    const outcome = this.#loadOn(i, v, entry);
    const loaded = this.#core.nodeStep(this.#nodes[i] as NodeState, { type: 'loaded', at: t, entry, outcome });
    this.#nodes[i] = loaded.state;
    const after = outcome.state;
    this.#setServing(i, after.state === 'serving' || after.state === 'stale' ? this.#versionIndex(after.version) : after.state === 'fail-closed' ? FAIL_CLOSED : after.state === 'fail-open' ? FAIL_OPEN : NONE, t);
    const report = loaded.effects.find((e) => e.type === 'report');
    if (report?.type === 'report') this.#reportLoad(i, { version: report.report.version, ok: report.report.ok, serving: report.report.serving, ...(report.report.error !== null ? { error: report.report.error } : {}) });
    // A failed load is tried again when the node core says (5 s doubling to 10 min), as agents do.
    const failed = loaded.state.artifacts[w.s.artifact.name]?.failed;
    if (failed && this.#pendingV[i] === IDLE) {
      this.#pendingV[i] = v;
      this.#pendingAt[i] = failed.retryAt;
      this.#pendingCount++;
    }
  }

  /** A load report reaches the control plane, unless a fault loses it. */
  #reportLoad(i: number, load: NodeLoad): void {
    if (this.#cond.has(i, FLAG_LOST_REPORTS)) { this.#lostReports++; return; }
    this.#loads.set(this.#w.ids[i] ?? '', load);
  }

  /** The load sequence on node i: the node core's checks and fallback; the module's answer from the scenario. */
  #loadOn(i: number, v: number, entry: DesiredEntry): LoadOutcome {
    if (entry.version === null) return { ok: true, state: { state: 'empty' } };
    const effect = this.#w.effects[v]?.[this.#w.classOf[i] ?? 0] ?? null;
    const crashAtLoad = effect?.crash === true && effect.at_load;
    const history = this.#nodes[i]?.artifacts[entry.artifact]?.history ?? [];
    const check: CheckResult = this.#safe ? this.#check(v) : { ok: true, sha256: entry.sha256 ?? '' };
    const progress = {
      check, hasCommand: false, onFailure: this.#w.s.module, lastKnownGood: history.at(-1)?.version ?? null,
      // A hard-failing loader hands the module whatever arrives; the safe loader's test load catches a crash at load.
      apply: this.#safe && crashAtLoad ? { ok: false as const, error: `${this.#w.s.module.name} crashed applying ${entry.version}; the loader caught it` } : { ok: true as const },
    };
    const done = this.#core.nextLoadStep(progress, entry.version);
    if (done.type !== 'done') throw new Error(`simulator: the load sequence asked for ${done.type}, which the simulator does not model`);
    return done.outcome;
  }

  /** The node core's checks, once per distinct content (every node gets the same bytes and signature). */
  #check(v: number): CheckResult {
    const known = this.#w.checks[v];
    if (known) return known;
    const version = this.#w.catalog.versions[v];
    const entry = this.#w.entries[v];
    const r: CheckResult = version && entry?.version
      ? this.#core.checkCandidate({ artifact: entry.artifact, version: entry.version, sha256: entry.sha256, signature: entry.signature ?? null, content: version.content, validation: entry.validation ?? {} }, this.#w.keys)
      : { ok: false, stage: 'verify', refusal: { code: 'SHA256', message: 'no such version' } };
    this.#w.checks[v] = r;
    return r;
  }

  #byLabel: Map<string, number> | null = null;
  #versionIndex(label: string): number {
    if (!this.#byLabel) this.#byLabel = new Map(this.#w.catalog.versions.map((x) => [x.label, x.index]));
    return this.#byLabel.get(label) ?? NONE;
  }

  #setServing(i: number, v: number, t: number): void {
    if (this.#serving[i] === v) return;
    this.#serving[i] = v;
    this.#appliedAt[i] = t;
    this.#dirty = true;
    if (this.#recorder && v >= 0) this.#recorder.serving(this.#label(v) ?? '', i);
    if (v >= 0 && this.#w.effects[v]?.[this.#w.classOf[i] ?? 0]) this.#exposed[i] = 1;
  }

  // ── traffic ────────────────────────────────────────────────────────────────

  #regroup(): void {
    const byKey = new Map<string, Group>();
    for (let i = 0; i < this.#n; i++) {
      const s = this.#serving[i] ?? NONE;
      const effect = this.#effectOf(i);
      const ramps = effect !== null && effect.ramp_ms > 0;
      const split = this.#w.splitLabels.length > 0;
      const flags = (this.#cond.flags[i] ?? 0) & (FLAG_SICK | FLAG_BURST | FLAG_DARK);
      const key = `${this.#inCohort[i]}|${effect === null ? '-' : `${s}:${this.#w.classOf[i]}`}|${ramps ? this.#appliedAt[i] : ''}|${split ? this.#w.classOf[i] : ''}|${flags}`;
      const g = byKey.get(key);
      if (g) g.n++;
      else byKey.set(key, { n: 1, cls: split ? this.#w.classOf[i] ?? 0 : -1, inCohort: this.#inCohort[i] === 1, effect, appliedAt: ramps ? this.#appliedAt[i] ?? 0 : 0, flags });
    }
    this.#groups = [...byKey.values()];
    this.#dirty = false;
  }

  #badServing(): number {
    if (this.#dirty) this.#regroup();
    let n = 0;
    for (const g of this.#groups) if (g.effect !== null) n += g.n;
    return n;
  }

  /**
   * One tick of traffic. The counters of a group of identical nodes are sampled as one sum
   * (normal approximations of the per-node Poisson/binomial counts, with the per-node noise
   * folded into their variance): the same distribution as adding up each node, at a cost
   * that does not grow with the fleet.
   */
  #traffic(t: number): void {
    if (this.#dirty) this.#regroup();
    const tr = this.#w.s.traffic;
    const rng = this.#rng;
    const dt = this.#w.s.tick_ms / 1000;
    const cohort = emptyAggregate();
    const baseline = emptyAggregate();
    const split = this.#w.splitLabels.length > 0 ? new Map<string, Map<string, { cohort: MutableAggregate; baseline: MutableAggregate }>>() : undefined;
    const m = tr.rps_per_node * dt;
    const change = { cohort: 0, others: 0 };
    for (const g of this.#groups) {
      const into = g.inCohort ? cohort : baseline;
      const e = g.effect;
      const f = e && e.ramp_ms > 0 ? Math.min(1, Math.max(0, t - g.appliedAt) / e.ramp_ms) : 1;
      const { requests, background, extra } = drawTraffic(rng, tr, g.n, m, this.#backgroundOf(g.flags), e, f);
      const errors = background + extra;
      let degraded = 0;
      this.#totals.failed += extra;
      if (g.inCohort) change.cohort += extra; else change.others += extra;
      if (!e?.crash) {
        this.#totals.background += background;
        if (e?.degrade) degraded = requests;
        if (e === SAFE_DEFAULT) this.#totals.failOpen += requests;
        if (e && (e.add_latency_ms > 0 || e.latency_factor !== 1)) this.#totals.slowed += requests - extra;
      }
      this.#totals.requests += requests;
      this.#totals.degraded += degraded;
      const buckets = latencyHistogram(rng, tr, requests, g.n, e ? e.add_latency_ms * f : 0, e ? 1 + (e.latency_factor - 1) * f : 1);
      const counters = { requests, errors, loads_attempted: 0, loads_succeeded: 0, latency_buckets: buckets, counters: { degraded } };
      // Users get what dark nodes serve; the control plane never sees it.
      if (g.flags & FLAG_DARK) continue;
      addCounters(into, counters, g.n);
      if (split) {
        const labels = this.#w.classLabels[g.cls] ?? {};
        for (const label of this.#w.splitLabels) {
          const value = labels[label];
          if (value === undefined) continue;
          let byValue = split.get(label);
          if (!byValue) split.set(label, byValue = new Map());
          let pair = byValue.get(value);
          if (!pair) byValue.set(value, pair = { cohort: emptyAggregate(), baseline: emptyAggregate() });
          addCounters(g.inCohort ? pair.cohort : pair.baseline, counters, g.n);
        }
      }
    }
    this.#records.push({ t, cohort, baseline, ...(split ? { split } : {}) });
    this.#recorder?.tick(t, this.#active?.id ?? null, cohort, baseline, change);
  }

  // ── the report ──────────────────────────────────────────────────────────────

  #report(): RegimeReport {
    const w = this.#w;
    const rollouts = [...this.#rollouts];
    if (this.#active && this.#activeSummary) rollouts.push(this.#summarize(this.#active, this.#activeSummary, null));
    const serving = new Map<string, number>();
    for (let i = 0; i < this.#n; i++) {
      const s = this.#serving[i] ?? NONE;
      const label = s === FAIL_CLOSED ? 'fail-closed' : s === FAIL_OPEN ? 'fail-open' : this.#label(s) ?? 'none';
      serving.set(label, (serving.get(label) ?? 0) + 1);
    }
    const finalServing = Object.fromEntries([...serving].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    const labels = Object.keys(finalServing);
    let exposed = 0;
    for (let i = 0; i < this.#n; i++) exposed += this.#exposed[i] ?? 0;
    const detect = this.#detectAt !== null && this.#firstBadPush !== null ? (this.#detectAt - this.#firstBadPush) / 1000 : null;
    const rollback = this.#detectAt !== null && this.#rollbackDoneAt !== null ? (this.#rollbackDoneAt - this.#detectAt) / 1000 : null;
    const total = this.#totals.requests;
    return {
      total_requests: total,
      failed_requests: this.#totals.failed,
      failed_share: total > 0 ? sig(this.#totals.failed / total, 6) : 0,
      background_failed_requests: this.#totals.background,
      degraded_requests: this.#totals.degraded,
      slowed_requests: this.#totals.slowed,
      fail_open_requests: this.#totals.failOpen,
      nodes_exposed: exposed,
      detect_seconds: detect,
      rollback_seconds: rollback,
      final_state: labels.length === 1 ? labels[0] ?? 'mixed' : 'mixed',
      final_serving: finalServing,
      pushes: this.#pushes,
      superseded_versions: this.#superseded,
      queued_version: this.#label(this.#queued ?? NONE),
      lost_load_reports: this.#lostReports,
      rollouts,
      ...(this.#recorder ? { record: this.#recorder.result() } : {}),
    };
  }

  #label(v: number): string | null {
    return v >= 0 ? this.#w.catalog.versions[v]?.label ?? null : null;
  }
}

/** Rounds to `digits` significant digits, so reports stay short and stable. */
function sig(x: number, digits: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(digits));
}
