import type { EventRecord, RolloutState, Verdict } from '../api/types.ts';

/** A rollback made unmistakable: why, on what evidence, and how long the fleet took to be whole again. */
export interface RollbackStory {
  readonly stage: string;
  /** The failing gate, when a gate caused it; null for an abort or an inconclusive end. */
  readonly verdict: Verdict | null;
  readonly reason: string;
  /** When the failure was seen: the failing verdict's time, or when the rollback began. */
  readonly detected_at: number | null;
  /** When the last node was back on the good version (`rollout.rolled_back` or `rollout.aborted`); null while rolling back. */
  readonly back_at: number | null;
  /** back_at − detected_at. */
  readonly took_ms: number | null;
}

/**
 * The rollback of a rollout, from its state and its `rollout.*` events; null for a rollout that
 * did not roll back.
 *
 * Examples
 *   rollbackStory(r, events)?.took_ms // 1800
 */
export function rollbackStory(r: RolloutState, events: readonly EventRecord[]): RollbackStory | null {
  const rolling = r.status === 'rolling_back' || r.status === 'rolled_back' || r.status === 'aborted' || r.rollback_started_at !== null;
  if (!rolling) return null;
  const verdict = r.outcome?.verdict ?? null;
  const started = events.find((e) => e.type === 'rollout.rolling_back');
  const ended = events.find((e) => e.type === 'rollout.rolled_back' || e.type === 'rollout.aborted');
  const detected_at = verdict?.at ?? r.rollback_started_at ?? started?.at ?? null;
  const back_at = ended?.at ?? null;
  const reason = r.outcome?.reason ?? (typeof started?.payload.reason === 'string' ? started.payload.reason : 'rolling back');
  return {
    stage: r.outcome?.stage ?? r.policy_spec.stages[r.stage_index]?.name ?? '?',
    verdict, reason, detected_at, back_at,
    took_ms: detected_at !== null && back_at !== null ? Math.max(0, back_at - detected_at) : null,
  };
}
