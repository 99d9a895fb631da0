import type { RolloutEvent, RolloutState } from '@failsmall/core';

/**
 * Seconds from a node's desired version being written to the node reporting that it serves it,
 * read from a `node.load_reported` event and the artifact's active rollout. The desired version
 * is written when the current stage starts (the cohort's new nodes get `to_version`) or when a
 * rollback starts (every assigned node gets `from_version`). A node of an earlier stage that
 * reports only now is timed from the current stage's start: rare, and it can only understate.
 * `undefined` when the report is not a node taking up the version it was given.
 *
 * Examples
 * ```ts
 * propagationLag(running, { type: 'node.load_reported', at: 2_500, rollout_id: null, payload: { node: 'n1', artifact: 'a', ok: true, serving: 'v2' } })
 * // 2.5 when `running` (to_version v2, assigned n1) started its stage at 0
 * ```
 */
export function propagationLag(rollout: RolloutState | undefined, e: RolloutEvent): number | undefined {
  if (rollout === undefined || e.type !== 'node.load_reported' || e.payload.ok !== true) return undefined;
  const node = e.payload.node;
  if (typeof node !== 'string' || e.payload.artifact !== rollout.artifact || !rollout.assigned.includes(node)) return undefined;
  const since = rollout.status === 'rolling_back'
    ? (e.payload.serving === rollout.from_version ? rollout.rollback_started_at : null)
    : (e.payload.serving === rollout.to_version ? rollout.stage_started_at : null);
  if (since === null || e.at < since) return undefined;
  return (e.at - since) / 1000;
}
