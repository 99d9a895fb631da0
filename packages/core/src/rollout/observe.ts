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
    from: Math.max(state.stage_started_at, now - gate.window_ms),
    to: now,
  }));
}

export function stageByIndex(policy: PolicySpec, i: number): StageSpec | undefined {
  return policy.stages[i];
}
