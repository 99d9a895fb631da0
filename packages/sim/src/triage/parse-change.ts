import { isScalar } from 'yaml';
import { parseDuration, type ChangeTouches, type SourceEntry } from '@failsmall/core';
import type { Declared } from './parse-declared.ts';
import { ROLLOUT_END_STATES, type ChangeRecord, type RolloutEndState } from './types.ts';

/**
 * How a rollout or change event was recorded (what it touched, how late and how skewed its
 * record is) and how a rollout ended. Each reader reports its own errors and returns undefined.
 */

const TOUCHES_KEYS = ['services', 'dependencies', 'regions'] as const;
const ENDED_KEYS = ['after', 'state'] as const;
export const CHANGE_RECORD_KEYS = ['touches', 'recorded_after', 'clock_skew'] as const;

/** The record keys of a rollout's or change's body; null where one failed. */
export function readChangeRecord(d: Declared, body: readonly SourceEntry[]): ChangeRecord | undefined {
  const touches = d.optional<ChangeTouches | null>(body, 'touches', (e) => readTouches(d, e), null);
  const recorded = d.optional<number | null>(body, 'recorded_after', (e) => d.f.duration(e), null);
  const skew = d.optional(body, 'clock_skew', (e) => readSignedDuration(d, e), 0);
  if (touches === undefined || recorded === undefined || skew === undefined) return undefined;
  return { touches, recorded_after_ms: recorded, clock_skew_ms: skew };
}

function readTouches(d: Declared, e: SourceEntry): ChangeTouches | undefined {
  const map = d.f.map(e, 'e.g. touches: { dependencies: [ orders-db ], regions: [ eu-west-1 ] }');
  if (!map) return undefined;
  const entries = d.src.entries(map, e.path);
  d.src.checkKeys(entries, TOUCHES_KEYS, 'touches');
  const services = d.optional(entries, 'services', (x) => d.f.strings(x, 'e.g. services: [ billing ]'), []);
  const dependencies = d.optional(entries, 'dependencies', (x) => d.dependencyList(x), []);
  const regions = d.optional(entries, 'regions', (x) => d.f.strings(x, 'e.g. regions: [ eu-west-1 ]'), []);
  if (!services || !dependencies || !regions) return undefined;
  // Only what the change event says: an empty list is not a claim.
  return { ...(services.length > 0 ? { services } : {}), ...(dependencies.length > 0 ? { dependencies } : {}), ...(regions.length > 0 ? { regions } : {}) };
}

/** A duration that may be negative: `-90s` (recorded early), `2m` or `+2m` (late), `0s`. */
function readSignedDuration(d: Declared, e: SourceEntry): number | undefined {
  const v = e.value;
  const signed = isScalar(v) && typeof v.value === 'string' ? /^\s*([+-])\s*(\S.*)$/.exec(v.value) : null;
  if (!signed || !isScalar(v)) return d.f.duration(e, { zeroOk: true });
  const r = parseDuration(signed[2] ?? '');
  if (r.ok) return signed[1] === '-' ? -r.ms : r.ms;
  d.src.error('BAD_DURATION', `${e.key}: ${r.message}`, v, e.path, 'a duration with a sign and a unit: -90s (recorded 90 s early), 2m (late)');
  return undefined;
}

/** `ended: { after, state }`: when, from the scenario start, the rollout stopped, and how. */
export function readEnded(d: Declared, e: SourceEntry, at: number): { at_ms: number; state: RolloutEndState } | undefined {
  const map = d.f.map(e, 'e.g. ended: { after: 12m, state: rolled_back }');
  if (!map) return undefined;
  const entries = d.src.entries(map, e.path);
  d.src.checkKeys(entries, ENDED_KEYS, 'ended');
  const aE = d.f.require(entries, 'after', map, e.path, 'time after the rollout started, e.g. after: 12m');
  const sE = d.f.require(entries, 'state', map, e.path, `one of ${ROLLOUT_END_STATES.join(', ')}`);
  const after = aE ? d.f.duration(aE) : undefined;
  const state = sE ? d.f.oneOf(sE, ROLLOUT_END_STATES, 'states') : undefined;
  if (after === undefined || state === undefined) return undefined;
  return { at_ms: at + after, state };
}
