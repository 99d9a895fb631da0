import type { StageSpec } from '../policy/types.ts';
import { matchesSelector, scopeSize, type FleetNode } from './index.ts';

/** A stage that would add no node over the stages before it, on this fleet. */
export interface StageSizeWarning {
  readonly code: 'STAGE_ADDS_NO_NODE';
  readonly stage: string;
  readonly message: string;
  readonly hint: string;
}

/**
 * The stages of a policy that, on this fleet, reach no node the earlier stages had not: on 4
 * nodes a 1% canary and a 10% stage both round up to 1 node, and the 10% stage would bake for
 * nothing. Said when the rollout starts, rather than found out by watching it. Stages with a
 * selector are compared only with earlier stages of the same selector (a region-by-region
 * policy is not a repeat). The holdback stage keeps nodes back; it is not compared.
 *
 * Examples
 *   stageSizeWarnings(policy.stages, fleet)  // [{ code: 'STAGE_ADDS_NO_NODE', stage: 'ten-percent', … }]
 */
export function stageSizeWarnings(stages: readonly StageSpec[], fleet: readonly FleetNode[]): StageSizeWarning[] {
  const out: StageSizeWarning[] = [];
  const largest = new Map<string, { size: number; stage: string }>();
  for (const stage of stages) {
    if (stage.holdback) continue;
    const key = JSON.stringify(stage.scope.selector);
    const eligible = fleet.filter((n) => matchesSelector(n.labels, stage.scope.selector)).length;
    const size = scopeSize(stage.scope, eligible);
    const before = largest.get(key);
    if (before && size <= before.size && eligible > 0) {
      out.push({
        code: 'STAGE_ADDS_NO_NODE', stage: stage.name,
        message: `stage ${stage.name} reaches ${size} of ${eligible} nodes, no more than stage ${before.stage} (${before.size}): it adds no node on this fleet`,
        hint: 'percentages round up to whole nodes; on a small fleet use count scopes (e.g. scope: 2 nodes) or fewer stages',
      });
    }
    if (!before || size > before.size) largest.set(key, { size, stage: stage.name });
  }
  return out;
}
