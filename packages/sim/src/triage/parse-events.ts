import type { YAMLMap } from 'yaml';
import { valueNode, type NumberBounds, type SourceEntry, type YamlSource } from '@failsmall/core';
import { CHANGE_RECORD_KEYS, readChangeRecord, readEnded } from './parse-change.ts';
import type { Declared } from './parse-declared.ts';
import { INDICATORS, readComponents, readDetails, readErrors, readRegenerate, readStages, readStatus, readStrains } from './parse-parts.ts';
import { RATE, readBypass, readMix } from './parse-traffic.ts';
import type { Bypass, RequestMix, RolloutEndState, TriageEvent } from './types.ts';

export const EVENT_TYPES = ['rollout', 'external_change', 'ddos', 'flash_crowd', 'dependency_degradation', 'vendor_outage', 'status_page_down', 'vendor_incident', 'traffic_drop'] as const;
type EventType = (typeof EVENT_TYPES)[number];
/** Keys beside the type, on every event: when, how fast, and what it does besides its type. */
const COMMON_EVENT_KEYS = ['at', 'until', 'ramp', 'errors', 'strains', 'drop', 'retries', 'bypass'] as const;
const EXTRA_EVENT_KEYS: Readonly<Record<EventType, readonly string[]>> = {
  rollout: ['stages', 'regenerate', 'ended'], external_change: ['stages', 'regenerate'], ddos: [], flash_crowd: [], dependency_degradation: [], vendor_outage: [],
  status_page_down: [], vendor_incident: [], traffic_drop: [],
};
/** Keys inside the type's mapping: what the event is, and (for changes) how it was recorded. */
const TYPE_KEYS: Readonly<Record<EventType, readonly string[]>> = {
  rollout: ['id', 'artifact', 'module', 'kind', 'version', 'from', ...CHANGE_RECORD_KEYS],
  external_change: ['id', 'summary', 'source', 'services', 'links', 'custom_details', ...CHANGE_RECORD_KEYS],
  ddos: ['rate', 'source_entropy', 'never_seen', 'overlap', 'mix'],
  flash_crowd: ['rate', 'entropy_shift', 'never_seen', 'mix'],
  dependency_degradation: ['dependency', 'latency', 'errors'],
  vendor_outage: ['vendor', 'latency', 'errors', 'status'],
  status_page_down: ['vendor'],
  vendor_incident: ['vendor', 'indicator', 'components'],
  traffic_drop: ['share'],
};
const ARTIFACT_KINDS = ['code', 'config', 'feature-file'] as const;
const BYPASS_HINT = 'bypass is for a dependency in front of us (a CDN, a scrubber, an edge proxy): declare it under dependencies: with in_request_path: true';

/**
 * Reads the `events:` list. Each event has exactly one type; its keys are checked against
 * the type's, and a key written at the wrong level (inside the type's mapping or beside
 * it) is named as such. Every reader reports its own errors and returns undefined.
 */
export class EventReader {
  readonly #d: Declared;
  /** What the usual clients ask for: the default mix of an attack's or a crowd's requests. */
  readonly #usualMix: RequestMix;

  constructor(d: Declared, usualMix: RequestMix) {
    this.#d = d;
    this.#usualMix = usualMix;
  }

  events(e: SourceEntry): TriageEvent[] | undefined {
    const ids = new Set<string>();
    const events = this.#d.f.mappings<TriageEvent>(e, { noun: 'an event', example: '- at: 5m\n    ddos: { rate: 6, source_entropy: 4, never_seen: 0.8 }' }, (_entries, node, path) => {
      const ev = this.#event(node, path);
      if (!ev || (ev.type !== 'rollout' && ev.type !== 'external_change')) return ev;
      if (ids.has(ev.id)) {
        this.#d.src.error('DUPLICATE_NAME', `id "${ev.id}" is used by two events`, node, path, 'give every rollout and change its own id');
        return undefined;
      }
      ids.add(ev.id);
      return ev;
    });
    if (events && events.length === 0) this.#d.src.error('BAD_VALUE', 'events is empty: a triage scenario needs an incident', valueNode(e), e.path, 'add at least one event');
    return events;
  }

  #event(map: YAMLMap, path: string): TriageEvent | undefined {
    const d = this.#d;
    const { src, f } = d;
    const entries = src.entries(map, path);
    const types = entries.filter((x) => (EVENT_TYPES as readonly string[]).includes(x.key));
    if (types.length !== 1) {
      src.error('EVENT_TYPE', types.length === 0 ? 'the event has no type' : `the event has ${types.length} types (${types.map((t) => t.key).join(', ')})`, types[1]?.keyNode ?? map, path,
        `give exactly one of ${EVENT_TYPES.join(', ')}; two things at once are two events`);
      return undefined;
    }
    const typeE = types[0];
    if (!typeE) return undefined;
    const type = typeE.key as EventType;
    const eventKeys = [...COMMON_EVENT_KEYS, ...EXTRA_EVENT_KEYS[type], type];
    checkKeysPlaced(src, entries, eventKeys, `a ${type} event`, TYPE_KEYS[type], (k) => `${k} belongs inside the type's mapping: ${type}: { …, ${k}: … }`);
    const at = d.at(entries, map, path);
    const until = d.until(entries, at);
    const ramp = d.optional(entries, 'ramp', (x) => f.duration(x, { zeroOk: true }), 0);
    const errors = d.optional(entries, 'errors', (x) => readErrors(d, x), null);
    const strains = d.optional(entries, 'strains', (x) => readStrains(d, x), []);
    const drop = this.#drop(entries, type);
    const retries = d.optional<number | null>(entries, 'retries', (x) => d.number(x, { min: 1, max: 10 }, 'the retry factor: 2.5 sends each failed request 2.5 times in all; 1 means no retries'), null);
    const bypassE = entries.find((x) => x.key === 'bypass');
    const bypass = bypassE ? readBypass(d, bypassE) : null;
    const body = f.map(typeE, `e.g. ${type}: { ${TYPE_KEYS[type].slice(0, 3).map((k) => `${k}: …`).join(', ')} }`);
    if (!body) return undefined;
    const be = src.entries(body, typeE.path);
    checkKeysPlaced(src, be, TYPE_KEYS[type], type, eventKeys.filter((k) => k !== type), (k) => `${k} is a key of the event: write it beside ${type}:, at the level of at:`);
    const line = src.position(map)?.line ?? 0;
    if (bypassE && type !== 'dependency_degradation' && type !== 'vendor_outage') {
      src.error('BAD_VALUE', `bypass applies to a failing dependency in the request path, not to a ${type} event`, bypassE.keyNode, bypassE.path, `put it on a dependency_degradation or vendor_outage event; ${BYPASS_HINT}`);
      return undefined;
    }
    if (at === undefined || until === undefined || ramp === undefined || errors === undefined || !strains || drop === undefined || retries === undefined || bypass === undefined) return undefined;
    const base = { at_ms: at, until_ms: until, ramp_ms: ramp, errors, strains, drop, retries, bypass, line };
    const regenE = entries.find((x) => x.key === 'regenerate');
    const regenerate = regenE ? readRegenerate(d, regenE) : null;
    if (regenerate === undefined) return undefined;
    const stagesE = entries.find((x) => x.key === 'stages');
    if (stagesE && regenE) src.error('BAD_VALUE', 'a regenerated artifact is pushed to every node each time; stages do not apply', stagesE.keyNode, stagesE.path, 'remove stages: or regenerate:');
    const str = (k: string, hint: string): string | undefined => { const x = f.require(be, k, body, typeE.path, hint); return x ? f.scalarText(x) : undefined; };
    const num = (k: string, o: NumberBounds, dflt?: number): number | undefined => {
      const x = dflt === undefined ? f.require(be, k, body, typeE.path, `e.g. ${k}: ${o.min ?? 1}`) : be.find((y) => y.key === k);
      return x ? f.number(x, o) : dflt;
    };
    const mix = (): RequestMix | undefined => d.optional(be, 'mix', (x) => readMix(d, x, this.#usualMix), this.#usualMix);
    switch (type) {
      case 'rollout': {
        const id = str('id', 'e.g. id: r-2041');
        const artifact = str('artifact', 'e.g. artifact: api-server');
        const moduleE = f.require(be, 'module', body, typeE.path, `one of ${d.modules.join(', ')}`);
        const module = moduleE ? d.module(moduleE) : undefined;
        const kindE = f.require(be, 'kind', body, typeE.path, `one of ${ARTIFACT_KINDS.join(', ')}`);
        const kind = kindE ? f.oneOf(kindE, ARTIFACT_KINDS, 'kinds') : undefined;
        const version = str('version', 'e.g. version: v2041');
        const from = d.optional<string | null>(be, 'from', (x) => f.scalarText(x), null);
        const stages = stagesE ? readStages(d, stagesE) : [{ after_ms: 0, share: 1 }];
        const record = readChangeRecord(d, be);
        const ended = this.#ended(entries, at);
        if (id === undefined || artifact === undefined || module === undefined || kind === undefined || version === undefined || from === undefined || !stages || !record || ended === undefined) return undefined;
        // Rolled back or aborted: the version leaves the nodes then, as with until:.
        const off = ended !== null && (ended.state === 'rolled_back' || ended.state === 'aborted') ? ended.at_ms : null;
        return { ...base, until_ms: off, type, id, artifact, module, kind, version, from, stages, regenerate, ended, ...record };
      }
      case 'external_change': {
        const id = d.optional(be, 'id', (x) => f.scalarText(x), `change-${line}`);
        const summary = str('summary', 'what changed, as the change event says it: e.g. summary: "waf: disable test rule 4932 (kill switch)"');
        const source = d.optional<string | null>(be, 'source', (x) => f.scalarText(x), null);
        const services = d.optional(be, 'services', (x) => f.strings(x, 'e.g. services: [ waf ]'), []);
        const links = d.optional(be, 'links', (x) => f.strings(x, 'e.g. links: [ "https://ci.example/builds/4412" ]'), []);
        const details = d.optional(be, 'custom_details', (x) => readDetails(d, x), {});
        const stages = stagesE ? readStages(d, stagesE) : null;
        const record = readChangeRecord(d, be);
        if (id === undefined || summary === undefined || source === undefined || !services || !links || !details || stages === undefined || !record) return undefined;
        return { ...base, type, id, summary, source, services, links: links.map((href) => ({ href })), custom_details: details, regenerate, stages, ...record };
      }
      case 'ddos': {
        const rate = num('rate', RATE);
        const entropy = num('source_entropy', { min: 0, max: 32 });
        const fresh = num('never_seen', { min: 0, max: 1 });
        const overlap = d.optional(be, 'overlap', (x) => f.ratio(x, { hint: 'the share of the attack\'s requests from prefixes real clients also use, e.g. overlap: 0.6' }), 0);
        const m = mix();
        if (rate === undefined || entropy === undefined || fresh === undefined || overlap === undefined || !m) return undefined;
        return { ...base, type, rate, source_entropy_bits: entropy, never_seen: fresh, overlap, mix: m };
      }
      case 'flash_crowd': {
        const rate = num('rate', RATE);
        const shift = num('entropy_shift', { min: -32, max: 32 }, 0);
        const fresh = num('never_seen', { min: 0, max: 1 }, 0.1);
        const m = mix();
        if (rate === undefined || shift === undefined || fresh === undefined || !m) return undefined;
        return { ...base, type, rate, entropy_shift_bits: shift, never_seen: fresh, mix: m };
      }
      case 'traffic_drop': {
        const sE = f.require(be, 'share', body, typeE.path, 'the share of requests that no longer reach us, e.g. share: 0.4');
        const share = sE ? f.ratio(sE, { exclusiveMin: true, hint: 'a share of the requests, more than 0 and at most 1: share: 0.4 or "40%"' }) : undefined;
        return share === undefined ? undefined : { ...base, type, share };
      }
      case 'dependency_degradation': {
        const depE = f.require(be, 'dependency', body, typeE.path, `one of ${d.dependencies.filter((x) => x.vendor === null).map((x) => x.name).join(', ')}`);
        const dep = depE ? d.dependency(depE, false) : undefined;
        const latency = num('latency', { min: 0, exclusiveMin: true, max: 1000 }, 1);
        const err = num('errors', { min: 0, max: 1 }, 0);
        if (dep === undefined || latency === undefined || err === undefined || !this.#inRequestPath(bypassE, bypass, [dep], `dependency "${dep}" is not in the request path`)) return undefined;
        return { ...base, type, dependency: dep, latency, error_ratio: err };
      }
      case 'vendor_outage': {
        const vendorE = f.require(be, 'vendor', body, typeE.path, 'e.g. vendor: stripe');
        const vendor = vendorE ? d.vendor(vendorE, true) : undefined;
        const latency = num('latency', { min: 0, exclusiveMin: true, max: 1000 }, 1);
        const err = num('errors', { min: 0, max: 1 }, 0);
        const status = d.optional(be, 'status', (x) => readStatus(d, x), null);
        if (vendor === undefined || latency === undefined || err === undefined || status === undefined) return undefined;
        if (!this.#inRequestPath(bypassE, bypass, d.dependencies.filter((x) => x.vendor === vendor).map((x) => x.name), `no API of vendor "${vendor}" is in the request path`)) return undefined;
        return { ...base, type, vendor, latency, error_ratio: err, status };
      }
      case 'status_page_down': {
        const vendorE = f.require(be, 'vendor', body, typeE.path, 'a vendor declared under vendors:');
        const vendor = vendorE ? d.vendor(vendorE, false) : undefined;
        return vendor === undefined ? undefined : { ...base, type, vendor };
      }
      case 'vendor_incident': {
        const vendorE = f.require(be, 'vendor', body, typeE.path, 'a vendor declared under vendors:');
        const vendor = vendorE ? d.vendor(vendorE, false) : undefined;
        const indicator = d.optional(be, 'indicator', (x) => f.oneOf(x, INDICATORS, 'indicators'), 'minor');
        const components = d.optional(be, 'components', (x) => readComponents(d, x), []);
        if (vendor === undefined || indicator === undefined || !components) return undefined;
        return { ...base, type, vendor, indicator, components };
      }
    }
  }

  /** `drop:` on any event but a traffic_drop, whose `share` already says it. */
  #drop(entries: readonly SourceEntry[], type: EventType): number | undefined {
    const e = entries.find((x) => x.key === 'drop');
    if (!e) return 0;
    if (type === 'traffic_drop') {
      this.#d.src.error('BAD_VALUE', 'a traffic_drop already removes its share of requests', e.keyNode, e.path, 'remove drop:, or set traffic_drop: { share }');
      return undefined;
    }
    return this.#d.f.ratio(e, { hint: 'the share of requests the event also keeps from reaching us, e.g. drop: 0.3' });
  }

  /** A rollout's end: `ended:`, or `until:` alone (rolled back then); never both. */
  #ended(entries: readonly SourceEntry[], at: number | undefined): { at_ms: number; state: RolloutEndState } | null | undefined {
    const endedE = entries.find((x) => x.key === 'ended');
    const untilE = entries.find((x) => x.key === 'until');
    if (endedE && untilE) {
      this.#d.src.error('BAD_VALUE', 'a rollout has until: or ended:, not both', endedE.keyNode, endedE.path, 'until: 20m is ended: { after: …, state: rolled_back }; keep one');
      return undefined;
    }
    if (endedE) return at === undefined ? undefined : readEnded(this.#d, endedE, at);
    const until = untilE ? this.#d.f.duration(untilE) : undefined;
    return until === undefined ? null : { at_ms: until, state: 'rolled_back' };
  }

  /** Bypass needs one of `deps` to sit in front of us; false (and an error at bypass:) when none does. */
  #inRequestPath(bypassE: SourceEntry | undefined, bypass: Bypass | null, deps: readonly string[], problem: string): boolean {
    if (!bypassE || bypass === null) return true;
    if (this.#d.dependencies.some((x) => deps.includes(x.name) && x.in_request_path)) return true;
    this.#d.src.error('BAD_VALUE', `bypass: ${problem}`, bypassE.keyNode, bypassE.path, BYPASS_HINT);
    return false;
  }
}

/**
 * `checkKeys`, but a key that belongs at the other level (inside the type's mapping, or beside
 * it) is named with where to put it instead of a did-you-mean.
 */
function checkKeysPlaced(src: YamlSource, entries: readonly SourceEntry[], allowed: readonly string[], what: string, elsewhere: readonly string[], hint: (key: string) => string): void {
  for (const e of entries) {
    if (!allowed.includes(e.key) && elsewhere.includes(e.key)) src.error('UNKNOWN_KEY', `unknown key "${e.key}" in ${what}`, e.keyNode, e.path, hint(e.key));
  }
  src.checkKeys(entries.filter((e) => !elsewhere.includes(e.key) || allowed.includes(e.key)), allowed, what);
}
