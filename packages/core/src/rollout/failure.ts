import type { Verdict } from '../gates/types.ts';
import type { RolloutEvent } from './types.ts';

/** A verdict, read back from an event's payload (plain JSON), that failed. */
export function isFailedVerdict(v: unknown): v is Verdict {
  return typeof v === 'object' && v !== null && (v as { status?: unknown }).status === 'fail';
}

/**
 * The event of a failed rollout: a gate rolled it back (it failed, or stayed inconclusive) or
 * paused it. An operator's abort is not one: a person stopped it, no gate did.
 */
export function isRolloutFailure(e: RolloutEvent): boolean {
  const p = e.payload;
  return (e.type === 'rollout.rolling_back' && (p.cause === 'gate' || p.cause === 'inconclusive')) || (e.type === 'rollout.paused' && isFailedVerdict(p.verdict));
}
