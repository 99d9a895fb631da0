import type { NumberBounds, SourceEntry } from '@failsmall/core';
import type { Declared } from './parse-declared.ts';
import { readScalarMap } from './parse-parts.ts';
import type { Bypass, RequestMix, ScenarioAlert, ScheduledSurge } from './types.ts';

/**
 * Traffic that is not an incident's cause (the request mix, a scheduled surge, clients
 * bypassing a failed CDN) and alerts that fire on their own. Each reader reports its own
 * errors and returns undefined.
 */

const MIX_KEYS = ['method_entropy', 'path_entropy', 'ua_entropy', 'expensive_share', 'cost_ms'] as const;
const BYPASS_KEYS = ['rate', 'never_seen', 'entropy_shift'] as const;
const SCHEDULE_KEYS = ['at', 'until', 'rate', 'ramp'] as const;
const ALERT_KEYS = ['at', 'name', 'labels'] as const;
/** A rate at full strength, × the baseline: above 1 (it adds requests). */
export const RATE = { min: 1, exclusiveMin: true, max: 1000 } as const;
const RATE_HINT = 'the request rate at full strength, × the baseline (above 1), e.g. rate: 2.5';
const BITS: NumberBounds = { min: 0, max: 32 };

/** A request mix; every key defaults to `usual` (the defaults for the baseline, the baseline's for an event's traffic). */
export function readMix(d: Declared, e: SourceEntry, usual: RequestMix): RequestMix | undefined {
  const map = d.f.map(e, 'e.g. mix: { path_entropy: 0.5, expensive_share: 0.9, cost_ms: 120 }');
  if (!map) return undefined;
  const entries = d.src.entries(map, e.path);
  d.src.checkKeys(entries, MIX_KEYS, 'mix');
  const method = d.optional(entries, 'method_entropy', (x) => d.f.number(x, BITS), usual.method_entropy_bits);
  const path = d.optional(entries, 'path_entropy', (x) => d.f.number(x, BITS), usual.path_entropy_bits);
  const ua = d.optional(entries, 'ua_entropy', (x) => d.f.number(x, BITS), usual.ua_entropy_bits);
  const expensive = d.optional(entries, 'expensive_share', (x) => d.f.ratio(x), usual.expensive_share);
  const cost = d.optional(entries, 'cost_ms', (x) => d.f.number(x, { min: 0, exclusiveMin: true, max: 600_000 }), usual.cost_ms);
  if (method === undefined || path === undefined || ua === undefined || expensive === undefined || cost === undefined) return undefined;
  return { method_entropy_bits: method, path_entropy_bits: path, ua_entropy_bits: ua, expensive_share: expensive, cost_ms: cost };
}

export function readBypass(d: Declared, e: SourceEntry): Bypass | undefined {
  const map = d.f.map(e, 'e.g. bypass: { rate: 1.5, never_seen: 0.7, entropy_shift: 3 }');
  if (!map) return undefined;
  const entries = d.src.entries(map, e.path);
  d.src.checkKeys(entries, BYPASS_KEYS, 'bypass');
  const rE = d.f.require(entries, 'rate', map, e.path, RATE_HINT);
  const rate = rE ? d.number(rE, RATE, RATE_HINT) : undefined;
  const fresh = d.optional(entries, 'never_seen', (x) => d.f.ratio(x), 0.7);
  const shift = d.optional(entries, 'entropy_shift', (x) => d.f.number(x, { min: -32, max: 32 }), 3);
  if (rate === undefined || fresh === undefined || shift === undefined) return undefined;
  return { rate, never_seen: fresh, entropy_shift_bits: shift };
}

export function readSchedule(d: Declared, e: SourceEntry): ScheduledSurge[] | undefined {
  return d.f.mappings<ScheduledSurge>(e, { noun: 'a scheduled surge', example: '[ { at: 10m, until: 40m, rate: 2.5, ramp: 5m } ]', keys: SCHEDULE_KEYS }, (entries, node, path) => {
    const at = d.at(entries, node, path);
    const until = d.until(entries, at);
    const rE = d.f.require(entries, 'rate', node, path, RATE_HINT);
    const rate = rE ? d.number(rE, RATE, RATE_HINT) : undefined;
    const ramp = d.optional(entries, 'ramp', (x) => d.f.duration(x, { zeroOk: true }), 0);
    if (at === undefined || until === undefined || rate === undefined || ramp === undefined) return undefined;
    return { at_ms: at, until_ms: until, ramp_ms: ramp, rate };
  });
}

export function readAlerts(d: Declared, e: SourceEntry): ScenarioAlert[] | undefined {
  return d.f.mappings<ScenarioAlert>(e, { noun: 'an alert', example: '[ { at: 6m, name: SyntheticCheckoutFailed, labels: { team: web } } ]', keys: ALERT_KEYS }, (entries, node, path) => {
    const at = d.at(entries, node, path);
    const nE = d.f.require(entries, 'name', node, path, 'e.g. name: SyntheticCheckoutFailed');
    const name = nE ? d.f.scalarText(nE, { nonEmpty: true }) : undefined;
    const labels = d.optional(entries, 'labels', (x) => readLabels(d, x), {});
    if (at === undefined || name === undefined || labels === undefined) return undefined;
    return { at_ms: at, name, labels };
  });
}

function readLabels(d: Declared, e: SourceEntry): Record<string, string> | undefined {
  const words = readScalarMap(d, e, 'e.g. labels: { team: web, source: customer }');
  return words && Object.fromEntries(Object.entries(words).map(([k, v]) => [k, String(v)]));
}
