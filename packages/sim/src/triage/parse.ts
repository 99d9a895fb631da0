import { isMap, isScalar } from 'yaml';
import type { YAMLMap } from 'yaml';
import {
  describeNode, didYouMean, FieldReader, guardedParse, parserErrorCodes, sortErrors, TRIAGE_CLASSES, valueNode, YamlSource,
  type NumberBounds, type Result, type SourceEntry, type TriageClass,
} from '@failsmall/core';
import { Declared } from './parse-declared.ts';
import { EventReader } from './parse-events.ts';
import { readAlerts, readMix, readSchedule } from './parse-traffic.ts';
import {
  LABEL_CLASSES, UNMEASURED_SIGNALS,
  type DependencyDecl, type LabelClass, type TrafficBaseline, type TriageEvent, type TriageLabel, type TriageScenario, type UnmeasuredSignal, type VendorDecl,
} from './types.ts';

export { EVENT_TYPES } from './parse-events.ts';

/** Every code a triage scenario file can produce. */
export const TRIAGE_SCENARIO_ERROR_CODES = parserErrorCodes(
  'BAD_DURATION', 'BAD_VALUE', 'BAD_ENUM', 'EVENT_TYPE', 'DUPLICATE_NAME', 'UNKNOWN_MODULE', 'UNKNOWN_DEPENDENCY', 'UNKNOWN_VENDOR', 'UNKNOWN_TARGET',
);

export const TRIAGE_SCENARIO_KEYS = [
  'name', 'description', 'label', 'seed', 'start', 'duration', 'step', 'propagation', 'fleet', 'baseline', 'modules', 'dependencies', 'vendors', 'unmeasured',
  'alerts', 'schedule', 'events',
] as const;
const LABEL_KEYS = ['class', 'target', 'also'] as const;
const ALSO_KEYS = ['class', 'target'] as const;
const BASELINE_KEYS = ['rps', 'error_ratio', 'entropy_bits', 'never_seen_share', 'noise', 'mix'] as const;
const DEPENDENCY_KEYS = ['vendor', 'used_by', 'depends_on', 'latency_ms', 'error_ratio', 'in_request_path'] as const;
const VENDOR_KEYS = ['components'] as const;

/** Defaults for every optional key; docs/triage.md lists the same values. */
export const TRIAGE_SCENARIO_DEFAULTS = {
  seed: 1,
  start: '2026-01-01T00:00:00Z',
  step_ms: 10_000,
  propagation_ms: 10_000,
  baseline: {
    rps: 100_000, error_ratio: 0.0005, entropy_bits: 14, never_seen_share: 0.03, noise: 0.03,
    mix: { method_entropy_bits: 1.0, path_entropy_bits: 4.0, ua_entropy_bits: 4.5, expensive_share: 0.02, cost_ms: 15 },
  },
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
  readonly #d: Declared;

  constructor(src: YamlSource) {
    this.#src = src;
    this.#f = new FieldReader(src);
    this.#d = new Declared(src, this.#f);
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
    this.#d.duration_ms = duration;
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
      this.#d.modules = modules;
      if (modules.length === 0) src.error('BAD_VALUE', 'modules is empty: errors are counted per module', valueNode(modulesE), 'modules', 'e.g. modules: [ proxy ]');
    }
    const depsE = get('dependencies');
    const dependencies = depsE ? this.#dependencyDecls(depsE) : [];
    const vendorsE = get('vendors');
    const vendors = vendorsE ? this.#vendorDecls(vendorsE) : [];
    if (vendors) this.#d.vendors = vendors.map((v) => v.name);
    const unmeasuredE = get('unmeasured');
    const unmeasured = unmeasuredE ? this.#unmeasured(unmeasuredE) : [];
    const alertsE = get('alerts');
    const alerts = alertsE ? readAlerts(this.#d, alertsE) : [];
    const scheduleE = get('schedule');
    const schedule = scheduleE ? readSchedule(this.#d, scheduleE) : [];

    const eventsE = need('events', 'e.g. events:\n  - at: 5m\n    rollout: { id: r-1, artifact: api, module: api, kind: code, version: v2 }');
    const events = eventsE && baseline ? new EventReader(this.#d, baseline.mix).events(eventsE) : undefined;
    if (events && labelRead) for (const answer of [labelRead.main, ...labelRead.also]) this.#checkTarget(answer, events);

    if (src.errors.length > 0) return null;
    if (name === undefined || description === undefined || !labelRead || seed === undefined || start === undefined || duration === undefined || step === undefined
      || propagation === undefined || nodes === undefined || !baseline || !modules || !dependencies || !vendors || !unmeasured || !alerts || !schedule || !events) return null;
    return {
      name, description, label: { ...labelRead.main.answer, also: labelRead.also.map((a) => a.answer) }, seed, start_ms: start, duration_ms: duration,
      step_ms: step, propagation_ms: propagation, nodes, baseline, modules, dependencies, vendors, unmeasured, alerts, schedule, events,
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

  /** The label and its `also` entries, each with where its target was written (checked once the events are read). */
  #label(e: SourceEntry): { main: LabelAnswer<LabelClass>; also: LabelAnswer<TriageClass>[] } | undefined {
    const map = this.#f.map(e, 'e.g. label: { class: change-regression, target: r-2041 }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, LABEL_KEYS, 'label');
    const main = this.#answer(entries, map, e.path, LABEL_CLASSES);
    const alsoE = entries.find((x) => x.key === 'also');
    // A second cause is one of the four: "benign" as well as a cause would be no second cause.
    const also = alsoE ? this.#f.mappings<LabelAnswer<TriageClass>>(alsoE, { noun: 'an also entry', example: '[ { class: third-party-failure, target: stripe } ]', keys: ALSO_KEYS },
      (ae, node, path) => this.#answer(ae, node, path, TRIAGE_CLASSES)) : [];
    if (!main || !also) return undefined;
    return { main, also };
  }

  #answer<C extends LabelClass>(entries: readonly SourceEntry[], map: YAMLMap, path: string, classes: readonly C[]): LabelAnswer<C> | undefined {
    const classE = this.#f.require(entries, 'class', map, path, `one of ${classes.join(', ')}`);
    const cls = classE ? this.#f.oneOf<C>(classE, classes, 'classes') : undefined;
    const targetE = entries.find((x) => x.key === 'target');
    const target = targetE ? this.#f.scalarText(targetE) : null;
    if (cls === undefined || target === undefined) return undefined;
    return { answer: { class: cls, target }, targetEntry: targetE };
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
    const mix = this.#d.optional(entries, 'mix', (x) => readMix(this.#d, x, d.mix), d.mix);
    if (rps === undefined || error_ratio === undefined || entropy_bits === undefined || never_seen_share === undefined || noise === undefined || !mix) return undefined;
    return { rps, error_ratio, entropy_bits, never_seen_share, noise, mix };
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
      const used = usedE ? this.#d.moduleList(usedE) : [];
      const onE = entries.find((x) => x.key === 'depends_on');
      const on = onE ? this.#f.strings(onE, 'e.g. depends_on: [ stripe-api ]') : [];
      if (on && onE) pending.push({ e: onE, names: on, owner: d.key });
      const latE = this.#f.require(entries, 'latency_ms', dm, d.path, 'its usual p99 latency, e.g. latency_ms: 8');
      const lat = latE ? this.#f.number(latE, { min: 0, exclusiveMin: true, max: 600_000 }) : undefined;
      const errE = entries.find((x) => x.key === 'error_ratio');
      const err = errE ? this.#f.number(errE, { min: 0, max: 0.5 }) : 0.0005;
      const front = this.#d.optional(entries, 'in_request_path', (x) => this.#f.boolean(x), false);
      if (vendor === undefined || !used || !on || lat === undefined || err === undefined || front === undefined) { ok = false; continue; }
      out.push({ name: d.key, vendor, used_by: used, depends_on: on, latency_ms: lat, error_ratio: err, in_request_path: front });
    }
    // depends_on may name a dependency declared below it.
    const names = this.#src.entries(map, e.path).map((x) => x.key);
    for (const p of pending) {
      for (const n of p.names) {
        if (n === p.owner) { this.#src.error('BAD_VALUE', `dependency "${n}" depends on itself`, valueNode(p.e), p.e.path, 'name the other dependencies it calls'); ok = false; }
        else if (!names.includes(n)) { this.#src.error('UNKNOWN_DEPENDENCY', `dependency "${n}" is not declared under dependencies:`, valueNode(p.e), p.e.path, didYouMean(n, names, 'dependencies')); ok = false; }
      }
    }
    // The events may still name the ones that were read: one bad declaration is one error, not one per event.
    this.#d.dependencies = out;
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

  /** A label's (or an `also` entry's) target must be something the scenario declares, of the kind its class blames. */
  #checkTarget(l: LabelAnswer<LabelClass>, events: readonly TriageEvent[]): void {
    const { answer: { class: cls, target }, targetEntry } = l;
    if (target === null || !targetEntry) return;
    const deps = this.#d.dependencies;
    const names = cls === 'change-regression'
      ? events.flatMap((ev) => (ev.type === 'rollout' || ev.type === 'external_change' ? [ev.id] : []))
      : cls === 'internal-degradation' ? deps.filter((d) => d.vendor === null).map((d) => d.name)
        : cls === 'third-party-failure' ? [...new Set([...deps.flatMap((d) => (d.vendor !== null ? [d.vendor] : [])), ...this.#d.vendors])]
          : [];
    if (names.includes(target)) return;
    const what = cls === 'change-regression' ? 'rollout or change id' : cls === 'internal-degradation' ? 'dependency of ours' : cls === 'third-party-failure' ? 'vendor' : 'target';
    this.#src.error('UNKNOWN_TARGET', `label target "${target}" is not a ${what} of this scenario`, valueNode(targetEntry), targetEntry.path,
      cls === 'ddos' || cls === 'benign' ? `a ${cls} label has no target; remove target:` : didYouMean(target, names, `${what}s`));
  }
}

/** One correct answer of a label, and where its target was written. */
interface LabelAnswer<C extends LabelClass> {
  readonly answer: { readonly class: C; readonly target: string | null };
  readonly targetEntry: SourceEntry | undefined;
}
