import type { Verdict } from '../gates/types.ts';
import type { PolicySpec } from '../policy/types.ts';
import type { ChangeTouches } from '../triage/input.ts';

/**
 * A rollout's persisted state. It is plain JSON: the store saves it whole, with `rev`
 * for compare-and-set, and the engine (`step`) is a pure function from one to the next.
 */
export type RolloutStatus =
  | 'running'
  | 'paused'
  | 'rolling_back'
  | 'completed'
  | 'rolled_back'
  | 'aborted';

/** Where a running rollout is inside its current stage. */
export type StagePhase = 'applying' | 'baking' | 'awaiting_approval';

export const TERMINAL_STATUSES: readonly RolloutStatus[] = ['completed', 'rolled_back', 'aborted'];

/** Every status, in the order of a rollout's life: what a status filter may name. */
export const ROLLOUT_STATUSES: readonly RolloutStatus[] = ['running', 'paused', 'rolling_back', 'completed', 'rolled_back', 'aborted'];

export interface RolloutOutcome {
  /** The stage the rollout stopped at (or the last stage when it completed). */
  readonly stage: string;
  readonly reason: string;
  /** The failing gate's verdict, when a gate caused the outcome. */
  readonly verdict?: Verdict;
}

export interface RolloutState {
  readonly id: string;
  readonly artifact: string;
  readonly module: string;
  readonly policy: string;
  /** The policy as it was when the rollout started: re-applying a policy never changes a running rollout. */
  readonly policy_spec: PolicySpec;
  readonly from_version: string | null;
  readonly to_version: string;
  readonly status: RolloutStatus;
  readonly phase: StagePhase;
  readonly stage_index: number;
  /** When the current stage began (its cohort was assigned). */
  readonly stage_started_at: number;
  /** When baking began (cohort loaded, or load_timeout passed); null while applying. */
  readonly bake_started_at: number | null;
  readonly last_evaluated_at: number | null;
  /**
   * Time since bake_started_at that no gate watched (a control plane down or stalled, a pause):
   * it does not count as bake. Absent in states written before it existed: 0.
   */
  readonly bake_unwatched_ms?: number;
  /** Every node that was ever given to_version in this rollout: the union of the cohorts so far. */
  readonly assigned: readonly string[];
  /** Status/phase to return to on resume. */
  readonly paused_phase: StagePhase | null;
  readonly paused_status: 'running' | 'rolling_back' | null;
  readonly pause_reason: string | null;
  /** Extra time granted past bake + max_extension by a resume after an inconclusive pause. */
  readonly extension_base: number | null;
  /** Why the rollout is rolling back: 'gate' | 'abort' | 'inconclusive'. */
  readonly rollback_cause: 'gate' | 'abort' | 'inconclusive' | null;
  readonly rollback_started_at: number | null;
  readonly last_verdicts: readonly Verdict[];
  readonly outcome: RolloutOutcome | null;
  readonly created_at: number;
  readonly updated_at: number;
  readonly created_by: string;
  /** What the change touches beyond its module (the artifact's declaration and the start's own); absent: nothing declared. */
  readonly touches?: ChangeTouches;
  /** Incremented on every persisted transition; the store refuses a stale write. */
  readonly rev: number;
}

/** An event appended to the log in the same transaction as the transition that caused it. */
export interface RolloutEvent {
  readonly type: string;
  readonly at: number;
  readonly rollout_id: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
}
