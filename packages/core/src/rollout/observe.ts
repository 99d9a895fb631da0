import type { GateObservation } from '../gates/evaluate.ts';
import { addCounters, type MutableAggregate } from '../gates/metric-value.ts';
import type { GateSpec, PolicySpec, StageSpec } from '../policy/types.ts';
import type { RolloutState } from './types.ts';

/** One metric window the engine needs before it can decide. The shell fetches it. */
export interface GateQuery {
  readonly gate: GateSpec;
  /** Inclusive window bounds (ms). The window never reaches back before the stage began. */
  readonly from: number;
  readonly to: number;
}

export function currentStage(state: RolloutState): StageSpec {
  const stage = state.policy_spec.stages[state.stage_index];
  if (!stage) throw new Error(`rollout ${state.id} has no stage ${state.stage_index}`); // an invariant, not user input
  return stage;
}

/** True when a running, baking rollout is due for a gate evaluation at `now`. */
export function evaluationDue(state: RolloutState, now: number): boolean {
  if (state.status !== 'running' || state.phase !== 'baking') return false;
  if (state.last_evaluated_at === null) return true;
  return now - state.last_evaluated_at >= currentStage(state).interval_ms;
}

/**
 * The metric windows `step` will need at `now`: empty unless an evaluation is due.
 * Keeping this separate lets the shell query the store only when a decision needs it.
 */
export function gateQueries(state: RolloutState, now: number): GateQuery[] {
  if (!evaluationDue(state, now)) return [];
  return currentStage(state).health_gates.map((gate) => ({
    gate,
    // A sequential test (compare: baseline) reads the stage's counts so far: its any-look
    // guarantee holds for accumulating data, not for a sliding window.
    from: gate.compare === 'baseline' ? state.stage_started_at : Math.max(state.stage_started_at, now - gate.window_ms),
    to: now,
  }));
}

export function stageByIndex(policy: PolicySpec, i: number): StageSpec | undefined {
  return policy.stages[i];
}

/**
 * A load gate on the rolled-out artifact's own module reads each node's latest load report
 * rather than load counters in a window: a node loads a version once, so a sliding window
 * would forget a load one window ago and call a healthy stage inconclusive.
 */
export function readsLoadReports(gate: GateSpec, state: RolloutState): boolean {
  return gate.metric === 'load_success_rate' && gate.module === state.module;
}

/** One node's latest load report, as load counters: cohort nodes count loads of to_version, the rest of from_version. */
export function addLoadReport(into: { cohort: MutableAggregate; baseline: MutableAggregate }, inCohort: boolean, load: { version: string | null; ok: boolean }, state: RolloutState): void {
  const counters = { requests: 0, errors: 0, loads_attempted: 1, loads_succeeded: load.ok ? 1 : 0, latency_buckets: [], counters: {} };
  if (inCohort) {
    if (load.version === state.to_version) addCounters(into.cohort, counters);
  } else if (load.version !== null && load.version === state.from_version) {
    addCounters(into.baseline, counters);
  }
}

/** The observation a gate is judged on, with its evidence: what was read, over which window. */
export function gateObservation(q: GateQuery, state: RolloutState, cohort: MutableAggregate, baseline: MutableAggregate, now: number, source: string): GateObservation {
  const fromReports = readsLoadReports(q.gate, state);
  return {
    cohort, cohortNodes: state.assigned.length,
    baseline: baseline.nodes > 0 ? baseline : null,
    windowMs: fromReports ? now - state.stage_started_at : q.to - q.from,
    basis: fromReports ? 'latest-report' : 'window',
    query: fromReports
      ? `latest load report per node of ${state.artifact}@${state.to_version} (baseline: @${state.from_version ?? 'none'})`
      : `${source} ${q.gate.module}/${q.gate.metric} in [now-${q.to - q.from}ms, now]`,
  };
}
