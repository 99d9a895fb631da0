import type { RolloutEvent, RolloutState } from '@failsmall/core';

/** How a stage ended: promoted to the next, the rollout completed on it, or a rollback (or abort) began on it. */
export type StageOutcome = 'promoted' | 'completed' | 'rolled_back' | 'aborted';

export interface StageEnd {
  readonly stage: string;
  readonly seconds: number;
  readonly outcome: StageOutcome;
}

/**
 * When each active rollout's current stage began, from the events committed in this process
 * (and the active rollouts read at start, so a restart does not lose the stage in flight), to
 * time each stage from its start to its end.
 *
 * Examples
 * ```ts
 * const clock = new StageClock();
 * clock.ended({ type: 'rollout.stage_started', at: 0, rollout_id: 'r1', payload: { stage: 'canary' } }); // undefined
 * clock.ended({ type: 'rollout.promoted', at: 90_000, rollout_id: 'r1', payload: { from_stage: 'canary' } });
 * // { stage: 'canary', seconds: 90, outcome: 'promoted' }
 * ```
 */
export class StageClock {
  readonly #started = new Map<string, { stage: string; at: number }>();

  /** Knows the current stage of each rollout (read from the store at start). */
  seed(active: readonly RolloutState[]): void {
    for (const r of active) {
      const stage = r.policy_spec.stages[r.stage_index]?.name;
      if (stage !== undefined && r.status !== 'rolling_back') this.#started.set(r.id, { stage, at: r.stage_started_at });
    }
  }

  /** The stage this event ends, if it ends one whose start is known. */
  ended(e: RolloutEvent): StageEnd | undefined {
    if (e.rollout_id === null) return undefined;
    if (e.type === 'rollout.stage_started') {
      this.#started.set(e.rollout_id, { stage: String(e.payload.stage), at: e.at });
      return undefined;
    }
    const outcome = e.type === 'rollout.promoted' ? 'promoted'
      : e.type === 'rollout.completed' ? 'completed'
        : e.type === 'rollout.rolling_back' ? (e.payload.cause === 'abort' ? 'aborted' : 'rolled_back')
          : undefined;
    if (outcome === undefined) return undefined;
    const start = this.#started.get(e.rollout_id);
    this.#started.delete(e.rollout_id);
    if (start === undefined || e.at < start.at) return undefined;
    return { stage: start.stage, seconds: (e.at - start.at) / 1000, outcome };
  }
}
