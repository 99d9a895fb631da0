import type { RolloutState } from '../rollout/types.ts';

/**
 * What one node should run, derived from persisted state only: the artifact's current
 * version, unless an active rollout has assigned the node its new version. Because it is
 * derived and never stored per node, a control plane killed at any point comes back with
 * a desired state that matches its last committed transition.
 */
export function desiredVersion(currentVersion: string | null, active: RolloutState | undefined, assigned: ReadonlySet<string> | undefined, nodeId: string): string | null {
  if (!active || !assigned) return currentVersion;
  if ((active.status === 'running' || active.status === 'paused') && assigned.has(nodeId)) return active.to_version;
  return currentVersion;
}
