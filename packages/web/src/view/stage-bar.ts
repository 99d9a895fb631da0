import { bakeProgress, formatDuration, stageMarks, type StageMark } from '@failsmall/core/browser';
import type { RolloutState } from '../api/types.ts';

/** One stage as the bar draws it: its mark in words (colour never says it alone) and its scope. */
export interface StageCell {
  readonly name: string;
  readonly mark: StageMark;
  /** `done`, `baking`, `paused`, `rolled back here`: what a screen reader and the eye both read. */
  readonly words: string;
  /** `1%`, `10 nodes`, `customer_tier=free 5%`. */
  readonly scope: string;
  /** Set on a policy's holdback stage: the share kept on the old version as the baseline, and for how long. */
  readonly holdback: string | null;
}

export interface StageBar {
  readonly cells: readonly StageCell[];
  /** `baking 12s of 1m`, `applying`, `rolling back`, `completed`: the current stage's progress. */
  readonly progress: string;
  /** 0..1 of the bake done, null when the stage is not baking. */
  readonly baked: number | null;
}

const STOPPED_WORDS: Partial<Record<RolloutState['status'], string>> = { rolled_back: 'rolled back here', rolling_back: 'rolling back here', aborted: 'aborted here' };

/**
 * The stage bar of the Rollout page, a pure function of the state and the control plane's clock:
 * the same marks as `rollout watch` (core stageMarks, bakeProgress).
 *
 * Examples
 *   stageBar(r, now).progress // 'baking 12s of 1m'
 */
export function stageBar(r: RolloutState, now: number): StageBar {
  const bake = bakeProgress(r, now);
  const cells = stageMarks(r).map((s, i): StageCell => {
    const spec = r.policy_spec.stages[i];
    const words = s.mark === 'done' ? 'done'
      : s.mark === 'todo' ? 'to come'
      : s.mark === 'paused' ? 'paused'
      : s.mark === 'stopped' ? (STOPPED_WORDS[r.status] ?? 'stopped here')
      : r.phase === 'baking' ? 'baking' : r.phase.replace('_', ' ');
    return {
      name: s.name, mark: s.mark, words, scope: spec?.scope.text ?? '',
      holdback: spec?.holdback ? `holds back ${spec.holdback.scope.text} on the old version for ${formatDuration(spec.holdback.for_ms)}` : null,
    };
  });
  const progress = bake ? `baking ${seconds(bake.baked_ms)} of ${seconds(bake.bake_ms)}`
    : r.status === 'running' ? r.phase.replace('_', ' ') : r.status.replace('_', ' ');
  return { cells, progress, baked: bake ? (bake.bake_ms > 0 ? bake.baked_ms / bake.bake_ms : 1) : null };
}

function seconds(ms: number): string {
  return ms < 1000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(Math.floor(ms / 1000) * 1000);
}
