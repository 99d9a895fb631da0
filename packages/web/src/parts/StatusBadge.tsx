import type { RolloutStatus } from '../api/types.ts';
import { statusLabel } from '../view/rollout-list.ts';

const ICON: Record<RolloutStatus, string> = { running: '▶', paused: '‖', rolling_back: '↺', completed: '✓', rolled_back: '✗', aborted: '✗' };

/** A rollout's state: a sign, the words and a colour; the words alone carry it. */
export function StatusBadge({ status }: { status: RolloutStatus }) {
  return <span className={`badge status-${status}`} data-status={status}><span aria-hidden="true">{ICON[status]} </span>{statusLabel(status)}</span>;
}
