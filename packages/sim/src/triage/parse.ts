import { isMap, isScalar } from 'yaml';
import type { YAMLMap } from 'yaml';
import {
  describeNode, didYouMean, FieldReader, guardedParse, parserErrorCodes, sortErrors, TRIAGE_CLASSES, valueNode, YamlSource,
  type ComponentStatus, type NumberBounds, type Result, type SourceEntry, type StatusIndicator, type TriageClass,
} from '@failsmall/core';
import {
  UNMEASURED_SIGNALS,
  type DependencyDecl, type ErrorsEffect, type Regeneration, type Strain, type TrafficBaseline, type TriageEvent, type TriageLabel,
  type TriageScenario, type UnmeasuredSignal, type VendorDecl,
} from './types.ts';

/** Every code a triage scenario file can produce. */
export const TRIAGE_SCENARIO_ERROR_CODES = parserErrorCodes(
  'BAD_DURATION', 'BAD_VALUE', 'BAD_ENUM', 'EVENT_TYPE', 'DUPLICATE_NAME', 'UNKNOWN_MODULE', 'UNKNOWN_DEPENDENCY', 'UNKNOWN_VENDOR', 'UNKNOWN_TARGET',
);

export const TRIAGE_SCENARIO_KEYS = ['name', 'description', 'label', 'seed', 'start', 'duration', 'step', 'propagation', 'fleet', 'baseline', 'modules', 'dependencies', 'vendors', 'unmeasured', 'events'] as const;
const LABEL_KEYS = ['class', 'target'] as const;
const BASELINE_KEYS = ['rps', 'error_ratio', 'entropy_bits', 'never_seen_share', 'noise'] as const;
const DEPENDENCY_KEYS = ['vendor', 'used_by', 'depends_on', 'latency_ms', 'error_ratio'] as const;
const VENDOR_KEYS = ['components'] as const;
export const EVENT_TYPES = ['rollout', 'external_change', 'ddos', 'flash_crowd', 'dependency_degradation', 'vendor_outage', 'status_page_down', 'vendor_incident'] as const;
type EventType = (typeof EVENT_TYPES)[number];
const COMMON_EVENT_KEYS = ['at', 'until', 'ramp', 'errors', 'strains'] as const;
const EXTRA_EVENT_KEYS: Readonly<Record<EventType, readonly string[]>> = {
  rollout: ['stages', 'regenerate'], external_change: ['regenerate'], ddos: [], flash_crowd: [], dependency_degradation: [], vendor_outage: [], status_page_down: [], vendor_incident: [],
};
const TYPE_KEYS: Readonly<Record<EventType, readonly string[]>> = {
  rollout: ['id', 'artifact', 'module', 'kind', 'version', 'from'],
  external_change: ['id', 'summary', 'source', 'services', 'links', 'custom_details'],
  ddos: ['rate', 'source_entropy', 'never_seen'],
  flash_crowd: ['rate', 'entropy_shift', 'never_seen'],
  dependency_degradation: ['dependency', 'latency', 'errors'],
  vendor_outage: ['vendor', 'latency', 'errors', 'status'],
  status_page_down: ['vendor'],
  vendor_incident: ['vendor', 'indicator', 'components'],
};
const ERRORS_KEYS = ['modules', 'ratio', 'delay'] as const;
const STRAIN_KEYS = ['dependency', 'latency', 'errors'] as const;
const REGENERATE_KEYS = ['every', 'bad_share'] as const;
const SHARE_RAMP_KEYS = ['from', 'to', 'over'] as const;
const STAGE_KEYS = ['after', 'share'] as const;
const STATUS_KEYS = ['after', 'indicator', 'components'] as const;
const ARTIFACT_KINDS = ['code', 'config', 'feature-file'] as const;
const INDICATORS: readonly StatusIndicator[] = ['none', 'minor', 'major', 'critical'];
const COMPONENT_STATUSES: readonly ComponentStatus[] = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'];

/** Defaults for every optional key; docs/triage.md lists the same values. */
export const TRIAGE_SCENARIO_DEFAULTS = {
  seed: 1,
  start: '2026-01-01T00:00:00Z',
  step_ms: 10_000,
  propagation_ms: 10_000,
  baseline: { rps: 100_000, error_ratio: 0.0005, entropy_bits: 14, never_seen_share: 0.03, noise: 0.03 },
} as const;

/** Keep one run within a second or so: at most this many steps. */
const MAX_STEPS = 2000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;

/**
 * Parses a labelled triage scenario (docs/triage.md). Never throws: every problem comes
 * back as a `FailsmallError` with its code, file, line, column and a hint, read through
 * the same YAML reader as policies (duplicate keys, undefined aliases and alias bombs are
 * refused the same way).
 *
 * Examples
 *   const r = parseTriageScenario(readFileSync(f, 'utf8'), { file: f });
 *   if (!r.ok) for (const e of r.errors) console.error(formatError(e));
 *   else console.log(evaluateTriageScenario(r.value).correct);
 */
export function parseTriageScenario(text: string, opts: { file?: string } = {}): Result<TriageScenario> {
  const file = opts.file !== undefined ? { file: opts.file } : {};
  return guardedParse(text, { ...file, what: 'triage scenario parser', sizeHint: 'a triage scenario is a page of YAML; split the events over several scenarios' }, () => {
    const loaded = YamlSource.load(text, opts.file);
    if (!loaded.ok) return { ok: false, errors: sortErrors(loaded.errors), warnings: [] };
    const src = loaded.source;
    const top = src.deref(loaded.root);
    if (top === null || !isMap(top)) {
      src.errorAt(top === null ? 'EMPTY_DOCUMENT' : 'WRONG_TYPE', top === null ? 'the scenario is empty' : `a triage scenario must be a mapping, got ${describeNode(top)}`,
        src.position(top) ?? { line: 1, col: 1 }, undefined, 'start with name:, label:, duration:, fleet:, modules: and events:');
      return { ok: false, errors: sortErrors(src.errors), warnings: [] };
    }
    const scenario = new TriageReader(src).read(top);
    const errors = sortErrors(src.errors);
    if (errors.length > 0 || scenario === null) {
      return { ok: false, errors: errors.length > 0 ? errors : [{ code: 'INTERNAL_ERROR', message: 'the scenario could not be read', ...file }], warnings: [] };
    }
    return { ok: true, value: scenario, warnings: [] };
  });
}

/** Walks the document once; each reader reports its own errors and returns undefined. */
class TriageReader {
  readonly #src: YamlSource;
  readonly #f: FieldReader;
  #modules: string[] = [];
  #dependencies: DependencyDecl[] = [];
  #vendors: string[] = [];

  constructor(src: YamlSource) {
    this.#src = src;
    this.#f = new FieldReader(src);
  }

  read(top: YAMLMap): TriageScenario | null {
    const src = this.#src;
    const f = this.#f;
    const entries = src.entries(top, '');
    src.checkKeys(entries, TRIAGE_SCENARIO_KEYS, 'the scenario');
    const get = (k: string): SourceEntry | undefined => entries.find((e) => e.key === k);
    const need = (k: string, hint: string): SourceEntry | undefined => f.require(entries, k, top, '', hint);
    const d = TRIAGE_SCENARIO_DEFAULTS;

    const nameE = need('name', 'e.g. name: ddos-reflection-small-fleet');
    const name = nameE ? this.#name(nameE) : undefined;
    const descE = get('description');
    const description = descE ? f.string(descE) : null;
    const labelE = need('label', 'e.g. label: { class: change-regression, target: r-2041 }');
    const labelRead = labelE ? this.#label(labelE) : undefined;
    const seedE = get('seed');
    const seed = seedE ? f.number(seedE, { min: 0, integer: true }) : d.seed;
    const startE = get('start');
    const start = this.#start(startE);
    const durationE = need('duration', 'e.g. duration: 40m');
    const duration = durationE ? f.duration(durationE) : undefined;
    const stepE = get('step');
    const step = stepE ? f.duration(stepE) : d.step_ms;
    const propE = get('propagation');
    const propagation = propE ? f.duration(propE) : d.propagation_ms;
    if (duration !== undefined && step !== undefined) {
      const at = stepE?.value ?? durationE?.value;
      if (step > duration) src.error('BAD_VALUE', `step (${step} ms) is longer than the whole duration`, at, stepE ? 'step' : 'duration', 'e.g. step: 10s');
      else if (duration / step > MAX_STEPS) src.error('BAD_VALUE', `duration / step is ${Math.ceil(duration / step)} steps; the limit is ${MAX_STEPS}`, at, stepE ? 'step' : 'duration', 'use a longer step (e.g. step: 30s) or a shorter duration');
    }
    const fleetE = need('fleet', 'e.g. fleet: { nodes: 2000 }');
    const nodes = fleetE ? this.#fleet(fleetE) : undefined;
    const baselineE = get('baseline');
    const baseline = baselineE ? this.#baseline(baselineE) : d.baseline;

    const modulesE = need('modules', 'e.g. modules: [ proxy, waf, api ]');
    const modules = modulesE ? f.strings(modulesE, 'e.g. modules: [ proxy, waf, api ]') : undefined;
    if (modules && modulesE) {
      this.#modules = modules;
      if (modules.length === 0) src.error('BAD_VALUE', 'modules is empty: errors are counted per module', valueNode(modulesE), 'modules', 'e.g. modules: [ proxy ]');
    }
    const depsE = get('dependencies');
    const dependencies = depsE ? this.#dependencyDecls(depsE) : [];
    if (dependencies) this.#dependencies = dependencies;
    const vendorsE = get('vendors');
    const vendors = vendorsE ? this.#vendorDecls(vendorsE) : [];
    if (vendors) this.#vendors = vendors.map((v) => v.name);
    const unmeasuredE = get('unmeasured');
    const unmeasured = unmeasuredE ? this.#unmeasured(unmeasuredE) : [];

    const eventsE = need('events', 'e.g. events:\n  - at: 5m\n    rollout: { id: r-1, artifact: api, module: api, kind: code, version: v2 }');
    const events = eventsE ? this.#events(eventsE, duration) : undefined;
    if (events && labelRead && labelE) this.#checkTarget(labelRead, events, labelE);

    if (src.errors.length > 0) return null;
    if (name === undefined || description === undefined || !labelRead || seed === undefined || start === undefined || duration === undefined || step === undefined
      || propagation === undefined || nodes === undefined || !baseline || !modules || !dependencies || !vendors || !unmeasured || !events) return null;
    return {
      name, description, label: labelRead.label, seed, start_ms: start, duration_ms: duration, step_ms: step, propagation_ms: propagation, nodes, baseline,
      modules, dependencies, vendors, unmeasured, events,
    };
  }

  // ── sections ──────────────────────────────────────────────────────────────

  #name(e: SourceEntry): string | undefined {
    const v = this.#f.scalarText(e);
    if (v === undefined) return undefined;
    if (!NAME.test(v)) {
      this.#src.error('BAD_VALUE', `"${v}" is not a valid ${e.key}`, valueNode(e), e.path, 'names use letters, digits, ".", "_" and "-", and start with a letter or digit');
      return undefined;
    }
    return v;
  }

  #label(e: SourceEntry): { label: TriageLabel; targetEntry: SourceEntry | undefined } | undefined {
    const map = this.#f.map(e, 'e.g. label: { class: change-regression, target: r-2041 }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, LABEL_KEYS, 'label');
    const classE = this.#f.require(entries, 'class', map, e.path, `one of ${TRIAGE_CLASSES.join(', ')}`);
    const cls = classE ? this.#f.oneOf<TriageClass>(classE, TRIAGE_CLASSES, 'classes') : undefined;
    const targetE = entries.find((x) => x.key === 'target');
    const target = targetE ? this.#f.scalarText(targetE) : null;
    if (cls === undefined || target === undefined) return undefined;
    return { label: { class: cls, target }, targetEntry: targetE };
  }

  #start(e: SourceEntry | undefined): number | undefined {
    const text = e ? this.#f.scalarText(e) : TRIAGE_SCENARIO_DEFAULTS.start;
    if (text === undefined) return undefined;
    const ms = Date.parse(text);
    if (!ISO.test(text) || !Number.isFinite(ms)) {
      if (e) this.#src.error('BAD_VALUE', `start must be a UTC time such as 2025-11-18T11:00:00Z, got "${text}"`, valueNode(e), e.path, 'write it in ISO 8601 with a Z, in quotes or not');
      return undefined;
    }
    return ms;
  }

  #fleet(e: SourceEntry): number | undefined {
    const map = this.#f.map(e, 'e.g. fleet: { nodes: 2000 }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, ['nodes'], 'fleet');
    const n = this.#f.require(entries, 'nodes', map, e.path, 'e.g. nodes: 2000');
    return n ? this.#f.number(n, { min: 1, max: 1_000_000, integer: true }) : undefined;
  }

  #baseline(e: SourceEntry): TrafficBaseline | undefined {
    const map = this.#f.map(e, 'e.g. baseline: { rps: 400000, error_ratio: 0.0005, entropy_bits: 14, never_seen_share: 0.03 }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, BASELINE_KEYS, 'baseline');
    const d = TRIAGE_SCENARIO_DEFAULTS.baseline;
    const num = (k: string, dflt: number, o: NumberBounds): number | undefined => {
      const x = entries.find((y) => y.key === k);
      return x ? this.#f.number(x, o) : dflt;
    };
    const rps = num('rps', d.rps, { min: 0, exclusiveMin: true, max: 1e9 });
    const error_ratio = num('error_ratio', d.error_ratio, { min: 0, max: 0.5 });
    const entropy_bits = num('entropy_bits', d.entropy_bits, { min: 0, max: 32 });
    const never_seen_share = num('never_seen_share', d.never_seen_share, { min: 0, max: 1 });
    const noise = num('noise', d.noise, { min: 0, max: 0.5 });
    if (rps === undefined || error_ratio === undefined || entropy_bits === undefined || never_seen_share === undefined || noise === undefined) return undefined;
    return { rps, error_ratio, entropy_bits, never_seen_share, noise };
  }

  #dependencyDecls(e: SourceEntry): DependencyDecl[] | undefined {
    const map = this.#f.map(e, 'e.g. dependencies:\n  session-db: { latency_ms: 8, error_ratio: 0.0005, used_by: [ api ] }\n  stripe-api: { vendor: stripe, latency_ms: 180, used_by: [ billing ] }');
    if (!map) return undefined;
    const out: DependencyDecl[] = [];
    const pending: { e: SourceEntry; names: string[]; owner: string }[] = [];
    let ok = true;
    for (const d of this.#src.entries(map, e.path)) {
      if (!NAME.test(d.key)) { this.#src.error('BAD_VALUE', `"${d.key}" is not a valid dependency name`, d.keyNode, d.path); ok = false; continue; }
      const dm = this.#f.map(d, `e.g. ${d.key}: { latency_ms: 8, error_ratio: 0.0005, used_by: [ api ] }`);
      if (!dm) { ok = false; continue; }
      const entries = this.#src.entries(dm, d.path);
      this.#src.checkKeys(entries, DEPENDENCY_KEYS, `dependency "${d.key}"`);
      const vendorE = entries.find((x) => x.key === 'vendor');
      const vendor = vendorE ? this.#name(vendorE) : null;
      const usedE = entries.find((x) => x.key === 'used_by');
      const used = usedE ? this.#moduleList(usedE) : [];
      const onE = entries.find((x) => x.key === 'depends_on');
      const on = onE ? this.#f.strings(onE, 'e.g. depends_on: [ stripe-api ]') : [];
      if (on && onE) pending.push({ e: onE, names: on, owner: d.key });
      const latE = this.#f.require(entries, 'latency_ms', dm, d.path, 'its usual p99 latency, e.g. latency_ms: 8');
      const lat = latE ? this.#f.number(latE, { min: 0, exclusiveMin: true, max: 600_000 }) : undefined;
      const errE = entries.find((x) => x.key === 'error_ratio');
      const err = errE ? this.#f.number(errE, { min: 0, max: 0.5 }) : 0.0005;
      if (vendor === undefined || !used || !on || lat === undefined || err === undefined) { ok = false; continue; }
      out.push({ name: d.key, vendor, used_by: used, depends_on: on, latency_ms: lat, error_ratio: err });
    }
    // depends_on may name a dependency declared below it.
    const names = this.#src.entries(map, e.path).map((x) => x.key);
    for (const p of pending) {
      for (const n of p.names) {
        if (n === p.owner) { this.#src.error('BAD_VALUE', `dependency "${n}" depends on itself`, valueNode(p.e), p.e.path, 'name the other dependencies it calls'); ok = false; }
        else if (!names.includes(n)) { this.#src.error('UNKNOWN_DEPENDENCY', `dependency "${n}" is not declared under dependencies:`, valueNode(p.e), p.e.path, didYouMean(n, names, 'dependencies')); ok = false; }
      }
    }
    return ok ? out : undefined;
  }

  #vendorDecls(e: SourceEntry): VendorDecl[] | undefined {
    const map = this.#f.map(e, 'e.g. vendors:\n  stripe: { components: [ API, Dashboard ] }');
    if (!map) return undefined;
    const out: VendorDecl[] = [];
    let ok = true;
    for (const v of this.#src.entries(map, e.path)) {
      if (!NAME.test(v.key)) { this.#src.error('BAD_VALUE', `"${v.key}" is not a valid vendor name`, v.keyNode, v.path); ok = false; continue; }
      if (v.value === null || (isScalar(v.value) && v.value.value === null)) { out.push({ name: v.key, components: [] }); continue; }
      const vm = this.#f.map(v, `e.g. ${v.key}: { components: [ API ] }`);
      if (!vm) { ok = false; continue; }
      const entries = this.#src.entries(vm, v.path);
      this.#src.checkKeys(entries, VENDOR_KEYS, `vendor "${v.key}"`);
      const cE = entries.find((x) => x.key === 'components');
      const components = cE ? this.#f.strings(cE, 'e.g. components: [ API, Dashboard ]') : [];
      if (!components) { ok = false; continue; }
      out.push({ name: v.key, components });
    }
    return ok ? out : undefined;
  }

  #unmeasured(e: SourceEntry): UnmeasuredSignal[] | undefined {
    const list = this.#f.strings(e, `e.g. unmeasured: [ source_entropy, vendor_status ] (any of ${UNMEASURED_SIGNALS.join(', ')})`);
    if (!list) return undefined;
    const out: UnmeasuredSignal[] = [];
    let ok = true;
    list.forEach((s) => {
      const found = UNMEASURED_SIGNALS.find((u) => u === s);
      if (found) out.push(found);
      else {
        this.#src.error('BAD_ENUM', `unmeasured lists "${s}", which is not a signal family`, valueNode(e), e.path, didYouMean(s, UNMEASURED_SIGNALS, 'signal families'));
        ok = false;
      }
    });
    return ok ? out : undefined;
  }

  #moduleList(e: SourceEntry): string[] | undefined {
    const list = this.#f.strings(e, 'e.g. [ api, billing ]');
    if (!list) return undefined;
    const unknown = list.filter((m) => !this.#modules.includes(m));
    for (const m of unknown) {
      this.#src.error('UNKNOWN_MODULE', `module "${m}" is not declared under modules:`, valueNode(e), e.path, didYouMean(m, this.#modules, 'modules'));
    }
    return unknown.length > 0 ? undefined : list;
  }

  // ── events ────────────────────────────────────────────────────────────────

  #events(e: SourceEntry, duration: number | undefined): TriageEvent[] | undefined {
    const ids = new Set<string>();
    const events = this.#f.mappings<TriageEvent>(e, { noun: 'an event', example: '- at: 5m\n    ddos: { rate: 6, source_entropy: 4, never_seen: 0.8 }' }, (_entries, node, path) => {
      const ev = this.#event(node, path, duration);
      if (!ev || (ev.type !== 'rollout' && ev.type !== 'external_change')) return ev;
      if (ids.has(ev.id)) {
        this.#src.error('DUPLICATE_NAME', `id "${ev.id}" is used by two events`, node, path, 'give every rollout and change its own id');
        return undefined;
      }
      ids.add(ev.id);
      return ev;
    });
    if (events && events.length === 0) this.#src.error('BAD_VALUE', 'events is empty: a triage scenario needs an incident', valueNode(e), e.path, 'add at least one event');
    return events;
  }

  #event(map: YAMLMap, path: string, duration: number | undefined): TriageEvent | undefined {
    const src = this.#src;
    const f = this.#f;
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
    src.checkKeys(entries, [...COMMON_EVENT_KEYS, ...EXTRA_EVENT_KEYS[type], type], `a ${type} event`);
    const atE = f.require(entries, 'at', map, path, 'when it starts, after the scenario start: e.g. at: 5m (or at: 0s)');
    const at = atE ? f.duration(atE, { zeroOk: true }) : undefined;
    if (at !== undefined && duration !== undefined && at >= duration && atE) src.error('BAD_VALUE', `at ${at} ms is not before the end of the scenario (${duration} ms)`, atE.value, atE.path, 'move it earlier or make the scenario longer');
    const untilE = entries.find((x) => x.key === 'until');
    const until = untilE ? f.duration(untilE) : null;
    if (until !== null && until !== undefined && at !== undefined && until <= at && untilE) src.error('BAD_VALUE', 'until is not after at', untilE.value, untilE.path, 'until counts from the scenario start, like at');
    const rampE = entries.find((x) => x.key === 'ramp');
    const ramp = rampE ? f.duration(rampE, { zeroOk: true }) : 0;
    const errorsE = entries.find((x) => x.key === 'errors');
    const errors = errorsE ? this.#errors(errorsE) : null;
    const strainsE = entries.find((x) => x.key === 'strains');
    const strains = strainsE ? this.#strains(strainsE) : [];
    const body = f.map(typeE, `e.g. ${type}: { ${TYPE_KEYS[type].slice(0, 3).map((k) => `${k}: …`).join(', ')} }`);
    if (!body) return undefined;
    const be = src.entries(body, typeE.path);
    src.checkKeys(be, TYPE_KEYS[type], type);
    const line = src.position(map)?.line ?? 0;
    if (at === undefined || until === undefined || ramp === undefined || errors === undefined || !strains) return undefined;
    const base = { at_ms: at, until_ms: until, ramp_ms: ramp, errors, strains, line };
    const regenE = entries.find((x) => x.key === 'regenerate');
    const regenerate = regenE ? this.#regenerate(regenE) : null;
    if (regenerate === undefined) return undefined;
    const str = (k: string, hint: string): string | undefined => { const x = f.require(be, k, body, typeE.path, hint); return x ? f.scalarText(x) : undefined; };
    const num = (k: string, o: NumberBounds, dflt?: number): number | undefined => {
      const x = dflt === undefined ? f.require(be, k, body, typeE.path, `e.g. ${k}: ${o.min ?? 1}`) : be.find((y) => y.key === k);
      return x ? f.number(x, o) : dflt;
    };
    switch (type) {
      case 'rollout': {
        const id = str('id', 'e.g. id: r-2041');
        const artifact = str('artifact', 'e.g. artifact: api-server');
        const moduleE = f.require(be, 'module', body, typeE.path, `one of ${this.#modules.join(', ')}`);
        const module = moduleE ? this.#module(moduleE) : undefined;
        const kindE = f.require(be, 'kind', body, typeE.path, `one of ${ARTIFACT_KINDS.join(', ')}`);
        const kind = kindE ? f.oneOf(kindE, ARTIFACT_KINDS, 'kinds') : undefined;
        const version = str('version', 'e.g. version: v2041');
        const fromE = be.find((x) => x.key === 'from');
        const from = fromE ? f.scalarText(fromE) : null;
        const stagesE = entries.find((x) => x.key === 'stages');
        const stages = stagesE ? this.#stages(stagesE) : [{ after_ms: 0, share: 1 }];
        if (stagesE && regenE) src.error('BAD_VALUE', 'a regenerated artifact is pushed to every node each time; stages do not apply', stagesE.keyNode, stagesE.path, 'remove stages: or regenerate:');
        if (id === undefined || artifact === undefined || module === undefined || kind === undefined || version === undefined || from === undefined || !stages) return undefined;
        return { ...base, type, id, artifact, module, kind, version, from, stages, regenerate };
      }
      case 'external_change': {
        const idE = be.find((x) => x.key === 'id');
        const id = idE ? f.scalarText(idE) : `change-${line}`;
        const summary = str('summary', 'what changed, as the change event says it: e.g. summary: "waf: disable test rule 4932 (kill switch)"');
        const sourceE = be.find((x) => x.key === 'source');
        const source = sourceE ? f.scalarText(sourceE) : null;
        const servicesE = be.find((x) => x.key === 'services');
        const services = servicesE ? f.strings(servicesE, 'e.g. services: [ waf ]') : [];
        const linksE = be.find((x) => x.key === 'links');
        const links = linksE ? f.strings(linksE, 'e.g. links: [ "https://ci.example/builds/4412" ]') : [];
        const detailsE = be.find((x) => x.key === 'custom_details');
        const details = detailsE ? this.#details(detailsE) : {};
        if (id === undefined || summary === undefined || source === undefined || !services || !links || !details) return undefined;
        return { ...base, type, id, summary, source, services, links: links.map((href) => ({ href })), custom_details: details, regenerate };
      }
      case 'ddos': {
        const rate = num('rate', { min: 1, exclusiveMin: true, max: 1000 });
        const entropy = num('source_entropy', { min: 0, max: 32 });
        const fresh = num('never_seen', { min: 0, max: 1 });
        if (rate === undefined || entropy === undefined || fresh === undefined) return undefined;
        return { ...base, type, rate, source_entropy_bits: entropy, never_seen: fresh };
      }
      case 'flash_crowd': {
        const rate = num('rate', { min: 1, exclusiveMin: true, max: 1000 });
        const shift = num('entropy_shift', { min: -32, max: 32 }, 0);
        const fresh = num('never_seen', { min: 0, max: 1 }, 0.1);
        if (rate === undefined || shift === undefined || fresh === undefined) return undefined;
        return { ...base, type, rate, entropy_shift_bits: shift, never_seen: fresh };
      }
      case 'dependency_degradation': {
        const depE = f.require(be, 'dependency', body, typeE.path, `one of ${this.#dependencies.filter((d) => d.vendor === null).map((d) => d.name).join(', ')}`);
        const dep = depE ? this.#dependency(depE, false) : undefined;
        const latency = num('latency', { min: 0, exclusiveMin: true, max: 1000 }, 1);
        const err = num('errors', { min: 0, max: 1 }, 0);
        if (dep === undefined || latency === undefined || err === undefined) return undefined;
        return { ...base, type, dependency: dep, latency, error_ratio: err };
      }
      case 'vendor_outage': {
        const vendorE = f.require(be, 'vendor', body, typeE.path, 'e.g. vendor: stripe');
        const vendor = vendorE ? this.#vendor(vendorE, true) : undefined;
        const latency = num('latency', { min: 0, exclusiveMin: true, max: 1000 }, 1);
        const err = num('errors', { min: 0, max: 1 }, 0);
        const statusE = be.find((x) => x.key === 'status');
        const status = statusE ? this.#status(statusE) : null;
        if (vendor === undefined || latency === undefined || err === undefined || status === undefined) return undefined;
        return { ...base, type, vendor, latency, error_ratio: err, status };
      }
      case 'status_page_down': {
        const vendorE = f.require(be, 'vendor', body, typeE.path, 'a vendor declared under vendors:');
        const vendor = vendorE ? this.#vendor(vendorE, false) : undefined;
        return vendor === undefined ? undefined : { ...base, type, vendor };
      }
      case 'vendor_incident': {
        const vendorE = f.require(be, 'vendor', body, typeE.path, 'a vendor declared under vendors:');
        const vendor = vendorE ? this.#vendor(vendorE, false) : undefined;
        const indE = be.find((x) => x.key === 'indicator');
        const indicator = indE ? f.oneOf(indE, INDICATORS, 'indicators') : 'minor';
        const compE = be.find((x) => x.key === 'components');
        const components = compE ? this.#components(compE) : [];
        if (vendor === undefined || indicator === undefined || !components) return undefined;
        return { ...base, type, vendor, indicator, components };
      }
    }
  }

  #errors(e: SourceEntry): ErrorsEffect | undefined {
    const map = this.#f.map(e, 'e.g. errors: { modules: [ proxy ], ratio: 0.3 }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, ERRORS_KEYS, 'errors');
    const mE = this.#f.require(entries, 'modules', map, e.path, `e.g. modules: [ ${this.#modules[0] ?? 'proxy'} ]`);
    const modules = mE ? this.#moduleList(mE) : undefined;
    const rE = this.#f.require(entries, 'ratio', map, e.path, 'the extra 5xx ratio at full strength, e.g. ratio: 0.3');
    const ratio = rE ? this.#f.number(rE, { min: 0, max: 1 }) : undefined;
    const dE = entries.find((x) => x.key === 'delay');
    const delay = dE ? this.#f.duration(dE, { zeroOk: true }) : 0;
    if (!modules || ratio === undefined || delay === undefined) return undefined;
    return { modules, ratio, delay_ms: delay };
  }

  #strains(e: SourceEntry): Strain[] | undefined {
    return this.#f.mappings<Strain>(e, { noun: 'a strain', example: '[ { dependency: origin-db, latency: 2.5, errors: 0.02 } ]', keys: STRAIN_KEYS }, (entries, node, path) => {
      const dE = this.#f.require(entries, 'dependency', node, path, 'e.g. dependency: origin-db');
      const dep = dE ? this.#dependency(dE, null) : undefined;
      const lE = entries.find((x) => x.key === 'latency');
      const latency = lE ? this.#f.number(lE, { min: 0, exclusiveMin: true, max: 1000 }) : 1;
      const xE = entries.find((x) => x.key === 'errors');
      const errors = xE ? this.#f.number(xE, { min: 0, max: 1 }) : 0;
      return dep === undefined || latency === undefined || errors === undefined ? undefined : { dependency: dep, latency, errors };
    });
  }

  #regenerate(e: SourceEntry): Regeneration | undefined {
    const map = this.#f.map(e, 'e.g. regenerate: { every: 5m, bad_share: { from: 0.5, to: 1, over: 30m } }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, REGENERATE_KEYS, 'regenerate');
    const evE = this.#f.require(entries, 'every', map, e.path, 'e.g. every: 5m');
    const every = evE ? this.#f.duration(evE) : undefined;
    const bE = this.#f.require(entries, 'bad_share', map, e.path, 'the chance that one run produces the bad content: bad_share: 0.5, or { from: 0.5, to: 1, over: 30m }');
    let share: Regeneration['bad_share'] | undefined;
    if (bE && isMap(bE.value)) {
      const se = this.#src.entries(bE.value, bE.path);
      this.#src.checkKeys(se, SHARE_RAMP_KEYS, 'bad_share');
      const fE = this.#f.require(se, 'from', bE.value, bE.path, 'e.g. from: 0.5');
      const tE = this.#f.require(se, 'to', bE.value, bE.path, 'e.g. to: 1');
      const oE = this.#f.require(se, 'over', bE.value, bE.path, 'e.g. over: 30m');
      const from = fE ? this.#f.ratio(fE) : undefined;
      const to = tE ? this.#f.ratio(tE) : undefined;
      const over = oE ? this.#f.duration(oE) : undefined;
      share = from === undefined || to === undefined || over === undefined ? undefined : { from, to, over_ms: over };
    } else if (bE) {
      const r = this.#f.ratio(bE);
      share = r === undefined ? undefined : { from: r, to: r, over_ms: 1 };
    }
    if (every === undefined || !share) return undefined;
    return { every_ms: every, bad_share: share };
  }

  #stages(e: SourceEntry): { after_ms: number; share: number }[] | undefined {
    return this.#f.mappings<{ after_ms: number; share: number }>(e, { noun: 'a stage', example: '[ { after: 0s, share: 0.01 }, { after: 10m, share: 0.1 } ]', keys: STAGE_KEYS, nonEmpty: true }, (entries, node, path, done) => {
      const aE = this.#f.require(entries, 'after', node, path, 'time after the rollout started, e.g. after: 0s');
      const sE = this.#f.require(entries, 'share', node, path, 'share of nodes, e.g. share: 0.01 or "1%"');
      const after = aE ? this.#f.duration(aE, { zeroOk: true }) : undefined;
      const share = sE ? this.#f.ratio(sE) : undefined;
      if (after === undefined || share === undefined) return undefined;
      const prev = done[done.length - 1];
      if (prev && (after <= prev.after_ms || share < prev.share) && aE) {
        this.#src.error('BAD_VALUE', 'stages must come later and cover at least as many nodes as the one before', aE.value, path, 'list them in order: { after: 0s, share: 0.01 }, { after: 10m, share: 0.1 }');
        return undefined;
      }
      return { after_ms: after, share };
    });
  }

  #status(e: SourceEntry): { after_ms: number; indicator: StatusIndicator; components: { name: string; status: ComponentStatus }[] } | undefined {
    const map = this.#f.map(e, 'e.g. status: { after: 8m, indicator: major, components: { API: major_outage } }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, STATUS_KEYS, 'status');
    const aE = entries.find((x) => x.key === 'after');
    const after = aE ? this.#f.duration(aE, { zeroOk: true }) : 0;
    const iE = entries.find((x) => x.key === 'indicator');
    const indicator = iE ? this.#f.oneOf(iE, INDICATORS, 'indicators') : 'major';
    const cE = entries.find((x) => x.key === 'components');
    const components = cE ? this.#components(cE) : [];
    if (after === undefined || indicator === undefined || !components) return undefined;
    return { after_ms: after, indicator, components };
  }

  #components(e: SourceEntry): { name: string; status: ComponentStatus }[] | undefined {
    const map = this.#f.map(e, 'e.g. components: { API: major_outage }');
    if (!map) return undefined;
    const out: { name: string; status: ComponentStatus }[] = [];
    let ok = true;
    for (const c of this.#src.entries(map, e.path)) {
      const status = this.#f.oneOf(c, COMPONENT_STATUSES, 'component statuses');
      if (status === undefined) { ok = false; continue; }
      out.push({ name: c.key, status });
    }
    return ok ? out : undefined;
  }

  #details(e: SourceEntry): Record<string, string | number | boolean> | undefined {
    const map = this.#f.map(e, 'e.g. custom_details: { build: 4412, author: ci }');
    if (!map) return undefined;
    const out: Record<string, string | number | boolean> = {};
    for (const d of this.#src.entries(map, e.path)) {
      const v = d.value;
      if (isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number' || typeof v.value === 'boolean')) out[d.key] = v.value;
      else {
        this.#src.error('WRONG_TYPE', `custom_details.${d.key} must be a string, number or boolean, got ${describeNode(v)}`, valueNode(d), d.path);
        return undefined;
      }
    }
    return out;
  }

  #module(e: SourceEntry): string | undefined {
    const m = this.#f.scalarText(e);
    if (m === undefined) return undefined;
    if (this.#modules.includes(m)) return m;
    this.#src.error('UNKNOWN_MODULE', `module "${m}" is not declared under modules:`, valueNode(e), e.path, didYouMean(m, this.#modules, 'modules'));
    return undefined;
  }

  /** A declared dependency: ours only (`vendor` false), a vendor's only (true), or either (null). */
  #dependency(e: SourceEntry, vendor: boolean | null): string | undefined {
    const name = this.#f.scalarText(e);
    if (name === undefined) return undefined;
    const allowed = this.#dependencies.filter((d) => vendor === null || (d.vendor !== null) === vendor).map((d) => d.name);
    if (allowed.includes(name)) return name;
    const isVendor = this.#dependencies.find((d) => d.name === name)?.vendor;
    const hint = isVendor !== undefined && isVendor !== null ? `${name} is ${isVendor}'s API: use a vendor_outage event for it` : didYouMean(name, allowed, 'dependencies');
    this.#src.error('UNKNOWN_DEPENDENCY', `dependency "${name}" is not declared under dependencies:${vendor === false ? ' as one of ours' : ''}`, valueNode(e), e.path, hint);
    return undefined;
  }

  /** A vendor named by a dependency's vendor: (APIs) or under vendors: (status pages). */
  #vendor(e: SourceEntry, apiOrPage: boolean): string | undefined {
    const name = this.#f.scalarText(e);
    if (name === undefined) return undefined;
    const apis = this.#dependencies.flatMap((d) => (d.vendor !== null ? [d.vendor] : []));
    const allowed = apiOrPage ? [...new Set([...apis, ...this.#vendors])] : this.#vendors;
    if (allowed.includes(name)) return name;
    this.#src.error('UNKNOWN_VENDOR', `vendor "${name}" is not declared${apiOrPage ? ' (by a dependency\'s vendor: or under vendors:)' : ' under vendors:'}`, valueNode(e), e.path, didYouMean(name, allowed, 'vendors'));
    return undefined;
  }

  /** The label's target must be something the scenario declares, of the kind its class blames. */
  #checkTarget(l: { label: TriageLabel; targetEntry: SourceEntry | undefined }, events: readonly TriageEvent[], labelE: SourceEntry): void {
    const { label, targetEntry } = l;
    if (label.target === null || !targetEntry) return;
    const names = label.class === 'change-regression'
      ? events.flatMap((ev) => (ev.type === 'rollout' || ev.type === 'external_change' ? [ev.id] : []))
      : label.class === 'internal-degradation' ? this.#dependencies.filter((d) => d.vendor === null).map((d) => d.name)
        : label.class === 'third-party-failure' ? [...new Set([...this.#dependencies.flatMap((d) => (d.vendor !== null ? [d.vendor] : [])), ...this.#vendors])]
          : [];
    if (names.includes(label.target)) return;
    const what = label.class === 'change-regression' ? 'rollout or change id' : label.class === 'internal-degradation' ? 'dependency of ours' : label.class === 'third-party-failure' ? 'vendor' : 'target';
    this.#src.error('UNKNOWN_TARGET', `label target "${label.target}" is not a ${what} of this scenario`, valueNode(targetEntry), `${labelE.path}.target`,
      label.class === 'ddos' ? 'a ddos label has no target; remove target:' : didYouMean(label.target, names, `${what}s`));
  }
}
