import { formatDuration } from '../duration/index.ts';
import { holdbackNodes, nestedCohort, stratifyLabels, type FleetNode } from '../cohort/index.ts';
import { evaluateGate, type GateObservation } from '../gates/evaluate.ts';
import type { Verdict } from '../gates/types.ts';
import type { PolicySpec } from '../policy/types.ts';
import type { ChangeTouches } from '../triage/input.ts';
import { currentStage, evaluationDue } from './observe.ts';
import type { RolloutEvent, RolloutState } from './types.ts';

/** What a node last reported about the artifact under rollout. */
export interface NodeLoad {
  /** The version it tried to load last. */
  readonly version: string | null;
  readonly ok: boolean;
  /** The version it serves now. */
  readonly serving: string | null;
  /** Why the last load failed, as the agent said. */
  readonly error?: string | null;
}

export interface StepInput {
  readonly state: RolloutState;
  readonly fleet: readonly FleetNode[];
  readonly loads: ReadonlyMap<string, NodeLoad>;
  /** One observation per gate of the current stage, keyed by gate name (from `gateQueries`). */
  readonly observations: ReadonlyMap<string, GateObservation>;
  readonly now: number;
}

export interface StepOutput {
  readonly state: RolloutState;
  readonly events: RolloutEvent[];
  /** True when the set of nodes that should run to_version changed: agents must be told. */
  readonly desiredChanged: boolean;
}

export interface StartInput {
  readonly id: string;
  readonly artifact: string;
  readonly module: string;
  readonly policy: PolicySpec;
  readonly fromVersion: string | null;
  readonly toVersion: string;
  readonly fleet: readonly FleetNode[];
  readonly actor: string;
  readonly now: number;
  /** What the change touches beyond its module; kept on the state for triage and incidents. */
  readonly touches?: ChangeTouches;
  /** Why it was started (a retry, an undo, a ticket): kept in the rollout.started event. */
  readonly reason?: string;
}

/**
 * Starts a rollout: stage 0's cohort gets the new version. The first transition of the
 * state machine, and like every other one it returns the events to persist with it.
 */
export function startRollout(input: StartInput): StepOutput | { error: { code: string; message: string; hint: string } } {
  const first = input.policy.stages[0];
  if (!first) return { error: { code: 'POLICY_EMPTY', message: `policy ${input.policy.name} has no stages`, hint: 'add at least one stage' } };
  const cohort = nestedCohort(input.id, first.scope, input.fleet, [], stratifyLabels(first.health_gates), heldBack(input.id, input.policy, input.fleet));
  if (cohort.length === 0) {
    return { error: { code: 'EMPTY_COHORT', message: `stage ${first.name} (${first.scope.text}) selects no registered node`, hint: 'register nodes first (failsmall nodes), or check the stage selector' } };
  }
  const state: RolloutState = {
    id: input.id, artifact: input.artifact, module: input.module, policy: input.policy.name, policy_spec: input.policy,
    from_version: input.fromVersion, to_version: input.toVersion, status: 'running', phase: 'applying', stage_index: 0,
    stage_started_at: input.now, bake_started_at: null, last_evaluated_at: null, assigned: cohort,
    paused_phase: null, paused_status: null, pause_reason: null, extension_base: null, rollback_cause: null,
    rollback_started_at: null, last_verdicts: [], outcome: null, created_at: input.now, updated_at: input.now,
    created_by: input.actor, rev: 1, ...(input.touches ? { touches: input.touches } : {}),
  };
  return {
    state,
    events: [
      event(state, 'rollout.started', input.now, { artifact: input.artifact, from_version: input.fromVersion, to_version: input.toVersion, policy: input.policy.name, actor: input.actor, fleet_nodes: input.fleet.length, ...(input.reason ? { reason: input.reason } : {}) }),
      stageStartedEvent(state, input.fleet.length, cohort.length, input.now),
    ],
    desiredChanged: true,
  };
}

/**
 * The rollout engine: a pure function of the state, what the fleet reported and the time.
 *
 * applying  → every cohort node reported its load (or load_timeout passed) → baking
 * baking    → every `interval`: evaluate gates. fail → rolling back (or pause);
 *             all pass after `bake` → promote (or await approval); inconclusive past
 *             bake + max_extension → pause (or roll back), as the policy says
 * rolling_back → every assigned node serves from_version again (or timeout) → rolled_back / aborted
 */
/** A gap between gate checks longer than this many intervals is not bake time. */
export const UNWATCHED_AFTER = 2;

export function step(input: StepInput): StepOutput {
  return withRev(input.state, stepInner(input));
}

function stepInner(input: StepInput): StepOutput {
  const { state, now } = input;
  if (state.status === 'rolling_back') return stepRollback(input);
  if (state.status !== 'running') return unchanged(state);
  if (state.phase === 'applying') return stepApplying(input);
  if (state.phase === 'baking' && evaluationDue(state, now)) return stepBaking(input);
  return unchanged(state);
}

function stepApplying(input: StepInput): StepOutput {
  const { state, now } = input;
  const stage = currentStage(state);
  let reported = 0;
  let failed = 0;
  const failures: { node: string; error: string; serving: string | null }[] = [];
  for (const id of state.assigned) {
    const load = input.loads.get(id);
    if (load && load.version === state.to_version) {
      reported++;
      if (!load.ok) { failed++; if (failures.length < 5) failures.push({ node: id, error: load.error ?? 'unknown error', serving: load.serving }); }
    }
  }
  const all = reported === state.assigned.length;
  const timedOut = now - state.stage_started_at >= stage.load_timeout_ms;
  if (!all && !timedOut) return unchanged(state);
  const next = bump(state, { phase: 'baking', bake_started_at: now, last_evaluated_at: null, bake_unwatched_ms: 0 }, now);
  const ev = event(next, 'rollout.baking', now, {
    stage: stage.name, cohort_nodes: state.assigned.length, reported, failed_loads: failed,
    missing: state.assigned.length - reported, failures,
    reason: all ? `all ${reported} cohort nodes reported the load (${failed} failed)` : `load_timeout ${formatDuration(stage.load_timeout_ms)} passed with ${state.assigned.length - reported} nodes silent; silent nodes count as no data`,
  });
  // No evaluation in this step: its observations were gathered for the applying phase. The
  // shell decides again at once after a transition, so a failed load is judged immediately.
  return { state: next, events: [ev], desiredChanged: false };
}

function stepBaking(input: StepInput): StepOutput {
  const { state, now } = input;
  const stage = currentStage(state);
  const verdicts: Verdict[] = stage.health_gates.map((gate) => {
    const obs = input.observations.get(gate.name) ?? {
      cohort: { requests: 0, errors: 0, loads_attempted: 0, loads_succeeded: 0, latency_buckets: [], counters: {}, nodes: 0 },
      cohortNodes: state.assigned.length, baseline: null, windowMs: gate.window_ms,
    };
    return evaluateGate(gate, stage.name, obs, now);
  });
  // Bake counts only watched time: a gap between gate checks longer than UNWATCHED_AFTER
  // intervals (the control plane was down, stalled, or the rollout paused) is not bake, so a
  // stage can never promote on a restart's first checks after a bake nobody watched.
  const lastWatch = state.last_evaluated_at ?? state.bake_started_at ?? now;
  const gap = now - lastWatch;
  const unwatchedNow = gap > UNWATCHED_AFTER * stage.interval_ms ? gap - stage.interval_ms : 0;
  const unwatched = (state.bake_unwatched_ms ?? 0) + unwatchedNow;
  const evaluated = bump(state, { last_evaluated_at: now, last_verdicts: verdicts, ...(unwatched > 0 ? { bake_unwatched_ms: unwatched } : {}) }, now);
  const events: RolloutEvent[] = [event(evaluated, 'gates.evaluated', now, { stage: stage.name, verdicts })];
  if (unwatchedNow > 0) {
    const watched = Math.max(0, now - (state.bake_started_at ?? now) - unwatched);
    events.push(event(evaluated, 'rollout.bake_extended', now, {
      stage: stage.name, gap_ms: gap, unwatched_ms: unwatchedNow, watched_ms: watched,
      reason: `no gate check for ${formatDuration(gap)} (the control plane was down or stalled, or the rollout paused); bake counts only watched time: ${formatDuration(watched)} of ${formatDuration(stage.bake_ms)} baked`,
    }));
  }

  const failedVerdict = verdicts.find((v) => v.status === 'fail');
  if (failedVerdict) {
    if (stage.rollback_on_failure) return beginRollback(evaluated, 'gate', failedVerdict.reason, now, events, failedVerdict);
    return pause(evaluated, `${failedVerdict.reason}; rollback_on_failure is false, so a human decides`, now, events, failedVerdict);
  }
  // Shifting the start by the unwatched time makes "baked", the extension and its deadline all count watched time.
  const bakeStart = (state.bake_started_at ?? now) + unwatched;
  const baked = now - bakeStart >= stage.bake_ms;
  const inconclusive = verdicts.filter((v) => v.status === 'inconclusive');
  if (baked) {
    // A gate that declares on_no_data: pause or rollback does not wait out the extension.
    for (const v of inconclusive) {
      const gate = stage.health_gates.find((g) => g.name === v.gate);
      if (v.value !== null || !gate?.on_no_data || gate.on_no_data === 'extend') continue;
      const why = `${v.reason}; the gate says on_no_data: ${gate.on_no_data}`;
      if (gate.on_no_data === 'rollback') return beginRollback(evaluated, 'inconclusive', why, now, events, v);
      return pause(evaluated, why, now, events, v);
    }
  }
  if (inconclusive.length === 0) {
    if (!baked) return { state: evaluated, events, desiredChanged: false };
    if (stage.manual_approval) {
      const waiting = bump(evaluated, { phase: 'awaiting_approval' }, now);
      events.push(event(waiting, 'rollout.approval_required', now, { stage: stage.name, reason: `all gates passed for ${formatDuration(stage.bake_ms)}; stage ${stage.name} needs a manual promote` }));
      return { state: waiting, events, desiredChanged: false };
    }
    return promote(evaluated, input.fleet, now, events, `all ${verdicts.length} gates passed after baking ${formatDuration(now - bakeStart)}`, 'engine');
  }
  const extensionStart = Math.max(bakeStart + stage.bake_ms, state.extension_base ?? 0);
  const limit = extensionStart + stage.max_extension_ms;
  if (now < limit) {
    if (baked && (state.last_evaluated_at === null || state.last_evaluated_at < bakeStart + stage.bake_ms || (state.extension_base !== null && state.last_evaluated_at < state.extension_base))) {
      events.push(event(evaluated, 'rollout.extended', now, { stage: stage.name, until: limit, reason: `${inconclusive.length} gate(s) inconclusive after bake; extending up to ${formatDuration(stage.max_extension_ms)}`, gates: inconclusive.map((v) => v.gate) }));
    }
    return { state: evaluated, events, desiredChanged: false };
  }
  const why = `stage ${stage.name} stayed inconclusive past bake + max_extension (${formatDuration(stage.bake_ms)} + ${formatDuration(stage.max_extension_ms)}): ${inconclusive[0]?.reason ?? ''}`;
  if (stage.on_inconclusive === 'rollback') return beginRollback(evaluated, 'inconclusive', why, now, events, inconclusive[0]);
  return pause(evaluated, `${why}; paused for a human`, now, events, inconclusive[0]);
}

function stepRollback(input: StepInput): StepOutput {
  const { state, now } = input;
  let confirmed = 0;
  const missing: string[] = [];
  for (const id of state.assigned) {
    const load = input.loads.get(id);
    // A node confirms when it serves from_version; one that never loaded to_version never left it.
    if (load === undefined ? state.from_version === null : load.serving === state.from_version) confirmed++;
    else missing.push(id);
  }
  const stage = currentStage(state);
  const started = state.rollback_started_at ?? now;
  const timedOut = now - started >= Math.max(stage.load_timeout_ms, stage.interval_ms * 3);
  if (missing.length > 0 && !timedOut) return unchanged(state);
  const status = state.rollback_cause === 'abort' ? 'aborted' : 'rolled_back';
  const next = bump(state, { status }, now);
  return {
    state: next,
    events: [event(next, status === 'aborted' ? 'rollout.aborted' : 'rollout.rolled_back', now, {
      stage: stage.name, to_version: state.from_version, nodes: state.assigned.length, confirmed,
      unconfirmed: missing.slice(0, 50), unconfirmed_count: missing.length,
      reason: missing.length === 0
        ? `all ${confirmed} nodes that received ${state.to_version} serve ${state.from_version ?? 'nothing'} again`
        : `${missing.length} of ${state.assigned.length} nodes did not confirm ${state.from_version ?? 'removal'} in time; their desired version is ${state.from_version ?? 'none'} and they converge when they report`,
    })],
    desiredChanged: false,
  };
}

function promote(state: RolloutState, fleet: readonly FleetNode[], now: number, events: RolloutEvent[], reason: string, actor: string): StepOutput {
  const from = currentStage(state);
  const nextIndex = state.stage_index + 1;
  const nextStage = state.policy_spec.stages[nextIndex];
  if (!nextStage) {
    const done = bump(state, { status: 'completed', outcome: { stage: from.name, reason: `completed: ${reason} on the last stage ${from.name}` } }, now);
    events.push(event(done, 'rollout.completed', now, { stage: from.name, nodes: state.assigned.length, reason, actor }));
    return { state: done, events, desiredChanged: true };
  }
  const cohort = nestedCohort(state.id, nextStage.scope, fleet, state.assigned, stratifyLabels(nextStage.health_gates), heldBack(state.id, state.policy_spec, fleet));
  const next = bump(state, {
    stage_index: nextIndex, phase: 'applying', stage_started_at: now, bake_started_at: null, last_evaluated_at: null, bake_unwatched_ms: 0,
    assigned: cohort, extension_base: null, last_verdicts: [],
  }, now);
  events.push(event(next, 'rollout.promoted', now, { from_stage: from.name, to_stage: nextStage.name, reason, actor }));
  events.push(stageStartedEvent(next, fleet.length, cohort.length - state.assigned.length, now));
  return { state: next, events, desiredChanged: true };
}

function beginRollback(state: RolloutState, cause: 'gate' | 'abort' | 'inconclusive', reason: string, now: number, events: RolloutEvent[], verdict?: Verdict): StepOutput {
  const stage = currentStage(state);
  const next = bump(state, {
    status: 'rolling_back', rollback_cause: cause, rollback_started_at: now, paused_phase: null, paused_status: null, pause_reason: null,
    outcome: verdict ? { stage: stage.name, reason, verdict } : { stage: stage.name, reason },
  }, now);
  events.push(event(next, 'rollout.rolling_back', now, {
    stage: stage.name, cause, reason, nodes: state.assigned.length, to_version: state.from_version,
    ...(verdict ? { gate: verdict.gate, verdict } : {}),
  }));
  return { state: next, events, desiredChanged: true };
}

function pause(state: RolloutState, reason: string, now: number, events: RolloutEvent[], verdict?: Verdict): StepOutput {
  const next = bump(state, { status: 'paused', paused_phase: state.phase, paused_status: 'running', pause_reason: reason }, now);
  events.push(event(next, 'rollout.paused', now, { stage: currentStage(state).name, reason, actor: 'engine', ...(verdict ? { gate: verdict.gate, verdict } : {}) }));
  return { state: next, events, desiredChanged: false };
}

// ── manual commands ─────────────────────────────────────────────────────────

export type Command =
  | { readonly type: 'pause'; readonly actor: string; readonly reason?: string }
  | { readonly type: 'resume'; readonly actor: string; readonly reason?: string }
  | { readonly type: 'promote'; readonly actor: string; readonly reason?: string }
  | { readonly type: 'abort'; readonly actor: string; readonly reason?: string };

export interface CommandError { readonly code: string; readonly message: string; readonly hint: string }

/** Applies a human's command. Refusals are values with a code, never exceptions. */
export function applyCommand(state: RolloutState, cmd: Command, fleet: readonly FleetNode[], now: number): StepOutput | { error: CommandError } {
  const out = commandInner(state, cmd, fleet, now);
  return 'error' in out ? out : withRev(state, out);
}

function commandInner(state: RolloutState, cmd: Command, fleet: readonly FleetNode[], now: number): StepOutput | { error: CommandError } {
  const stage = currentStage(state);
  const by = `${cmd.type} by ${cmd.actor}${cmd.reason ? `: ${cmd.reason}` : ''}`;
  if (state.status === 'completed' || state.status === 'rolled_back' || state.status === 'aborted') {
    return { error: { code: 'ROLLOUT_FINISHED', message: `rollout ${state.id} is ${state.status}; it cannot ${cmd.type}`, hint: 'start a new rollout' } };
  }
  switch (cmd.type) {
    case 'pause': {
      if (state.status === 'paused') return { error: { code: 'ALREADY_PAUSED', message: `rollout ${state.id} is already paused`, hint: 'resume it with failsmall rollout resume' } };
      if (state.status === 'rolling_back') return { error: { code: 'ROLLING_BACK', message: `rollout ${state.id} is rolling back; a rollback is never paused`, hint: 'wait for it to finish' } };
      return pause(state, by, now, []);
    }
    case 'resume': {
      if (state.status !== 'paused') return { error: { code: 'NOT_PAUSED', message: `rollout ${state.id} is ${state.status}, not paused`, hint: 'only a paused rollout can resume' } };
      // A resume grants a fresh extension budget: a human looked and chose to keep waiting.
      const next = bump(state, { status: 'running', phase: state.paused_phase ?? 'applying', paused_phase: null, paused_status: null, pause_reason: null, extension_base: now, last_evaluated_at: null }, now);
      return { state: next, events: [event(next, 'rollout.resumed', now, { stage: stage.name, reason: by, actor: cmd.actor })], desiredChanged: false };
    }
    case 'promote': {
      if (state.status === 'rolling_back') return { error: { code: 'ROLLING_BACK', message: `rollout ${state.id} is rolling back; it cannot promote`, hint: 'start a new rollout once it has finished' } };
      const running = bump(state, { status: 'running', paused_phase: null, paused_status: null, pause_reason: null }, now);
      return promote(running, fleet, now, [], `manual promote by ${cmd.actor}${cmd.reason ? ` (${cmd.reason})` : ''}; gates skipped for stage ${stage.name}`, cmd.actor);
    }
    case 'abort': {
      if (state.status === 'rolling_back') return { error: { code: 'ROLLING_BACK', message: `rollout ${state.id} is already rolling back`, hint: 'wait for it to finish' } };
      return beginRollback(state, 'abort', `aborted by ${cmd.actor}${cmd.reason ? `: ${cmd.reason}` : ''}`, now, []);
    }
  }
}

// ── helpers ─────────────────────────────────────────────────────────────────

function bump(state: RolloutState, patch: Partial<RolloutState>, now: number): RolloutState {
  return { ...state, ...patch, updated_at: now };
}

/** One persisted transition is one rev, however many internal moves the step made. */
function withRev(before: RolloutState, out: StepOutput): StepOutput {
  return out.state === before ? out : { ...out, state: { ...out.state, rev: before.rev + 1 } };
}

function unchanged(state: RolloutState): StepOutput {
  return { state, events: [], desiredChanged: false };
}

function event(state: RolloutState, type: string, at: number, payload: Record<string, unknown>): RolloutEvent {
  return { type, at, rollout_id: state.id, payload };
}

function stageStartedEvent(state: RolloutState, fleetSize: number, newNodes: number, now: number): RolloutEvent {
  const stage = currentStage(state);
  const held = stage.holdback
    ? `; ${fleetSize - state.assigned.length} nodes (${stage.holdback.scope.text}) stay on ${state.from_version ?? 'nothing'} for ${formatDuration(stage.holdback.for_ms)} as the baseline, then take ${state.to_version} too`
    : '';
  return event(state, 'rollout.stage_started', now, {
    stage: stage.name, stage_index: state.stage_index, scope: stage.scope.text, to_version: state.to_version, cohort_nodes: state.assigned.length,
    new_nodes: newNodes, fleet_nodes: fleetSize,
    reason: `stage ${stage.name} (${stage.scope.text}) gives ${state.to_version} to ${state.assigned.length} of ${fleetSize} nodes${held}`,
  });
}

/** The nodes the policy's holdback keeps back from every stage, if it has one. */
function heldBack(rolloutId: string, policy: PolicySpec, fleet: readonly FleetNode[]): Set<string> {
  const h = policy.stages.find((s) => s.holdback)?.holdback;
  return h ? holdbackNodes(rolloutId, h.scope, fleet) : new Set();
}
