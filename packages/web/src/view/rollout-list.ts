import type { RolloutState, RolloutStatus } from '../api/types.ts';
import type { RolloutFilter } from '../app/routes.ts';

/** The states a rollout is still moving in: what `active` means in a filter, as in the API's ?active=true. */
const ACTIVE: readonly RolloutStatus[] = ['running', 'paused', 'rolling_back'];

/** Rollouts the Rollouts page shows at a time: the running ones and the recent past at a glance. */
export const ROLLOUTS_PAGE = 50;

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
 * The API path for one page of the Rollouts list: the filters go to the server, so a filter
 * finds a rollout however old it is, and `before` pages past the newest ones.
 *
 * Examples
 *   rolloutsPath({ artifact: 'features', state: 'active', before: '' }, 50)
 *   // '/v1/rollouts?limit=50&artifact=features&status=running%2Cpaused%2Crolling_back'
 */
export function rolloutsPath(f: RolloutFilter, limit: number): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (f.artifact !== '') q.set('artifact', f.artifact);
  if (f.state !== '') q.set('status', f.state === 'active' ? ACTIVE.join(',') : f.state);
  if (f.before !== '') q.set('before', f.before);
  return `/v1/rollouts?${q}`;
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
