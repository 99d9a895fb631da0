import { isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import {
  describeNode, didYouMean, FieldReader, guardedParse, parseDeclarations, parserErrorCodes, sortErrors, valueNode, YamlSource,
  type Declarations, type FailsmallError, type Result, type SourceEntry, type Warning,
} from '@failsmall/core';
import type {
  BehaviourRule, ChangeSpec, ContentPredicate, ContentSource, Effect, FleetSpec, LabelCondition, LabelDistribution, ManualResponse,
  Regenerate, Scenario, TrafficSpec, VersionPush,
} from './types.ts';
import { ConditionsReader } from './parse-conditions.ts';

/**
 * Every code a scenario file can produce: the YAML source's, and the scenario's own. The
 * embedded modules:, artifacts: and policies: add the policy parser's (POLICY_ERROR_CODES).
 */
export const SCENARIO_ERROR_CODES = parserErrorCodes(
  'BAD_DURATION', 'BAD_VALUE', 'BAD_ENUM', 'BAD_DISTRIBUTION', 'UNKNOWN_LABEL', 'UNKNOWN_MODULE', 'UNKNOWN_ARTIFACT', 'UNKNOWN_POLICY', 'MODULE_NOT_LOADED',
);

const DECLARATION_KEYS = ['modules', 'artifacts', 'policies', 'deployment'];
export const SCENARIO_KEYS = ['name', 'description', 'seed', 'duration', 'tick', 'propagation', 'fleet', 'traffic', 'behaviour', 'change', 'policy', 'manual', 'human', 'faults', ...DECLARATION_KEYS] as const;
const FLEET_KEYS = ['nodes', 'labels'] as const;
const TRAFFIC_KEYS = ['rps_per_node', 'error_rate', 'latency_ms', 'noise', 'bad_nodes', 'bursts'] as const;
const LATENCY_KEYS = ['median', 'p99'] as const;
const RULE_KEYS = ['where', 'cannot_handle', 'effect'] as const;
const PREDICATE_KEYS = ['entries_over', 'bytes_over', 'contains', 'version'] as const;
const EFFECT_KEYS = ['error_rate', 'add_latency', 'latency_factor', 'ramp'] as const;
const WHERE_HINT = 'e.g. where: { proxy: fl2 }, where: { region: [eu, us] } or where: { region: { not: eu } }';
const EFFECTS = ['crash_at_load', 'request_errors', 'crash', 'degrade'] as const;
const CHANGE_KEYS = ['artifact', 'initial', 'versions', 'regenerate'] as const;
const SOURCE_KEYS = ['content', 'generate'] as const;
const PUSH_KEYS = ['at', 'after_detection', 'version', ...SOURCE_KEYS] as const;
const GENERATE_KEYS = ['entries', 'doubled', 'format'] as const;
const REGENERATE_KEYS = ['start', 'every', 'until', 'good', 'bad', 'bad_share'] as const;
const SHARE_RAMP_KEYS = ['from', 'to', 'over'] as const;
const MANUAL_KEYS = ['detect_after', 'rollback_after'] as const;

/** Defaults for every optional key; docs/scenarios.md lists the same values. */
export const SCENARIO_DEFAULTS = {
  seed: 1,
  tick_ms: 1000,
  propagation_ms: 2000,
  rps_per_node: 100,
  error_rate: 0.0001,
  latency_median_ms: 20,
  latency_p99_ms: 200,
  noise: 0.1,
} as const;

/** Hard bounds that keep one run within seconds and memory within reason. */
const MAX_NODES = 200_000;
const MAX_TICKS = 200_000;

/**
 * Parses a scenario file. Never throws: every problem comes back as a `FailsmallError` with
 * its code, file, line, column and a hint, in the same style as `parseDeclarations` (whose
 * errors for the embedded `modules:`, `artifacts:` and `policies:` come back unchanged).
 *
 * Examples
 *   const r = parseScenario(readFileSync(f, 'utf8'), { file: f });
 *   if (!r.ok) for (const e of r.errors) console.error(formatError(e));
 *   else console.log(simulate(r.value).ratios);
 */
export function parseScenario(text: string, opts: { file?: string } = {}): Result<Scenario> {
  return guardedParse(text, { ...(opts.file !== undefined ? { file: opts.file } : {}), what: 'scenario parser' }, () => parseOrReport(text, opts.file));
}

function parseOrReport(text: string, file: string | undefined): Result<Scenario> {
  const loaded = YamlSource.load(text, file);
  if (!loaded.ok) return { ok: false, errors: sortErrors(loaded.errors), warnings: [] };
  const src = loaded.source;
  const top = src.deref(loaded.root);
  if (top === null || !isMap(top)) {
    src.errorAt(top === null ? 'EMPTY_DOCUMENT' : 'WRONG_TYPE', top === null ? 'the scenario is empty' : `a scenario must be a mapping, got ${describeNode(top)}`,
      src.position(top) ?? { line: 1, col: 1 }, undefined, 'start with name:, duration:, fleet:, modules:, artifacts:, policies:, behaviour: and change:');
    return { ok: false, errors: sortErrors(src.errors), warnings: [] };
  }
  // The declarations are parsed by the real policy parser, on a copy of the text where every
  // other top-level section is blanked out: line and column numbers stay the same.
  const declared = parseDeclarations(declarationsText(text, top), file !== undefined ? { file } : {});
  const reader = new ScenarioReader(src, declared.ok ? declared.value : null);
  const scenario = reader.read(top);
  const errors = sortErrors([...src.errors, ...(declared.ok ? [] : declared.errors)]);
  const warnings: Warning[] = [...declared.warnings];
  if (errors.length > 0 || scenario === null) return { ok: false, errors: errors.length > 0 ? errors : [{ code: 'INTERNAL_ERROR', message: 'the scenario could not be read', ...(file !== undefined ? { file } : {}) }], warnings };
  return { ok: true, value: scenario, warnings };
}

/**
 * The text with every non-declaration top-level entry replaced by spaces (newlines kept). An
 * entry is blanked up to the next entry's key (its comma included, in flow style); the last one
 * up to the end of its value, so that the closing brace of a flow or JSON document stays.
 */
function declarationsText(text: string, top: YAMLMap): string {
  const starts: { start: number; end: number; keep: boolean }[] = [];
  for (const pair of top.items) {
    if (!isPair(pair)) continue;
    const key = pair.key as Node | null;
    const start = key?.range?.[0];
    if (start === undefined) continue;
    const name = isScalar(key) ? String(key.value) : '';
    const end = (pair.value as Node | null)?.range?.[1] ?? key?.range?.[1] ?? text.length;
    starts.push({ start, end, keep: DECLARATION_KEYS.includes(name) || name.startsWith('x-') });
  }
  starts.sort((a, b) => a.start - b.start);
  const chars = text.split('');
  starts.forEach((s, i) => {
    if (s.keep) return;
    const end = starts[i + 1]?.start ?? (top.flow ? s.end : text.length);
    for (let c = s.start; c < end; c++) if (chars[c] !== '\n' && chars[c] !== '\r') chars[c] = ' ';
  });
  return chars.join('');
}

class ScenarioReader {
  readonly #src: YamlSource;
  readonly #f: FieldReader;
  readonly #decl: Declarations | null;
  /** Label keys and values declared under fleet.labels, even when their shares are wrong (no cascade of errors). */
  readonly #labelValues = new Map<string, string[]>();
  readonly #conditions: ConditionsReader;

  constructor(src: YamlSource, decl: Declarations | null) {
    this.#src = src;
    this.#f = new FieldReader(src);
    this.#decl = decl;
    this.#conditions = new ConditionsReader(src, this.#f, (e) => this.#where(e));
  }

  read(top: YAMLMap): Scenario | null {
    const src = this.#src;
    const entries = src.entries(top, '');
    src.checkKeys(entries, SCENARIO_KEYS, 'the scenario');
    const get = (k: string): SourceEntry | undefined => entries.find((e) => e.key === k);
    const need = (k: string, hint: string): SourceEntry | undefined => {
      const e = get(k);
      if (!e) src.errorAt('MISSING_KEY', `missing required key "${k}"`, src.position(top) ?? { line: 1, col: 1 }, undefined, hint);
      return e;
    };

    const nameEntry = need('name', 'e.g. name: nov18-oversized-feature-file');
    const name = nameEntry ? this.#f.string(nameEntry) : undefined;
    const descEntry = get('description');
    const description = descEntry ? this.#f.string(descEntry) : undefined;
    const seedEntry = get('seed');
    const seed = seedEntry ? this.#f.number(seedEntry, { min: 0, integer: true }) : SCENARIO_DEFAULTS.seed;
    const durationEntry = need('duration', 'e.g. duration: 1h');
    const duration = durationEntry ? this.#f.duration(durationEntry) : undefined;
    const tickEntry = get('tick');
    const tick = tickEntry ? this.#f.duration(tickEntry) : SCENARIO_DEFAULTS.tick_ms;
    const propEntry = get('propagation');
    const propagation = propEntry ? this.#f.duration(propEntry) : SCENARIO_DEFAULTS.propagation_ms;
    if (duration !== undefined && tick !== undefined) {
      const at = tickEntry?.value ?? durationEntry?.value;
      if (tick > duration) src.error('BAD_VALUE', `tick (${tick} ms) is longer than the whole duration`, at, tickEntry ? 'tick' : 'duration', 'e.g. tick: 1s');
      else if (duration / tick > MAX_TICKS) src.error('BAD_VALUE', `duration / tick is ${Math.ceil(duration / tick)} ticks; the limit is ${MAX_TICKS}`, at, tickEntry ? 'tick' : 'duration', 'use a longer tick (e.g. tick: 5s) or a shorter duration');
    }

    const fleetEntry = need('fleet', 'e.g. fleet: { nodes: 10000, labels: { proxy: { fl2: 0.7, fl1: 0.3 } } }');
    const fleet = fleetEntry ? this.#fleet(fleetEntry) : undefined;
    const trafficEntry = get('traffic');
    const traffic = trafficEntry ? this.#traffic(trafficEntry) : defaultTraffic();

    const changeEntry = need('change', 'e.g. change: { artifact: bot-management-feature-file, versions: [ { at: 5m, generate: { entries: 240 } } ] }');
    const changeRead = changeEntry ? this.#change(changeEntry, duration) : undefined;
    const artifact = changeRead?.artifact;
    const module = artifact ? this.#decl?.modules.find((m) => m.name === artifact.module) : undefined;

    const behaviourEntry = need('behaviour', 'describe what the module does with content it cannot handle, e.g. behaviour: { bot-management: [ { cannot_handle: { entries_over: 200 }, effect: crash } ] }');
    const behaviour = behaviourEntry ? this.#behaviour(behaviourEntry, artifact?.module) : undefined;

    const policyEntry = get('policy');
    let policyName = policyEntry ? this.#f.string(policyEntry) : artifact?.policy;
    if (!policyEntry && artifact && policyName === undefined && this.#decl) {
      src.errorAt('MISSING_KEY', `no policy: given, and artifact "${artifact.name}" declares no default policy`, src.position(top) ?? { line: 1, col: 1 }, undefined,
        `add policy: <name> (declared: ${this.#decl.policies.map((p) => p.name).join(', ') || 'none'})`);
    }
    const policy = policyName !== undefined && this.#decl ? this.#decl.policies.find((p) => p.name === policyName) : undefined;
    if (policyName !== undefined && this.#decl && !policy) {
      const names = this.#decl.policies.map((p) => p.name);
      src.error('UNKNOWN_POLICY', `policy "${policyName}" is not declared under policies:`, policyEntry?.value ?? changeEntry?.value, policyEntry ? 'policy' : 'change.artifact', didYouMean(policyName, names, 'policies'));
      policyName = undefined;
    }
    if (policy?.artifact !== undefined && artifact && policy.artifact !== artifact.name && policyEntry) {
      src.error('UNKNOWN_POLICY', `policy "${policy.name}" is for artifact "${policy.artifact}", not "${artifact.name}"`, policyEntry.value, 'policy', 'pick a policy for this artifact, or remove its artifact: line');
    }

    const manualEntry = get('manual');
    const manual = manualEntry ? this.#manual(manualEntry) : null;
    const humanEntry = get('human');
    const human = humanEntry ? this.#conditions.human(humanEntry) : null;
    const faultsEntry = get('faults');
    const faults = faultsEntry ? this.#conditions.faults(faultsEntry, duration) : [];

    if (src.errors.length > 0 || !this.#decl) return null;
    if (name === undefined || seed === undefined || duration === undefined || tick === undefined || propagation === undefined || !fleet || !traffic
      || !changeRead || !artifact || !module || !behaviour || !policy || manual === undefined || human === undefined || faults === undefined || description === undefined && descEntry) return null;
    return {
      name, description: description ?? null, seed, duration_ms: duration, tick_ms: tick, propagation_ms: propagation, fleet, traffic,
      declarations: this.#decl, artifact, module, policy, behaviour, change: changeRead.change, manual, human, faults,
    };
  }

  // ── sections ──────────────────────────────────────────────────────────────

  #fleet(e: SourceEntry): FleetSpec | undefined {
    const map = this.#f.map(e, 'e.g. fleet: { nodes: 10000 }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, FLEET_KEYS, 'fleet');
    const nodesEntry = this.#f.require(entries, 'nodes', map, e.path, 'e.g. nodes: 10000');
    const nodes = nodesEntry ? this.#f.number(nodesEntry, { min: 1, max: MAX_NODES, integer: true }) : undefined;
    const labelsEntry = entries.find((x) => x.key === 'labels');
    const labels: LabelDistribution[] = [];
    if (labelsEntry) {
      const lmap = this.#f.map(labelsEntry, 'e.g. labels: { proxy: { fl2: 0.7, fl1: 0.3 } }');
      if (lmap) {
        for (const l of this.#src.entries(lmap, labelsEntry.path)) {
          this.#labelValues.set(l.key, isMap(l.value) ? this.#src.entries(l.value, l.path).map((v) => v.key) : []);
          const d = this.#distribution(l);
          if (d) labels.push({ key: l.key, values: d });
        }
      }
    }
    return nodes === undefined ? undefined : { nodes, labels };
  }

  /** `{ value: share, … }`: shares are ratios (0.7) or percentages ("70%") and must sum to 1. */
  #distribution(e: SourceEntry): { value: string; share: number }[] | undefined {
    const map = this.#f.map(e, `e.g. ${e.key}: { a: 0.5, b: 0.5 }`);
    if (!map) return undefined;
    const out: { value: string; share: number }[] = [];
    let ok = true;
    for (const v of this.#src.entries(map, e.path)) {
      const share = this.#f.ratio(v, { rangeCode: 'BAD_DISTRIBUTION' });
      if (share === undefined) { ok = false; continue; }
      out.push({ value: v.key, share });
    }
    if (!ok) return undefined;
    if (out.length === 0) {
      this.#src.error('BAD_DISTRIBUTION', `label ${e.key} has no values`, e.keyNode, e.path, `e.g. ${e.key}: { a: 0.5, b: 0.5 }`);
      return undefined;
    }
    const sum = out.reduce((a, b) => a + b.share, 0);
    if (Math.abs(sum - 1) > 1e-6) {
      this.#src.error('BAD_DISTRIBUTION', `the shares of label ${e.key} sum to ${Number(sum.toPrecision(6))}, not 1`, e.value, e.path,
        `make them add up to 1 (100%), e.g. ${out.map((o) => `${o.value}: ${Number((o.share / sum).toFixed(3))}`).join(', ')}`);
      return undefined;
    }
    return out;
  }

  #traffic(e: SourceEntry): TrafficSpec | undefined {
    const map = this.#f.map(e, 'e.g. traffic: { rps_per_node: 100, error_rate: 0.0001 }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, TRAFFIC_KEYS, 'traffic');
    const get = (k: string): SourceEntry | undefined => entries.find((x) => x.key === k);
    const d = defaultTraffic();
    const rpsE = get('rps_per_node');
    const rps = rpsE ? this.#f.number(rpsE, { min: 0, exclusiveMin: true, max: 1e6 }) : d.rps_per_node;
    const errE = get('error_rate');
    const err = errE ? this.#f.number(errE, { min: 0, max: 1 }) : d.error_rate;
    const noiseE = get('noise');
    const noise = noiseE ? this.#f.number(noiseE, { min: 0, max: 3 }) : d.noise;
    let median: number | undefined = d.latency_median_ms;
    let p99: number | undefined = d.latency_p99_ms;
    const latE = get('latency_ms');
    if (latE) {
      const lmap = this.#f.map(latE, 'e.g. latency_ms: { median: 20, p99: 200 }');
      if (lmap) {
        const le = this.#src.entries(lmap, latE.path);
        this.#src.checkKeys(le, LATENCY_KEYS, 'latency_ms');
        const m = le.find((x) => x.key === 'median');
        const p = le.find((x) => x.key === 'p99');
        if (m) median = this.#f.number(m, { min: 0, exclusiveMin: true });
        if (p) p99 = this.#f.number(p, { min: 0, exclusiveMin: true });
        if (median !== undefined && p99 !== undefined && p99 <= median) {
          this.#src.error('BAD_VALUE', `latency p99 (${p99} ms) must be greater than the median (${median} ms)`, p?.value ?? latE.value, `${latE.path}.p99`, 'e.g. latency_ms: { median: 20, p99: 200 }');
          p99 = undefined;
        }
      } else {
        median = undefined;
      }
    }
    const badE = get('bad_nodes');
    const badNodes = badE ? this.#conditions.badNodes(badE) : null;
    const burstsE = get('bursts');
    const bursts = burstsE ? this.#conditions.bursts(burstsE) : null;
    if (rps === undefined || err === undefined || noise === undefined || median === undefined || p99 === undefined || badNodes === undefined || bursts === undefined) return undefined;
    return { rps_per_node: rps, error_rate: err, noise, latency_median_ms: median, latency_p99_ms: p99, bad_nodes: badNodes, bursts };
  }

  #behaviour(e: SourceEntry, loadingModule: string | undefined): BehaviourRule[] | undefined {
    const map = this.#f.map(e, 'e.g. behaviour: { bot-management: [ { cannot_handle: { entries_over: 200 }, effect: crash } ] }');
    if (!map) return undefined;
    const rules: BehaviourRule[] = [];
    let ok = true;
    const modules = this.#decl?.modules.map((m) => m.name) ?? [];
    for (const m of this.#src.entries(map, e.path)) {
      if (this.#decl && !modules.includes(m.key)) {
        this.#src.error('UNKNOWN_MODULE', `module "${m.key}" is not declared under modules:`, m.keyNode, m.path, didYouMean(m.key, modules, 'modules'));
        ok = false;
        continue;
      }
      if (loadingModule !== undefined && m.key !== loadingModule) {
        this.#src.error('MODULE_NOT_LOADED', `module "${m.key}" does not load the artifact under change; only "${loadingModule}" receives its content`, m.keyNode, m.path,
          `describe ${loadingModule} here (its failures show up in every module's request metrics)`);
        ok = false;
        continue;
      }
      if (m.value === null) continue;
      if (!isSeq(m.value)) {
        this.#src.error('WRONG_TYPE', `behaviour of ${m.key} must be a list of rules, got ${describeNode(m.value)}`, m.value, m.path, '- { where: { proxy: fl2 }, cannot_handle: { entries_over: 200 }, effect: crash }');
        ok = false;
        continue;
      }
      m.value.items.forEach((item, i) => {
        const path = `${m.path}[${i}]`;
        const node = this.#src.deref(item as Node);
        if (!isMap(node)) {
          this.#src.error('WRONG_TYPE', `rule ${i + 1} must be a mapping with cannot_handle: and effect:, got ${describeNode(node)}`, node ?? m.value, path);
          ok = false;
          return;
        }
        const r = this.#rule(node, path);
        if (r) rules.push(r); else ok = false;
      });
    }
    return ok ? rules : undefined;
  }

  #rule(map: YAMLMap, path: string): BehaviourRule | undefined {
    const src = this.#src;
    const entries = src.entries(map, path);
    src.checkKeys(entries, RULE_KEYS, 'a behaviour rule');
    const whereE = entries.find((x) => x.key === 'where');
    const where = whereE ? this.#where(whereE) : [];
    const ok = where !== undefined;
    const predE = this.#f.require(entries, 'cannot_handle', map, path, 'e.g. cannot_handle: { entries_over: 200 }');
    const pred = predE ? this.#predicate(predE) : undefined;
    const effE = this.#f.require(entries, 'effect', map, path, 'effect: crash, effect: degrade, or effect: { error_rate: 0.02, add_latency: 300ms, ramp: 10m }');
    const effect = effE ? this.#effect(effE) : undefined;
    if (!ok || !pred || !effect) return undefined;
    return { where, cannot_handle: pred, effect };
  }

  /** A `where:` mapping: every condition must hold. */
  #where(e: SourceEntry): LabelCondition[] | undefined {
    const wmap = this.#f.map(e, WHERE_HINT);
    if (!wmap) return undefined;
    const where: LabelCondition[] = [];
    let ok = true;
    for (const w of this.#src.entries(wmap, e.path)) {
      const cond = this.#condition(w);
      if (cond === undefined) ok = false; else where.push(cond);
    }
    return ok ? where : undefined;
  }

  /**
   * One `where:` condition: `key: value`, `key: [a, b]` (any of them), or `key: { not: value }` /
   * `key: { not: [a, b] }` (none of them). Every value must be one the fleet's labels give.
   */
  #condition(w: SourceEntry): LabelCondition | undefined {
    const src = this.#src;
    const known = this.#labelValues.get(w.key);
    if (!known) {
      src.error('UNKNOWN_LABEL', `label "${w.key}" is not one of fleet.labels`, w.keyNode, w.path, didYouMean(w.key, [...this.#labelValues.keys()], 'labels'));
      return undefined;
    }
    let negated = false;
    let e: SourceEntry = w;
    if (isMap(w.value)) {
      const inner = src.entries(w.value, w.path);
      src.checkKeys(inner, ['not'] as const, `where: ${w.key}`);
      const not = inner.find((x) => x.key === 'not');
      if (!not) {
        src.error('MISSING_KEY', `where: ${w.key} as a mapping needs not:`, w.value, w.path, WHERE_HINT);
        return undefined;
      }
      negated = true;
      e = not;
    }
    const values: string[] = [];
    let ok = true;
    const items = isSeq(e.value) ? e.value.items.map((item, i) => ({ node: item as Node, path: `${e.path}[${i}]` })) : [{ node: e.value, path: e.path }];
    if (items.length === 0) {
      src.error('BAD_VALUE', `where: ${w.key} lists no values`, e.value ?? e.keyNode, e.path, WHERE_HINT);
      return undefined;
    }
    for (const item of items) {
      const node = item.node === null ? null : src.deref(item.node);
      if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
        src.error('WRONG_TYPE', `where: ${w.key} must be a label value, a list of them, or { not: … }, got ${describeNode(node)}`, node ?? e.keyNode, item.path, WHERE_HINT);
        ok = false;
        continue;
      }
      const value = String(node.value);
      if (!known.includes(value)) {
        src.error('UNKNOWN_LABEL', `label ${w.key} has no value "${value}" in fleet.labels`, node, item.path, didYouMean(value, known, 'values'));
        ok = false;
      } else values.push(value);
    }
    return ok ? { key: w.key, values, negated } : undefined;
  }

  #predicate(e: SourceEntry): ContentPredicate | undefined {
    const map = this.#f.map(e, 'e.g. cannot_handle: { entries_over: 200 } or { contains: "action: execute" }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, PREDICATE_KEYS, 'cannot_handle');
    const out: { -readonly [K in keyof ContentPredicate]: ContentPredicate[K] } = {};
    let ok = true;
    for (const x of entries) {
      if (x.key === 'entries_over' || x.key === 'bytes_over') {
        const n = this.#f.number(x, { min: 0, integer: true });
        if (n === undefined) ok = false; else out[x.key] = n;
      } else if (x.key === 'contains' || x.key === 'version') {
        const s = this.#f.string(x);
        if (s === undefined) ok = false; else out[x.key] = s;
      }
    }
    if (ok && Object.keys(out).length === 0) {
      this.#src.error('MISSING_KEY', 'cannot_handle needs at least one condition', e.value ?? e.keyNode, e.path, `one of ${PREDICATE_KEYS.join(', ')}`);
      return undefined;
    }
    return ok ? out : undefined;
  }

  #effect(e: SourceEntry): Effect | undefined {
    const v = e.value;
    const none: Effect = { crash: false, at_load: false, degrade: false, error_rate: 0, add_latency_ms: 0, latency_factor: 1, ramp_ms: 0 };
    if (isScalar(v) && typeof v.value === 'string') {
      // `crash` is the older name of crash_at_load: the module fails as it takes the file.
      if (v.value === 'crash_at_load' || v.value === 'crash') return { ...none, crash: true, at_load: true };
      if (v.value === 'request_errors') return { ...none, crash: true };
      if (v.value === 'degrade') return { ...none, degrade: true };
      this.#src.error('BAD_ENUM', `effect must be crash_at_load, request_errors, degrade or a mapping, got ${describeNode(v)}`, v, e.path, `${didYouMean(v.value, EFFECTS, 'effects')} (or { error_rate: 0.02, add_latency: 300ms, ramp: 10m })`);
      return undefined;
    }
    const map = this.#f.map(e, 'effect: crash, effect: degrade, or effect: { error_rate: 0.02, add_latency: 300ms, ramp: 10m }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, EFFECT_KEYS, 'effect');
    const get = (k: string): SourceEntry | undefined => entries.find((x) => x.key === k);
    const errE = get('error_rate');
    const err = errE ? this.#f.number(errE, { min: 0, max: 1 }) : 0;
    const latE = get('add_latency');
    const lat = latE ? this.#f.duration(latE) : 0;
    const factorE = get('latency_factor');
    const factor = factorE ? this.#f.number(factorE, { min: 0.1, max: 100 }) : 1;
    const rampE = get('ramp');
    const ramp = rampE ? this.#f.duration(rampE) : 0;
    if (err === undefined || lat === undefined || factor === undefined || ramp === undefined) return undefined;
    if (err === 0 && lat === 0 && factor === 1) {
      this.#src.error('MISSING_KEY', 'an effect mapping needs error_rate:, add_latency: or latency_factor:', map, e.path, 'e.g. effect: { error_rate: 0.02, ramp: 10m } or effect: { latency_factor: 1.3 }');
      return undefined;
    }
    return { ...none, error_rate: err, add_latency_ms: lat, latency_factor: factor, ramp_ms: ramp };
  }

  #change(e: SourceEntry, duration: number | undefined): { change: ChangeSpec; artifact: Scenario['artifact'] | undefined } | undefined {
    const map = this.#f.map(e, 'e.g. change: { artifact: NAME, versions: [ { at: 5m, content: "…" } ] }');
    if (!map) return undefined;
    const src = this.#src;
    const entries = src.entries(map, e.path);
    src.checkKeys(entries, CHANGE_KEYS, 'change');
    const get = (k: string): SourceEntry | undefined => entries.find((x) => x.key === k);
    const artE = this.#f.require(entries, 'artifact', map, e.path, 'name the artifact that changes, e.g. artifact: bot-management-feature-file');
    const artName = artE ? this.#f.string(artE) : undefined;
    let artifact: Scenario['artifact'] | undefined;
    if (artName !== undefined && artE && this.#decl) {
      artifact = this.#decl.artifacts.find((a) => a.name === artName);
      if (!artifact) src.error('UNKNOWN_ARTIFACT', `artifact "${artName}" is not declared under artifacts:`, artE.value, artE.path, didYouMean(artName, this.#decl.artifacts.map((a) => a.name), 'artifacts'));
    }
    const initE = get('initial');
    const initial = initE ? this.#source(initE) : null;
    const versions: VersionPush[] = [];
    let ok = initial !== undefined;
    const versE = get('versions');
    if (versE && versE.value !== null) {
      if (!isSeq(versE.value)) {
        src.error('WRONG_TYPE', `versions must be a list, got ${describeNode(versE.value)}`, versE.value, versE.path, '- { at: 5m, generate: { entries: 240 } }');
        ok = false;
      } else {
        versE.value.items.forEach((item, i) => {
          const path = `${versE.path}[${i}]`;
          const node = src.deref(item as Node);
          if (!isMap(node)) {
            src.error('WRONG_TYPE', `version ${i + 1} must be a mapping with at: and content: or generate:, got ${describeNode(node)}`, node ?? versE.value, path);
            ok = false;
            return;
          }
          const pe = src.entries(node, path);
          src.checkKeys(pe, PUSH_KEYS, 'a version push');
          const afterE = pe.find((x) => x.key === 'after_detection');
          const atE = afterE ? pe.find((x) => x.key === 'at') : this.#f.require(pe, 'at', node, path, 'e.g. at: 5m, or after_detection: 10m for a fix pushed in response');
          if (atE && afterE) src.error('BAD_VALUE', 'give at: or after_detection:, not both', afterE.keyNode, afterE.path, 'at: is a fixed time; after_detection: counts from each regime\'s detection');
          const at = atE ? this.#f.duration(atE, { zeroOk: true }) : null;
          const after = afterE ? this.#f.duration(afterE, { zeroOk: true }) : null;
          if (typeof at === 'number' && duration !== undefined && at >= duration && atE) {
            src.error('BAD_VALUE', `at ${atE.value && isScalar(atE.value) ? String(atE.value.value) : ''} is not before the end of the scenario`, atE.value, atE.path, 'push before duration:');
          }
          const labelE = pe.find((x) => x.key === 'version');
          const label = labelE ? this.#f.string(labelE) : null;
          const s = this.#sourceFrom(pe, node, path);
          if (at === undefined || after === undefined || (atE && afterE) || s === undefined || label === undefined) { ok = false; return; }
          versions.push({ at_ms: at, after_detection_ms: after, source: s, version: label });
        });
      }
    }
    const regE = get('regenerate');
    const regenerate = regE ? this.#regenerate(regE, duration) : null;
    if (regenerate === undefined) ok = false;
    if (ok && versions.length === 0 && !regenerate) {
      src.error('MISSING_KEY', 'the change pushes nothing: give versions: or regenerate:', e.keyNode, e.path, 'e.g. versions: [ { at: 5m, generate: { entries: 240 } } ]');
      ok = false;
    }
    if (!ok || initial === undefined || regenerate === undefined) return { change: { initial: null, versions: [], regenerate: null }, artifact };
    versions.sort((a, b) => (a.at_ms ?? Infinity) - (b.at_ms ?? Infinity));
    return { change: { initial, versions, regenerate }, artifact };
  }

  #regenerate(e: SourceEntry, duration: number | undefined): Regenerate | undefined {
    const map = this.#f.map(e, 'e.g. regenerate: { every: 5m, good: { generate: { entries: 120 } }, bad: { generate: { entries: 120, doubled: true } }, bad_share: 0.5 }');
    if (!map) return undefined;
    const src = this.#src;
    const entries = src.entries(map, e.path);
    src.checkKeys(entries, REGENERATE_KEYS, 'regenerate');
    const get = (k: string): SourceEntry | undefined => entries.find((x) => x.key === k);
    const startE = get('start');
    const start = startE ? this.#f.duration(startE, { zeroOk: true }) : 0;
    const everyE = this.#f.require(entries, 'every', map, e.path, 'e.g. every: 5m');
    const every = everyE ? this.#f.duration(everyE) : undefined;
    const untilE = get('until');
    const until = untilE ? this.#f.duration(untilE) : duration;
    const goodE = this.#f.require(entries, 'good', map, e.path, 'e.g. good: { generate: { entries: 120 } }');
    const good = goodE ? this.#source(goodE) : undefined;
    const badE = this.#f.require(entries, 'bad', map, e.path, 'e.g. bad: { generate: { entries: 120, doubled: true } }');
    const bad = badE ? this.#source(badE) : undefined;
    const shareE = this.#f.require(entries, 'bad_share', map, e.path, 'e.g. bad_share: 0.5, or bad_share: { from: 0.5, to: 1, over: 30m }');
    let share: Regenerate['bad_share'] | undefined;
    if (shareE) {
      if (isScalar(shareE.value)) {
        const s = this.#f.ratio(shareE, { rangeCode: 'BAD_DISTRIBUTION' });
        if (s !== undefined) share = { from: s, to: s, over_ms: 0 };
      } else {
        const smap = this.#f.map(shareE, 'e.g. bad_share: { from: 0.5, to: 1, over: 30m }');
        if (smap) {
          const se = src.entries(smap, shareE.path);
          src.checkKeys(se, SHARE_RAMP_KEYS, 'bad_share');
          const f = this.#f.require(se, 'from', smap, shareE.path, 'e.g. from: 0.5');
          const t = this.#f.require(se, 'to', smap, shareE.path, 'e.g. to: 1');
          const o = this.#f.require(se, 'over', smap, shareE.path, 'e.g. over: 30m');
          const from = f ? this.#f.ratio(f, { rangeCode: 'BAD_DISTRIBUTION' }) : undefined;
          const to = t ? this.#f.ratio(t, { rangeCode: 'BAD_DISTRIBUTION' }) : undefined;
          const over = o ? this.#f.duration(o) : undefined;
          if (from !== undefined && to !== undefined && over !== undefined) share = { from, to, over_ms: over };
        }
      }
    }
    if (start === undefined || every === undefined || until === undefined || good === undefined || bad === undefined || share === undefined || good === null || bad === null) return undefined;
    return { start_ms: start, every_ms: every, until_ms: until, good, bad, bad_share: share };
  }

  /** A mapping with content: or generate:. */
  #source(e: SourceEntry): ContentSource | null | undefined {
    if (e.value === null || (isScalar(e.value) && e.value.value === null)) return null;
    const map = this.#f.map(e, 'e.g. { content: "…" } or { generate: { entries: 120 } }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, SOURCE_KEYS, e.key);
    return this.#sourceFrom(entries, map, e.path);
  }

  #sourceFrom(entries: readonly SourceEntry[], owner: Node, path: string): ContentSource | undefined {
    const src = this.#src;
    const content = entries.find((x) => x.key === 'content');
    const gen = entries.find((x) => x.key === 'generate');
    if (content && gen) {
      src.error('BAD_VALUE', 'give content: or generate:, not both', gen.keyNode, gen.path, 'remove one of them');
      return undefined;
    }
    if (content) {
      const text = this.#f.string(content);
      return text === undefined ? undefined : { type: 'literal', text };
    }
    if (!gen) {
      src.error('MISSING_KEY', 'missing the content: give content: or generate:', owner, path, 'e.g. content: "key: value" or generate: { entries: 120 }');
      return undefined;
    }
    const gmap = this.#f.map(gen, 'e.g. generate: { entries: 120, doubled: true }');
    if (!gmap) return undefined;
    const ge = src.entries(gmap, gen.path);
    src.checkKeys(ge, GENERATE_KEYS, 'generate');
    const nE = this.#f.require(ge, 'entries', gmap, gen.path, 'e.g. entries: 120');
    const n = nE ? this.#f.number(nE, { min: 0, max: 1_000_000, integer: true }) : undefined;
    const dE = ge.find((x) => x.key === 'doubled');
    const doubled = dE ? this.#f.boolean(dE) : false;
    const fE = ge.find((x) => x.key === 'format');
    let format: 'json' | 'lines' | undefined = 'json';
    if (fE) {
      const f = this.#f.scalarText(fE);
      format = f === 'json' || f === 'lines' ? f : undefined;
      if (f !== undefined && format === undefined) src.error('BAD_ENUM', `format must be json or lines, got "${f}"`, fE.value, fE.path, didYouMean(f, ['json', 'lines'], 'formats'));
    }
    if (n === undefined || doubled === undefined || format === undefined) return undefined;
    return { type: 'generate', entries: n, doubled, format };
  }

  #manual(e: SourceEntry): ManualResponse | undefined {
    const map = this.#f.map(e, 'e.g. manual: { detect_after: 26m, rollback_after: 3h25m }');
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, MANUAL_KEYS, 'manual');
    const dE = this.#f.require(entries, 'detect_after', map, e.path, 'e.g. detect_after: 26m');
    const rE = this.#f.require(entries, 'rollback_after', map, e.path, 'e.g. rollback_after: 3h25m');
    const d = dE ? this.#f.duration(dE) : undefined;
    const r = rE ? this.#f.duration(rE) : undefined;
    if (d !== undefined && r !== undefined && r < d && rE) {
      this.#src.error('BAD_VALUE', 'rollback_after is earlier than detect_after', rE.value, rE.path, 'both count from the first bad push; a rollback comes after detection');
      return undefined;
    }
    return d === undefined || r === undefined ? undefined : { detect_after_ms: d, rollback_after_ms: r };
  }
}

function defaultTraffic(): TrafficSpec {
  const d = SCENARIO_DEFAULTS;
  return { rps_per_node: d.rps_per_node, error_rate: d.error_rate, latency_median_ms: d.latency_median_ms, latency_p99_ms: d.latency_p99_ms, noise: d.noise, bad_nodes: null, bursts: null };
}
