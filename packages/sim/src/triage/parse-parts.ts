import { isMap, isScalar } from 'yaml';
import { describeNode, valueNode, type ComponentStatus, type SourceEntry, type StatusIndicator } from '@failsmall/core';
import type { Declared } from './parse-declared.ts';
import type { ErrorsEffect, Regeneration, Stage, Strain } from './types.ts';

/**
 * The parts an event may carry (its effects, its stages and regenerations, a status page's
 * report), each read from its entry; every reader reports its own errors and returns undefined.
 */

const ERRORS_KEYS = ['modules', 'ratio', 'delay'] as const;
const STRAIN_KEYS = ['dependency', 'latency', 'errors'] as const;
const REGENERATE_KEYS = ['every', 'bad_share'] as const;
const SHARE_RAMP_KEYS = ['from', 'to', 'over'] as const;
const STAGE_KEYS = ['after', 'share'] as const;
const STATUS_KEYS = ['after', 'indicator', 'components'] as const;
/** Statuspage's indicators, `maintenance` while a scheduled maintenance is in progress. */
export const INDICATORS: readonly StatusIndicator[] = ['none', 'minor', 'major', 'critical', 'maintenance'];
const COMPONENT_STATUSES: readonly ComponentStatus[] = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'];

export function readErrors(d: Declared, e: SourceEntry): ErrorsEffect | undefined {
  const map = d.f.map(e, 'e.g. errors: { modules: [ proxy ], ratio: 0.3 }');
  if (!map) return undefined;
  const entries = d.src.entries(map, e.path);
  d.src.checkKeys(entries, ERRORS_KEYS, 'errors');
  const mE = d.f.require(entries, 'modules', map, e.path, `e.g. modules: [ ${d.modules[0] ?? 'proxy'} ]`);
  const modules = mE ? d.moduleList(mE) : undefined;
  const rE = d.f.require(entries, 'ratio', map, e.path, 'the extra 5xx ratio at full strength, e.g. ratio: 0.3');
  const ratio = rE ? d.f.number(rE, { min: 0, max: 1 }) : undefined;
  const dE = entries.find((x) => x.key === 'delay');
  const delay = dE ? d.f.duration(dE, { zeroOk: true }) : 0;
  if (!modules || ratio === undefined || delay === undefined) return undefined;
  return { modules, ratio, delay_ms: delay };
}

export function readStrains(d: Declared, e: SourceEntry): Strain[] | undefined {
  return d.f.mappings<Strain>(e, { noun: 'a strain', example: '[ { dependency: origin-db, latency: 2.5, errors: 0.02 } ]', keys: STRAIN_KEYS }, (entries, node, path) => {
    const dE = d.f.require(entries, 'dependency', node, path, 'e.g. dependency: origin-db');
    const dep = dE ? d.dependency(dE, null) : undefined;
    const lE = entries.find((x) => x.key === 'latency');
    const latency = lE ? d.f.number(lE, { min: 0, exclusiveMin: true, max: 1000 }) : 1;
    const xE = entries.find((x) => x.key === 'errors');
    const errors = xE ? d.f.number(xE, { min: 0, max: 1 }) : 0;
    return dep === undefined || latency === undefined || errors === undefined ? undefined : { dependency: dep, latency, errors };
  });
}

export function readRegenerate(d: Declared, e: SourceEntry): Regeneration | undefined {
  const map = d.f.map(e, 'e.g. regenerate: { every: 5m, bad_share: { from: 0.5, to: 1, over: 30m } }');
  if (!map) return undefined;
  const entries = d.src.entries(map, e.path);
  d.src.checkKeys(entries, REGENERATE_KEYS, 'regenerate');
  const evE = d.f.require(entries, 'every', map, e.path, 'e.g. every: 5m');
  const every = evE ? d.f.duration(evE) : undefined;
  const bE = d.f.require(entries, 'bad_share', map, e.path, 'the chance that one run produces the bad content: bad_share: 0.5, or { from: 0.5, to: 1, over: 30m }');
  let share: Regeneration['bad_share'] | undefined;
  if (bE && isMap(bE.value)) {
    const se = d.src.entries(bE.value, bE.path);
    d.src.checkKeys(se, SHARE_RAMP_KEYS, 'bad_share');
    const fE = d.f.require(se, 'from', bE.value, bE.path, 'e.g. from: 0.5');
    const tE = d.f.require(se, 'to', bE.value, bE.path, 'e.g. to: 1');
    const oE = d.f.require(se, 'over', bE.value, bE.path, 'e.g. over: 30m');
    const from = fE ? d.f.ratio(fE) : undefined;
    const to = tE ? d.f.ratio(tE) : undefined;
    const over = oE ? d.f.duration(oE) : undefined;
    share = from === undefined || to === undefined || over === undefined ? undefined : { from, to, over_ms: over };
  } else if (bE) {
    const r = d.f.ratio(bE);
    share = r === undefined ? undefined : { from: r, to: r, over_ms: 1 };
  }
  if (every === undefined || !share) return undefined;
  return { every_ms: every, bad_share: share };
}

export function readStages(d: Declared, e: SourceEntry): Stage[] | undefined {
  return d.f.mappings<Stage>(e, { noun: 'a stage', example: '[ { after: 0s, share: 0.01 }, { after: 10m, share: 0.1 } ]', keys: STAGE_KEYS, nonEmpty: true }, (entries, node, path, done) => {
    const aE = d.f.require(entries, 'after', node, path, 'time after the rollout started, e.g. after: 0s');
    const sE = d.f.require(entries, 'share', node, path, 'share of nodes (or users), e.g. share: 0.01 or "1%"');
    const after = aE ? d.f.duration(aE, { zeroOk: true }) : undefined;
    const share = sE ? d.f.ratio(sE) : undefined;
    if (after === undefined || share === undefined) return undefined;
    const prev = done[done.length - 1];
    if (prev && (after <= prev.after_ms || share < prev.share) && aE) {
      d.src.error('BAD_VALUE', 'stages must come later and cover at least as many nodes as the one before', aE.value, path, 'list them in order: { after: 0s, share: 0.01 }, { after: 10m, share: 0.1 }');
      return undefined;
    }
    return { after_ms: after, share };
  });
}

export function readStatus(d: Declared, e: SourceEntry): { after_ms: number; indicator: StatusIndicator; components: { name: string; status: ComponentStatus }[] } | undefined {
  const map = d.f.map(e, 'e.g. status: { after: 8m, indicator: major, components: { API: major_outage } }');
  if (!map) return undefined;
  const entries = d.src.entries(map, e.path);
  d.src.checkKeys(entries, STATUS_KEYS, 'status');
  const aE = entries.find((x) => x.key === 'after');
  const after = aE ? d.f.duration(aE, { zeroOk: true }) : 0;
  const iE = entries.find((x) => x.key === 'indicator');
  const indicator = iE ? d.f.oneOf(iE, INDICATORS, 'indicators') : 'major';
  const cE = entries.find((x) => x.key === 'components');
  const components = cE ? readComponents(d, cE) : [];
  if (after === undefined || indicator === undefined || !components) return undefined;
  return { after_ms: after, indicator, components };
}

export function readComponents(d: Declared, e: SourceEntry): { name: string; status: ComponentStatus }[] | undefined {
  const map = d.f.map(e, 'e.g. components: { API: major_outage }');
  if (!map) return undefined;
  const out: { name: string; status: ComponentStatus }[] = [];
  let ok = true;
  for (const c of d.src.entries(map, e.path)) {
    const status = d.f.oneOf(c, COMPONENT_STATUSES, 'component statuses');
    if (status === undefined) { ok = false; continue; }
    out.push({ name: c.key, status });
  }
  return ok ? out : undefined;
}

export function readDetails(d: Declared, e: SourceEntry): Record<string, string | number | boolean> | undefined {
  return readScalarMap(d, e, 'e.g. custom_details: { build: 4412, author: ci }');
}

/** A mapping of words: strings, numbers or booleans (custom details, alert labels). */
export function readScalarMap(d: Declared, e: SourceEntry, example: string): Record<string, string | number | boolean> | undefined {
  const map = d.f.map(e, example);
  if (!map) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const x of d.src.entries(map, e.path)) {
    const v = x.value;
    if (isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number' || typeof v.value === 'boolean')) out[x.key] = v.value;
    else {
      d.src.error('WRONG_TYPE', `${e.key}.${x.key} must be a string, number or boolean, got ${describeNode(v)}`, valueNode(x), x.path);
      return undefined;
    }
  }
  return out;
}
