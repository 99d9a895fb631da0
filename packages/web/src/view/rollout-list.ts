import type { RolloutState, RolloutStatus } from '../api/types.ts';
import type { RolloutFilter } from '../app/routes.ts';

/** The states a rollout is still moving in: what `active` means in a filter, as in the API's ?active=true. */
const ACTIVE: readonly RolloutStatus[] = ['running', 'paused', 'rolling_back'];

/** The state filter's choices, in the order of a rollout's life. */
export const STATE_CHOICES: readonly { readonly value: string; readonly label: string }[] = [
  { value: '', label: 'every state' },
  { value: 'active', label: 'active (running, paused, rolling back)' },
  ...(['running', 'paused', 'rolling_back', 'completed', 'rolled_back', 'aborted'] as const).map((s) => ({ value: s, label: statusLabel(s) })),
];

/** `rolled back`: a status as words. */
export function statusLabel(s: RolloutStatus): string {
  return s.replace('_', ' ');
}

/**
 * The rollouts a filter keeps, in the order given (the API's: newest first).
 *
 * Examples
 *   filterRollouts(all, { artifact: 'features', state: 'active' })
 */
export function filterRollouts(rollouts: readonly RolloutState[], f: RolloutFilter): RolloutState[] {
  return rollouts.filter((r) => (f.artifact === '' || r.artifact === f.artifact)
    && (f.state === '' || (f.state === 'active' ? ACTIVE.includes(r.status) : r.status === f.state)));
}

/** The artifacts the list names, sorted: the artifact filter's choices. */
export function artifactsOf(rollouts: readonly RolloutState[]): string[] {
  return [...new Set(rollouts.map((r) => r.artifact))].sort();
}

/** `canary 1/3`, or the current stage's name where the policy has no stages left to show. */
export function stageLabel(r: Pick<RolloutState, 'policy_spec' | 'stage_index'>): string {
  const stage = r.policy_spec.stages[r.stage_index];
  return `${stage?.name ?? '?'} ${r.stage_index + 1}/${r.policy_spec.stages.length}`;
}

/** `v1 → v2`, `(none) → v1` for an artifact's first version. */
export function versionsLabel(r: Pick<RolloutState, 'from_version' | 'to_version'>): string {
  return `${r.from_version ?? '(none)'} → ${r.to_version}`;
}
