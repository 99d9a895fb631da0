import type { RolloutState } from './types.ts';

/** Where one stage is: behind the rollout, where it is (and how), or still to come. */
export type StageMark = 'done' | 'current' | 'paused' | 'stopped' | 'todo';

/**
 * Each stage of a rollout as a mark, for the stage bars of `rollout watch` and the dashboard:
 * done before the current one; the current one running, paused, or stopped (rolled back, rolling
 * back or aborted there); to come after it. A completed rollout's stages are all done.
 *
 * Examples
 *   stageMarks(r) // [{ name: 'canary', mark: 'done' }, { name: 'global', mark: 'current' }]
 */
export function stageMarks(r: Pick<RolloutState, 'status' | 'stage_index' | 'policy_spec'>): { name: string; mark: StageMark }[] {
  const here: StageMark = r.status === 'completed' ? 'done'
    : r.status === 'rolled_back' || r.status === 'aborted' || r.status === 'rolling_back' ? 'stopped'
    : r.status === 'paused' ? 'paused' : 'current';
  return r.policy_spec.stages.map((s, i) => ({ name: s.name, mark: i < r.stage_index ? 'done' : i === r.stage_index ? here : 'todo' }));
}

/**
 * How long the current stage has baked, and of how long, read against the control plane's clock
 * `now`; null when it is not baking (applying, paused, finished). Unwatched time (a stalled
 * control plane, a pause) is not bake: the engine does not count it either.
 *
 * Examples
 *   bakeProgress(r, r.bake_started_at + 3000) // { baked_ms: 3000, bake_ms: 10000 }
 */
export function bakeProgress(r: Pick<RolloutState, 'status' | 'phase' | 'stage_index' | 'policy_spec' | 'bake_started_at' | 'bake_unwatched_ms'>, now: number): { baked_ms: number; bake_ms: number } | null {
  const stage = r.policy_spec.stages[r.stage_index];
  if (r.status !== 'running' || r.phase !== 'baking' || r.bake_started_at === null || !stage) return null;
  const baked = Math.max(0, now - r.bake_started_at - (r.bake_unwatched_ms ?? 0));
  return { baked_ms: Math.min(baked, stage.bake_ms), bake_ms: stage.bake_ms };
}
