import type { FleetNode } from '@failsmall/core';
import { fleetFor } from '../controller/observations.ts';
import { ApiError } from '../http/errors.ts';
import type { NodeRecord } from '../store/types.ts';

/**
 * A rollout that cannot start answers 409 with the engine's reason. For EMPTY_COHORT the engine
 * only sees the fleet it was given, so it blames missing nodes; but rollouts leave nodes pinned by
 * break-glass alone, and when those pins are what emptied the first stage, "register nodes first"
 * sends the operator the wrong way. Here the stage is tried again with the pinned nodes in: if
 * that selects any, the pins are named, with how to lift them.
 */
export function startRefused(
  error: { code: string; message: string; hint: string },
  o: { nodes: readonly NodeRecord[]; module: string; artifact: string; selects: (fleet: readonly FleetNode[]) => boolean },
): ApiError {
  if (error.code !== 'EMPTY_COHORT') return new ApiError(409, error.code, error.message, error.hint);
  const pinned = fleetFor(o.nodes, o.module, o.artifact, { pinned: 'only' });
  if (pinned.length === 0 || !o.selects([...fleetFor(o.nodes, o.module, o.artifact), ...pinned])) {
    return new ApiError(409, error.code, error.message, error.hint);
  }
  const names = pinned.slice(0, 5).map((n) => n.id).join(', ') + (pinned.length > 5 ? `, … (${pinned.length} in all)` : '');
  return new ApiError(409, 'EMPTY_COHORT',
    `${error.message.replace(/selects no registered node$/, 'selects no node')}: the nodes it would select are pinned by break-glass on ${o.artifact} (${names}), and rollouts leave pinned nodes alone`,
    `lift the pins once the incident is over: failsmall breakglass unpin ${o.artifact} --inventory FILE --reason TEXT (failsmall nodes shows each pin)`,
    { pinned: pinned.map((n) => n.id) });
}
