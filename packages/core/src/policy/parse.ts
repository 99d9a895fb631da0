import { NAME, NAME_HINT, nameProblem } from '../names/index.ts';
import { isMap, isScalar, isSeq } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import { formatDuration as formatDurationText, parseDuration } from '../duration/index.ts';
import type { FailsmallError, Result, Warning } from '../errors/index.ts';
import { lintDeclarations } from './lint.ts';
import { BUILTIN_METRICS, CUSTOM_METRIC_PREFIX, isCustomMetric, metricInfo } from './metrics.ts';
import { countSize, formatScope, isLabel, isLabelValue, makeScope, parseScope, parseScopeSize, selectorKey } from './scope.ts';
import { describe, isNodeLike, joinPath, valueNode, YamlSource } from '../yaml/source.ts';
import type { Entry, Position } from '../yaml/source.ts';
import { FieldReader } from '../yaml/fields.ts';
import { sortErrors } from '../yaml/sort-errors.ts';
import { suggest } from '../yaml/suggest.ts';
import { checkGateQuery } from '../promql/template.ts';
import { guardedParse } from '../yaml/guarded.ts';
import type { ChangeTouches } from '../triage/input.ts';
import type {
  ArtifactDecl,
  ArtifactKind,
  ArtifactValidation,
  Declarations,
  GateDirection,
  GateSpec,
  LabelMatcher,
  ModuleDecl,
  OnLoadFailure,
  PolicySpec,
  Scope,
  StageSpec,
} from './types.ts';

export interface ParseOptions {
  /** Shown in every error as `file:line:col`. */
  readonly file?: string;
  /** Modules, artifacts and policies declared elsewhere (e.g. already in the store), for resolving references. */
  readonly known?: Partial<Declarations>;
  /**
   * Checks only the caller can make (the control plane: signatures under its key, validator
   * commands against its own configuration). Problems name a path (`modules.waf.safe_default`);
   * the parser adds the file, line and column.
   */
  readonly check?: (d: Declarations) => { readonly errors: readonly FailsmallError[]; readonly warnings: readonly Warning[] };
}

/** Defaults applied when neither the stage nor its policy sets a value. */
export const POLICY_DEFAULTS = {
  interval_ms: 10_000,
  bake_ms: 60_000,
  load_timeout_ms: 30_000,
  /** max_extension defaults to this many bakes. */
  max_extension_bakes: 2,
  on_inconclusive: 'pause',
  rollback_on_failure: true,
  manual_approval: false,
  gate_window_ms: 60_000,
  gate_min_samples: 1,
  gate_min_coverage: 1,
} as const;

export const ON_LOAD_FAILURE: readonly OnLoadFailure[] = ['serve-stale', 'fail-open', 'fail-closed'];
export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['code', 'config', 'feature-file'];
export const ON_INCONCLUSIVE: readonly StageSpec['on_inconclusive'][] = ['pause', 'rollback'];
export const APPROVALS = ['manual', 'auto'] as const;

export const TOP_LEVEL_KEYS = ['modules', 'artifacts', 'policies', 'deployment'] as const;
export const MODULE_KEYS = ['on_load_failure', 'reason', 'safe_default', 'safe_default_signature'] as const;
export const ARTIFACT_KEYS = ['kind', 'module', 'policy', 'validation', 'touches'] as const;
export const TOUCHES_KEYS = ['dependencies', 'services', 'regions'] as const;
export const VALIDATION_KEYS = ['max_bytes', 'max_entries', 'json_schema', 'command', 'timeout'] as const;
const TIMING_KEYS = ['interval', 'bake', 'load_timeout', 'max_extension', 'on_inconclusive', 'rollback_on_failure'] as const;
export const POLICY_KEYS = ['artifact', ...TIMING_KEYS, 'stages', 'holdback'] as const;
export const HOLDBACK_KEYS = ['scope', 'for', 'health_gates', 'on_failure'] as const;
const HOLDBACK_ON_FAILURE = ['rollback', 'pause'] as const;
export const DEPLOYMENT_KEYS = ['name', ...POLICY_KEYS] as const;
export const STAGE_KEYS = ['name', 'scope', 'health_gates', ...TIMING_KEYS, 'approval', 'manual_approval'] as const;
export const GATE_KEYS = ['name', 'module', 'metric', 'threshold', 'min', 'max', 'window', 'min_samples', 'min_coverage', 'source', 'query', 'compare', 'allowed_degradation', 'alpha', 'on_no_data', 'coverage_query', 'by', 'require_each_group'] as const;
export const GATE_SOURCES = ['builtin', 'prometheus'] as const;
export const GATE_COMPARES = ['threshold', 'baseline'] as const;
export const ON_NO_DATA = ['extend', 'pause', 'rollback'] as const;
export const SCOPE_KEYS = ['nodes', 'where'] as const;


/**
 * Parses a declarations file: modules, artifacts, policies and the seed's `deployment:`
 * form. Never throws: every problem comes back as a `FailsmallError` with a code, a
 * line and column, and a hint, sorted by line. Lint warnings come back beside the value.
 *
 * Examples
 *   const r = parseDeclarations(text, { file: 'failsmall.yaml' });
 *   if (!r.ok) for (const e of r.errors) console.error(formatError(e));
 *   else console.log(r.value.policies[0]?.stages.map((s) => s.scope.text));
 */
export function parseDeclarations(text: string, opts: ParseOptions = {}): Result<Declarations> {
  return guardedParse(text, { ...(opts.file !== undefined ? { file: opts.file } : {}), what: 'policy parser', sizeHint: 'split the declarations into several files' }, () => parseOrReport(text, opts));
}

function parseOrReport(text: string, opts: ParseOptions): Result<Declarations> {
  const file = opts.file;
  const loaded = YamlSource.load(text, file);
  if (!loaded.ok) return { ok: false, errors: sortErrors(loaded.errors), warnings: [] };
  const reader = new DeclarationReader(loaded.source, opts.known ?? {});
  const declarations = reader.read(loaded.root);
  const errors = sortErrors(loaded.source.errors);
  if (errors.length > 0) return { ok: false, errors, warnings: [] };
  const checked = opts.check?.(declarations) ?? { errors: [], warnings: [] };
  if (checked.errors.length > 0) {
    return { ok: false, errors: sortErrors(checked.errors.map((e) => withoutSeverity(reader.locate({ ...e, severity: 'warning' })))), warnings: [] };
  }
  const warnings = [...lintDeclarations(declarations, opts.known), ...checked.warnings].map((w) => reader.locate(w));
  return { ok: true, value: declarations, warnings: sortErrors(warnings, true) };
}

function withoutSeverity(w: Warning): FailsmallError {
  const { severity: _severity, ...e } = w;
  return e;
}

interface Reference {
  readonly kind: 'module' | 'artifact' | 'policy';
  readonly name: string;
  readonly node: Node;
  readonly path: string;
}

/** Walks the document once, building declarations and collecting errors in the source. */
class DeclarationReader {
  readonly #source: YamlSource;
  readonly #f: FieldReader;
  readonly #known: Partial<Declarations>;
  readonly #modules: ModuleDecl[] = [];
  readonly #artifacts: ArtifactDecl[] = [];
  readonly #policies: PolicySpec[] = [];
  readonly #references: Reference[] = [];
  /** Where each policy was declared: `policies.NAME` or `deployment`. */
  readonly #policyPaths = new Map<string, string>();

  constructor(source: YamlSource, known: Partial<Declarations>) {
    this.#source = source;
    this.#f = new FieldReader(source);
    this.#known = known;
  }

  read(root: Node | null): Declarations {
    const src = this.#source;
    const top = src.deref(root);
    if (top === null || (isScalar(top) && (top.value === null || top.value === undefined))) {
      if (src.errors.length === 0) src.errorAt('EMPTY_DOCUMENT', 'the file declares nothing', { line: 1, col: 1 }, undefined, 'add at least one of modules:, artifacts:, policies: or deployment:');
      return this.#result();
    }
    if (!isMap(top)) {
      src.error('WRONG_TYPE', `the top level must be a mapping, got ${describe(top)}`, top, undefined, 'start with modules:, artifacts:, policies: or deployment:');
      return this.#result();
    }
    const entries = src.entries(top, '');
    src.checkKeys(entries, TOP_LEVEL_KEYS, 'the top level');
    if (!entries.some((e) => (TOP_LEVEL_KEYS as readonly string[]).includes(e.key))) {
      src.error('EMPTY_DOCUMENT', 'the file declares nothing', top, undefined, 'add at least one of modules:, artifacts:, policies: or deployment:');
    }
    const get = (k: string): Entry | undefined => entries.find((e) => e.key === k);
    const modules = get('modules');
    if (modules) this.#readNamed(modules, 'module', (name, map, e) => this.#readModule(name, map, e));
    const artifacts = get('artifacts');
    if (artifacts) this.#readNamed(artifacts, 'artifact', (name, map, e) => this.#readArtifact(name, map, e));
    const policies = get('policies');
    if (policies) this.#readNamed(policies, 'policy', (name, map, e) => this.#readPolicy(name, map, e, false));
    const deployment = get('deployment');
    if (deployment) this.#readDeployment(deployment);
    this.#checkReferences();
    return this.#result();
  }

  /** Gives a lint warning the line and column of the path it names. */
  locate(w: Warning): Warning {
    if (w.path === undefined) return w;
    let path = w.path;
    const m = /^policies\.([^.[]+)/.exec(path);
    const base = m?.[1] !== undefined ? this.#policyPaths.get(m[1]) : undefined;
    if (m && base !== undefined) path = base + path.slice(m[0].length);
    // A stage setting inherited from its policy points at the policy's key.
    const inherited = /^(.*)\.stages\[\d+\]\.([a-z_]+)$/.exec(path);
    const at = this.#source.positionOfExactPath(path)
      ?? (inherited ? this.#source.positionOfExactPath(`${inherited[1] ?? ''}.${inherited[2] ?? ''}`) : undefined)
      ?? this.#source.positionOfPath(path);
    const file = this.#source.file;
    return { ...w, path, ...(file !== undefined ? { file } : {}), ...(at ? { line: at.line, col: at.col } : {}) };
  }

  #result(): Declarations {
    return { modules: this.#modules, artifacts: this.#artifacts, policies: this.#policies };
  }

  /** `modules:`, `artifacts:` and `policies:` are mappings from a name to a mapping. */
  #readNamed(section: Entry, noun: string, readOne: (name: string, map: YAMLMap, e: Entry) => void): void {
    const src = this.#source;
    src.mark(section.path, section.keyNode);
    const value = section.value;
    if (value === null) return;
    if (isScalar(value) && value.value === null) return; // `modules:` with nothing under it declares nothing
    if (!isMap(value)) {
      src.error('WRONG_TYPE', `${section.key} must be a mapping from ${noun} name to its declaration, got ${describe(value)}`, value, section.path, `e.g. ${section.key}:\n    my-${noun}: { ... }`);
      return;
    }
    for (const e of src.entries(value, section.path)) {
      src.mark(e.path, e.keyNode);
      if (!this.#checkName(e.key, e.keyNode, e.path, noun)) continue;
      if (e.value === null) continue;
      if (!isMap(e.value)) {
        src.error('WRONG_TYPE', `${noun} "${e.key}" must be a mapping, got ${describe(e.value)}`, valueNode(e), e.path, noun === 'module' ? `e.g. ${e.key}: { on_load_failure: serve-stale }` : undefined);
        continue;
      }
      readOne(e.key, e.value, e);
    }
  }

  #readModule(name: string, map: YAMLMap, owner: Entry): void {
    const src = this.#source;
    const entries = src.entries(map, owner.path);
    src.checkKeys(entries, MODULE_KEYS, `module "${name}"`);
    const f = fields(entries, this.#f);
    const mode = f.require('on_load_failure', owner.keyNode, owner.path, `e.g. on_load_failure: serve-stale (one of ${ON_LOAD_FAILURE.join(', ')})`);
    const onLoadFailure = mode ? this.#f.oneOf(mode, ON_LOAD_FAILURE) : undefined;
    const reasonEntry = f.get('reason');
    const reason = reasonEntry ? this.#f.string(reasonEntry) : undefined;
    const safeDefaultEntry = f.get('safe_default');
    const safeDefault = safeDefaultEntry ? this.#f.string(safeDefaultEntry) : undefined;
    const signatureEntry = f.get('safe_default_signature');
    const signature = signatureEntry ? this.#f.string(signatureEntry) : undefined;
    if (signatureEntry && signature !== undefined) {
      if (!safeDefaultEntry) {
        src.error('SIGNATURE_WITHOUT_DEFAULT', `module "${name}" has safe_default_signature but no safe_default`, valueNode(signatureEntry), signatureEntry.path, 'sign the safe default itself: failsmall artifact sign-default MODULE FILE --key KEY');
      } else if (!/^[A-Za-z0-9+/]{86}==$/.test(signature)) {
        src.error('BAD_SIGNATURE', `module "${name}": safe_default_signature is not an ed25519 signature (88 characters of base64)`, valueNode(signatureEntry), signatureEntry.path, 'paste the line failsmall artifact sign-default printed, unchanged');
      }
    }
    if (onLoadFailure === 'fail-closed' && (reason === undefined || reason.trim() === '') && mode && (!reasonEntry || reason !== undefined)) {
      src.error('FAIL_CLOSED_NEEDS_REASON', `module "${name}" fails closed but gives no reason`, valueNode(mode), mode.path,
        'add reason: "<the security goal that hard-failing serves>", or use serve-stale (keep the last known-good version)');
    }
    this.#modules.push({
      name,
      on_load_failure: onLoadFailure ?? 'serve-stale',
      ...(reason !== undefined ? { reason } : {}),
      ...(safeDefault !== undefined ? { safe_default: safeDefault } : {}),
      ...(safeDefault !== undefined && signature !== undefined ? { safe_default_signature: signature } : {}),
    });
  }

  #readArtifact(name: string, map: YAMLMap, owner: Entry): void {
    const src = this.#source;
    const entries = src.entries(map, owner.path);
    src.checkKeys(entries, ARTIFACT_KEYS, `artifact "${name}"`);
    const f = fields(entries, this.#f);
    const kindEntry = f.require('kind', owner.keyNode, owner.path, `e.g. kind: feature-file (one of ${ARTIFACT_KINDS.join(', ')})`);
    const kind = kindEntry ? this.#f.oneOf(kindEntry, ARTIFACT_KINDS) : undefined;
    const moduleEntry = f.require('module', owner.keyNode, owner.path, 'name the module that loads this artifact, e.g. module: bot-management');
    const module = moduleEntry ? this.#f.string(moduleEntry) : undefined;
    if (moduleEntry && module !== undefined) this.#references.push({ kind: 'module', name: module, node: valueNode(moduleEntry), path: moduleEntry.path });
    const policyEntry = f.get('policy');
    const policy = policyEntry ? this.#f.string(policyEntry) : undefined;
    if (policyEntry && policy !== undefined) this.#references.push({ kind: 'policy', name: policy, node: valueNode(policyEntry), path: policyEntry.path });
    const validationEntry = f.get('validation');
    const validation = validationEntry ? this.#readValidation(validationEntry) : {};
    const touchesEntry = f.get('touches');
    const touches = touchesEntry ? this.#readTouches(touchesEntry) : undefined;
    this.#artifacts.push({ name, kind: kind ?? 'config', module: module ?? '', validation, ...(policy !== undefined ? { policy } : {}), ...(touches !== undefined ? { touches } : {}) });
  }

  /** `touches: { dependencies: [...], services: [...], regions: [...] }`: names, each a list. */
  #readTouches(e: Entry): ChangeTouches | undefined {
    const src = this.#source;
    if (e.value === null || (isScalar(e.value) && e.value.value === null)) return undefined;
    if (!isMap(e.value)) {
      src.error('WRONG_TYPE', `touches must be a mapping, got ${describe(e.value)}`, valueNode(e), e.path, 'e.g. touches: { dependencies: [clickhouse], services: [login], regions: [eu] }');
      return undefined;
    }
    const entries = src.entries(e.value, e.path);
    src.checkKeys(entries, TOUCHES_KEYS, 'touches');
    const f = fields(entries, this.#f);
    const out: { -readonly [K in keyof ChangeTouches]: ChangeTouches[K] } = {};
    for (const key of TOUCHES_KEYS) {
      const list = f.get(key);
      const names = list ? this.#f.strings(list, `e.g. ${key}: [a, b]`) : undefined;
      if (names && names.length > 0) out[key] = names;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  #readValidation(e: Entry): ArtifactValidation {
    const src = this.#source;
    if (e.value === null) return {};
    if (isScalar(e.value) && e.value.value === null) return {};
    if (!isMap(e.value)) {
      src.error('WRONG_TYPE', `validation must be a mapping, got ${describe(e.value)}`, valueNode(e), e.path, 'e.g. validation: { max_bytes: 1048576, max_entries: 200 }');
      return {};
    }
    const entries = src.entries(e.value, e.path);
    src.checkKeys(entries, VALIDATION_KEYS, 'validation');
    const f = fields(entries, this.#f);
    const out: { -readonly [K in keyof ArtifactValidation]: ArtifactValidation[K] } = {};
    const maxBytes = f.get('max_bytes');
    if (maxBytes) out.max_bytes = this.#f.number(maxBytes, { min: 1, integer: true });
    const maxEntries = f.get('max_entries');
    if (maxEntries) out.max_entries = this.#f.number(maxEntries, { min: 1, integer: true });
    const schema = f.get('json_schema');
    if (schema && schema.value !== null) {
      if (isMap(schema.value)) out.json_schema = this.#plainMap(schema.value, schema.path, 0);
      else src.error('WRONG_TYPE', `json_schema must be a mapping (a JSON Schema object), got ${describe(schema.value)}`, valueNode(schema), schema.path);
    }
    const command = f.get('command');
    if (command) out.command = this.#f.string(command);
    const timeout = f.get('timeout');
    if (timeout) out.timeout_ms = this.#f.duration(timeout);
    for (const k of Object.keys(out) as (keyof ArtifactValidation)[]) if (out[k] === undefined) delete out[k];
    return out;
  }

  #readDeployment(e: Entry): void {
    const src = this.#source;
    src.mark(e.path, e.keyNode);
    if (e.value === null) return;
    if (!isMap(e.value)) {
      src.error('WRONG_TYPE', `deployment must be a mapping with artifact: and stages:, got ${describe(e.value)}`, valueNode(e), e.path);
      return;
    }
    const entries = src.entries(e.value, e.path);
    const nameEntry = entries.find((x) => x.key === 'name');
    const artifactEntry = entries.find((x) => x.key === 'artifact');
    const named = nameEntry ?? artifactEntry;
    const name = named ? this.#f.string(named) : undefined;
    if (!named) {
      src.error('MISSING_KEY', 'deployment needs a name: or an artifact: (its name is the artifact name by default)', e.keyNode, e.path, 'add artifact: <artifact name>');
    }
    if (name !== undefined && named && !this.#checkName(name, valueNode(named), named.path, 'policy')) return;
    if (name !== undefined && named && this.#policyPaths.has(name)) {
      src.error('DUPLICATE_KEY', `policy "${name}" is declared twice: under policies: and as deployment:`, valueNode(named), named.path, 'give the deployment a different name: or remove one of them');
    }
    this.#readPolicy(name ?? 'deployment', e.value, e, true, entries);
  }

  #readPolicy(name: string, map: YAMLMap, owner: Entry, deployment: boolean, given?: Entry[]): void {
    const src = this.#source;
    const entries = given ?? src.entries(map, owner.path);
    src.checkKeys(entries, deployment ? DEPLOYMENT_KEYS : POLICY_KEYS, deployment ? 'deployment' : `policy "${name}"`);
    if (!this.#policyPaths.has(name)) this.#policyPaths.set(name, owner.path);
    const f = fields(entries, this.#f);
    const artifactEntry = f.get('artifact');
    const artifact = artifactEntry ? this.#f.string(artifactEntry) : undefined;
    if (artifactEntry && artifact !== undefined) this.#references.push({ kind: 'artifact', name: artifact, node: valueNode(artifactEntry), path: artifactEntry.path });
    const defaults = this.#readTimings(f);
    const stagesEntry = f.require('stages', owner.keyNode, owner.path, 'add stages:, e.g. - { name: canary, scope: 1% nodes, health_gates: [...] }');
    const stages: StageSpec[] = [];
    if (stagesEntry && stagesEntry.value !== null) {
      const list = stagesEntry.value;
      if (!isSeq(list)) {
        src.error('WRONG_TYPE', `stages must be a list, got ${describe(list)}`, valueNode(stagesEntry), stagesEntry.path, 'write each stage on a line starting with "- "');
      } else if (list.items.length === 0) {
        src.error('MISSING_KEY', `policy "${name}" has no stages`, valueNode(stagesEntry), stagesEntry.path, 'add at least one stage, e.g. - { name: canary, scope: 1% nodes }');
      } else {
        list.items.forEach((item, i) => {
          const path = joinPath(stagesEntry.path, i);
          const node = isNodeLike(item) ? src.deref(item) : null;
          if (node === null) return;
          src.mark(path, node);
          if (!isMap(node)) {
            src.error('WRONG_TYPE', `stage ${i + 1} must be a mapping with name: and scope:, got ${describe(node)}`, node, path);
            return;
          }
          const stage = this.#readStage(node, path, defaults);
          if (stage) stages.push(stage.spec);
          this.#checkStageOrder(stages, stage);
        });
      }
    }
    const holdbackEntry = f.get('holdback');
    const clash = holdbackEntry ? stages.find((s) => s.name === 'holdback') : undefined;
    if (clash && holdbackEntry) {
      src.error('DUPLICATE_STAGE', 'a stage is named holdback, and holdback: adds a stage of that name', holdbackEntry.keyNode, holdbackEntry.path, 'rename the stage');
    }
    const holdback = holdbackEntry && stages.length > 0 ? this.#readHoldback(holdbackEntry, stages, defaults) : undefined;
    if (holdback) stages.push(holdback);
    this.#policies.push({ name, ...(artifact !== undefined ? { artifact } : {}), stages });
  }

  /**
   * holdback: a share of the fleet kept on the previous version after the last stage, as the
   * baseline for a slow burn. It becomes one more stage, named holdback, whose cohort is every
   * node but the held-back ones, baked for `for:`, judged by its own gates (default: the last
   * stage's); when it passes, the held-back nodes take the new version too.
   */
  #readHoldback(e: Entry, stages: readonly StageSpec[], policy: Timings): StageSpec | undefined {
    const src = this.#source;
    if (e.value === null || !isMap(e.value)) {
      src.error('WRONG_TYPE', `holdback must be a mapping with scope: and for:, got ${describe(e.value)}`, valueNode(e), e.path, 'e.g. holdback: { scope: 1% nodes, for: 2h }');
      return undefined;
    }
    const map = e.value;
    const entries = src.entries(map, e.path);
    src.checkKeys(entries, HOLDBACK_KEYS, 'holdback');
    const f = fields(entries, this.#f);
    const scopeEntry = f.require('scope', map, e.path, 'e.g. scope: 1% nodes');
    const scope = scopeEntry ? this.#readScope(scopeEntry) : undefined;
    const forEntry = f.require('for', map, e.path, 'e.g. for: 2h');
    const forMs = forEntry ? this.#f.duration(forEntry) : undefined;
    const gatesEntry = f.get('health_gates');
    const last = stages[stages.length - 1];
    const first = stages[0];
    const gates = gatesEntry ? this.#readGates(gatesEntry) : last?.health_gates ?? [];
    const onFailureEntry = f.get('on_failure');
    const onFailure = onFailureEntry ? this.#f.oneOf(onFailureEntry, HOLDBACK_ON_FAILURE) : 'rollback';
    if (scope && scopeEntry) {
      if (scope.selector.length > 0) {
        src.error('BAD_SCOPE', `a holdback is a share of the whole fleet, not of "${scope.text}"`, valueNode(scopeEntry), scopeEntry.path, 'write e.g. scope: 1% nodes, without where');
        return undefined;
      }
      // Larger than the canary, the holdback would keep more nodes back than the first stage risked.
      const larger = first && first.scope.type === scope.type && first.scope.selector.length === 0
        && (scope.type === 'percent' && first.scope.type === 'percent' ? scope.percent > first.scope.percent : scope.type === 'count' && first.scope.type === 'count' ? scope.count > first.scope.count : false);
      if (larger && first) {
        src.error('BAD_SCOPE', `holdback ${scope.text} is larger than the first stage ${first.name} (${first.scope.text})`, valueNode(scopeEntry), scopeEntry.path,
          `keep back at most what the canary risked, e.g. scope: ${first.scope.text}`);
        return undefined;
      }
    }
    if (forMs !== undefined && forEntry && last && forMs < last.interval_ms) {
      src.error('BAD_DURATION', `holdback for: ${formatDurationText(forMs)} is shorter than the interval (${formatDurationText(last.interval_ms)}): its gates would never be read`, valueNode(forEntry), forEntry.path, 'e.g. for: 2h');
      return undefined;
    }
    if (!scope || forMs === undefined || !last || onFailure === undefined) return undefined;
    return {
      name: 'holdback',
      scope: { type: 'percent', percent: 100, selector: [], text: `100% nodes but the holdback (${scope.text})` },
      health_gates: gates,
      rollback_on_failure: onFailure === 'rollback',
      bake_ms: forMs,
      interval_ms: last.interval_ms,
      load_timeout_ms: last.load_timeout_ms,
      max_extension_ms: policy.max_extension_ms ?? last.max_extension_ms,
      on_inconclusive: last.on_inconclusive,
      manual_approval: false,
      holdback: { scope, for_ms: forMs },
    };
  }

  /** Timing keys shared by a policy (as defaults) and its stages (as overrides). */
  #readTimings(f: Fields): Timings {
    const out: { -readonly [K in keyof Timings]: Timings[K] } = {};
    const d = (k: string): number | undefined => {
      const e = f.get(k);
      return e ? this.#f.duration(e) : undefined;
    };
    out.interval_ms = d('interval');
    out.bake_ms = d('bake');
    out.load_timeout_ms = d('load_timeout');
    out.max_extension_ms = d('max_extension');
    const inconclusive = f.get('on_inconclusive');
    if (inconclusive) out.on_inconclusive = this.#f.oneOf(inconclusive, ON_INCONCLUSIVE);
    const rollback = f.get('rollback_on_failure');
    if (rollback) out.rollback_on_failure = this.#f.boolean(rollback);
    return out;
  }

  #readStage(map: YAMLMap, path: string, policy: Timings): { spec: StageSpec; scopeNode: Node; scopePath: string } | undefined {
    const src = this.#source;
    const entries = src.entries(map, path);
    src.checkKeys(entries, STAGE_KEYS, 'a stage');
    const f = fields(entries, this.#f);
    const nameEntry = f.require('name', map, path, 'e.g. name: canary');
    let name = nameEntry ? this.#f.string(nameEntry) : undefined;
    if (name !== undefined && nameEntry && !this.#checkName(name, valueNode(nameEntry), nameEntry.path, 'stage')) name = undefined;
    const scopeEntry = f.require('scope', map, path, 'e.g. scope: 1% nodes');
    const scope = scopeEntry ? this.#readScope(scopeEntry) : undefined;
    const gatesEntry = f.get('health_gates');
    const gates = gatesEntry ? this.#readGates(gatesEntry) : [];
    const own = this.#readTimings(f);
    const approvalEntry = f.get('approval');
    const approval = approvalEntry ? this.#f.oneOf(approvalEntry, APPROVALS) : undefined;
    const manualEntry = f.get('manual_approval');
    const manual = manualEntry ? this.#f.boolean(manualEntry) : undefined;
    if (approval !== undefined && manual !== undefined && (approval === 'manual') !== manual && manualEntry) {
      src.error('CONFLICTING_KEYS', `approval: ${approval} and manual_approval: ${String(manual)} disagree`, valueNode(manualEntry), manualEntry.path, 'keep only one of approval: and manual_approval:');
    }
    const bake = own.bake_ms ?? policy.bake_ms ?? POLICY_DEFAULTS.bake_ms;
    const spec: StageSpec = {
      name: name ?? '',
      scope: scope ?? { type: 'percent', percent: 100, selector: [], text: '' },
      health_gates: gates,
      rollback_on_failure: own.rollback_on_failure ?? policy.rollback_on_failure ?? POLICY_DEFAULTS.rollback_on_failure,
      bake_ms: bake,
      interval_ms: own.interval_ms ?? policy.interval_ms ?? POLICY_DEFAULTS.interval_ms,
      load_timeout_ms: own.load_timeout_ms ?? policy.load_timeout_ms ?? POLICY_DEFAULTS.load_timeout_ms,
      max_extension_ms: own.max_extension_ms ?? policy.max_extension_ms ?? bake * POLICY_DEFAULTS.max_extension_bakes,
      on_inconclusive: own.on_inconclusive ?? policy.on_inconclusive ?? POLICY_DEFAULTS.on_inconclusive,
      manual_approval: approval !== undefined ? approval === 'manual' : manual ?? POLICY_DEFAULTS.manual_approval,
    };
    if (name === undefined || scope === undefined || !scopeEntry) return undefined;
    return { spec, scopeNode: valueNode(scopeEntry), scopePath: scopeEntry.path };
  }

  /** A stage name must be new, and a stage must not cover less than an earlier stage of the same population. */
  #checkStageOrder(earlier: readonly StageSpec[], current: { spec: StageSpec; scopeNode: Node; scopePath: string } | undefined): void {
    if (!current) return;
    const src = this.#source;
    const { spec, scopeNode, scopePath } = current;
    const before = earlier.slice(0, -1);
    const same = before.find((s) => s.name === spec.name);
    if (same) {
      const namePath = scopePath.replace(/\.scope$/, '.name');
      src.errorAt('DUPLICATE_STAGE', `stage name "${spec.name}" is used twice in this policy`, src.positionOfPath(namePath), namePath, 'give every stage its own name, e.g. canary, partial, global');
    }
    const key = selectorKey(spec.scope.selector);
    for (const s of before) {
      if (selectorKey(s.scope.selector) !== key || s.scope.type !== spec.scope.type) continue;
      const shrinks = s.scope.type === 'percent' && spec.scope.type === 'percent' ? spec.scope.percent < s.scope.percent
        : s.scope.type === 'count' && spec.scope.type === 'count' ? spec.scope.count < s.scope.count : false;
      if (shrinks) {
        src.error('STAGE_SHRINKS', `stage "${spec.name}" (${spec.scope.text}) covers fewer nodes than the earlier stage "${s.name}" (${s.scope.text})`, scopeNode, scopePath,
          'order stages from the smallest scope to the largest; cohorts are nested, so a later stage includes the earlier ones');
        break;
      }
    }
  }

  #readScope(e: Entry): Scope | undefined {
    const src = this.#source;
    const v = e.value;
    if (v === null) return undefined;
    if (isScalar(v) && typeof v.value === 'string') {
      const parsed = parseScope(v.value);
      if (!parsed.ok) {
        src.error('BAD_SCOPE', parsed.message, v, e.path, parsed.hint);
        return undefined;
      }
      return parsed.scope;
    }
    if (isScalar(v) && typeof v.value === 'number') {
      src.error('BAD_SCOPE', `scope ${v.value} is a bare number: percent or node count?`, v, e.path, `write "${v.value}% nodes" or "${v.value} nodes"`);
      return undefined;
    }
    if (!isMap(v)) {
      src.error('WRONG_TYPE', `scope must be a string such as "1% nodes" or a mapping with nodes:, got ${describe(v)}`, valueNode(e), e.path);
      return undefined;
    }
    const entries = src.entries(v, e.path);
    src.checkKeys(entries, SCOPE_KEYS, 'scope');
    const f = fields(entries, this.#f);
    const nodesEntry = f.require('nodes', v, e.path, 'e.g. scope: { nodes: "10%", where: { customer_tier: free } }');
    let size: ReturnType<typeof parseScopeSize> | undefined;
    if (nodesEntry && nodesEntry.value !== null) {
      const n = nodesEntry.value;
      if (isScalar(n) && typeof n.value === 'number') size = countSize(n.value);
      else if (isScalar(n) && typeof n.value === 'string') size = parseScopeSize(n.value);
      else src.error('WRONG_TYPE', `nodes must be a percentage such as "10%" or a count such as 20, got ${describe(n)}`, valueNode(nodesEntry), nodesEntry.path);
      if (size && !size.ok) src.error('BAD_SCOPE', size.message, valueNode(nodesEntry), nodesEntry.path, size.hint);
    }
    const selector: LabelMatcher[] = [];
    let selectorOk = true;
    const whereEntry = f.get('where');
    if (whereEntry && whereEntry.value !== null) {
      if (!isMap(whereEntry.value)) {
        src.error('WRONG_TYPE', `where must be a mapping of label to value, got ${describe(whereEntry.value)}`, valueNode(whereEntry), whereEntry.path, 'e.g. where: { customer_tier: free }');
        selectorOk = false;
      } else {
        for (const l of src.entries(whereEntry.value, whereEntry.path)) {
          const lv = l.value;
          const value = isScalar(lv) && (typeof lv.value === 'string' || typeof lv.value === 'number' || typeof lv.value === 'boolean') ? String(lv.value) : undefined;
          if (!isLabel(l.key)) {
            src.error('BAD_SCOPE', `"${l.key}" is not a label name`, l.keyNode, l.path, 'label names use letters, digits, "_", ".", "/" and "-"');
            selectorOk = false;
          } else if (value === undefined || !isLabelValue(value)) {
            src.error('BAD_SCOPE', `label ${l.key} needs a single word value, got ${describe(lv)}`, valueNode(l), l.path, 'e.g. customer_tier: free');
            selectorOk = false;
          } else {
            selector.push({ key: l.key, op: '=', value });
          }
        }
      }
    }
    if (!size || !size.ok || !selectorOk) return undefined;
    const shape = makeScope(size, selector, '');
    return { ...shape, text: formatScope(shape) };
  }

  #readGates(e: Entry): GateSpec[] {
    const src = this.#source;
    const v = e.value;
    if (v === null) return [];
    if (isScalar(v) && v.value === null) return [];
    if (!isSeq(v)) {
      src.error('WRONG_TYPE', `health_gates must be a list of gates, got ${describe(v)}`, valueNode(e), e.path, 'e.g. - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 60s }');
      return [];
    }
    const gates: GateSpec[] = [];
    v.items.forEach((item, i) => {
      const path = joinPath(e.path, i);
      const node = isNodeLike(item) ? src.deref(item) : null;
      if (node === null) return;
      src.mark(path, node);
      if (!isMap(node)) {
        src.error('WRONG_TYPE', `gate ${i + 1} must be a mapping with module:, metric: and threshold:, got ${describe(node)}`, node, path);
        return;
      }
      const gate = this.#readGate(node, path);
      if (!gate) return;
      if (gates.some((g) => g.name === gate.name)) {
        src.error('DUPLICATE_GATE', `gate "${gate.name}" appears twice in this stage`, node, path, 'remove the copy, or give one of them a distinct name:');
        return;
      }
      gates.push(gate);
    });
    return gates;
  }

  #readGate(map: YAMLMap, path: string): GateSpec | undefined {
    const src = this.#source;
    const entries = src.entries(map, path);
    src.checkKeys(entries, GATE_KEYS, 'a health gate');
    const f = fields(entries, this.#f);
    const moduleEntry = f.require('module', map, path, 'name the module whose health this gate checks, e.g. module: bot-management');
    const module = moduleEntry ? this.#f.string(moduleEntry) : undefined;
    if (moduleEntry && module !== undefined) this.#references.push({ kind: 'module', name: module, node: valueNode(moduleEntry), path: moduleEntry.path });
    const sourceEntry = f.get('source');
    const source = sourceEntry ? this.#f.oneOf(sourceEntry, GATE_SOURCES) : 'builtin';
    const queryEntry = f.get('query');
    let query: string | undefined;
    if (source === 'prometheus') {
      const q = f.require('query', map, path, 'a prometheus gate needs query: PromQL, e.g. sum(rate(failsmall_agent_errors_total{ {{cohort_selector}} }[{{window}}])) / sum(rate(failsmall_agent_requests_total{ {{cohort_selector}} }[{{window}}]))');
      query = q ? this.#f.string(q) : undefined;
      if (q && query !== undefined) {
        for (const p of checkGateQuery(query)) src.error(p.code, p.message, valueNode(q), q.path, p.hint);
      }
    } else if (queryEntry) {
      src.error('WRONG_TYPE', 'query: belongs to a gate with source: prometheus', queryEntry.keyNode, queryEntry.path, 'add source: prometheus, or remove query:');
    }
    const coverageQueryEntry = f.get('coverage_query');
    let coverageQuery: string | undefined;
    if (coverageQueryEntry) {
      coverageQuery = this.#f.string(coverageQueryEntry);
      if (source !== 'prometheus') {
        src.error('WRONG_TYPE', 'coverage_query: belongs to a gate with source: prometheus', coverageQueryEntry.keyNode, coverageQueryEntry.path, 'builtin gates count reporting nodes themselves (min_coverage)');
      } else if (coverageQuery !== undefined && coverageQuery !== 'none') {
        for (const p of checkGateQuery(coverageQuery)) src.error(p.code, p.message, valueNode(coverageQueryEntry), coverageQueryEntry.path, p.hint);
      }
    }
    const metricEntry = source === 'prometheus' ? f.get('metric') : f.require('metric', map, path, `e.g. metric: load_success_rate (one of ${BUILTIN_METRICS.map((m) => m.name).join(', ')}, or ${CUSTOM_METRIC_PREFIX}NAME)`);
    const metric = metricEntry ? this.#f.string(metricEntry) : source === 'prometheus' ? 'promql' : undefined;
    const info = metric !== undefined ? metricInfo(metric) : undefined;
    const custom = metric !== undefined && (isCustomMetric(metric) || (source === 'prometheus' && !info));
    if (metric !== undefined && metricEntry && !info && !custom) {
      const names = BUILTIN_METRICS.map((m) => m.name);
      const close = suggest(metric, names);
      src.error('UNKNOWN_METRIC', `unknown metric "${metric}"`, valueNode(metricEntry), metricEntry.path,
        `${close ? `did you mean "${close}"? ` : ''}builtin metrics: ${names.join(', ')}; or ${CUSTOM_METRIC_PREFIX}NAME for a custom counter (with min: or max:)`);
    }
    const compareEntry = f.get('compare');
    const compare = compareEntry ? this.#f.oneOf(compareEntry, GATE_COMPARES) : 'threshold';
    const bounds = (['threshold', 'min', 'max'] as const).flatMap((k) => {
      const b = f.get(k);
      return b ? [b] : [];
    });
    let direction: GateDirection | undefined;
    let threshold: number | undefined;
    let allowed: { absolute?: number; relative?: number } | undefined;
    const [first, second] = bounds;
    const degradationEntry = f.get('allowed_degradation');
    if (compare === 'baseline') {
      // Against the baseline the bound is a degradation, not a value; the direction is the metric's.
      if (first) {
        src.error('CONFLICTING_BOUNDS', `compare: baseline takes allowed_degradation:, not ${first.key}:`, first.keyNode, first.path, 'e.g. allowed_degradation: 50% (relative) or 0.001 (absolute)');
      }
      direction = info?.direction;
      threshold = 0;
      if (!info && metric !== undefined) {
        src.error('BAD_THRESHOLD', `compare: baseline needs a metric whose direction is known, got "${metric}"`, metricEntry ? valueNode(metricEntry) : map, metricEntry?.path ?? path, `use one of ${BUILTIN_METRICS.map((m) => m.name).join(', ')}`);
      }
      if (!degradationEntry) {
        src.error('MISSING_KEY', 'compare: baseline needs allowed_degradation:', map, path, 'e.g. allowed_degradation: 50% (the cohort may be 1.5× the baseline) or 0.001 (absolute)');
      } else {
        allowed = this.#degradation(degradationEntry);
      }
    } else if (degradationEntry) {
      src.error('WRONG_TYPE', 'allowed_degradation: belongs to a gate with compare: baseline', degradationEntry.keyNode, degradationEntry.path, 'add compare: baseline, or use threshold:');
    } else if (second) {
      src.error('CONFLICTING_BOUNDS', `a gate takes exactly one of threshold:, min: or max:, got ${bounds.map((b) => b.key).join(' and ')}`, second.keyNode, second.path,
        'use threshold: with a builtin metric (its direction is known), or min: / max: to say which way the limit goes');
    } else if (!first) {
      src.error('MISSING_KEY', 'a gate needs a threshold: (or min: / max:)', map, path, custom ? 'custom metrics need min: X or max: X' : 'e.g. threshold: 0.999');
    } else {
      threshold = this.#threshold(first);
      if (first.key === 'threshold') {
        direction = info?.direction;
        if (custom && metricEntry) {
          src.error('BAD_THRESHOLD', `custom metric "${metric}" has no known direction, so threshold: is ambiguous`, first.keyNode, first.path,
            `write max: ${threshold ?? 'X'} (the rate must stay at or below it) or min: ${threshold ?? 'X'} (at or above)`);
        } else if (custom && source === 'prometheus') {
          src.error('BAD_THRESHOLD', 'a prometheus query has no known direction, so threshold: is ambiguous', first.keyNode, first.path, `write max: ${threshold ?? 'X'} or min: ${threshold ?? 'X'}, or name a builtin metric: (e.g. metric: error_rate)`);
        }
      } else {
        direction = first.key === 'min' ? 'min' : 'max';
      }
      if (threshold !== undefined && (info || (custom && source !== 'prometheus'))) {
        const ratio = custom || info?.unit === 'ratio';
        if (ratio && (threshold < 0 || threshold > 1)) {
          src.error('BAD_THRESHOLD', `${first.key} ${threshold} for ${metric} must be between 0 and 1 (it is a ratio)`, valueNode(first), first.path,
            threshold > 1 && threshold <= 100 ? `write ${threshold / 100} for ${threshold}%` : 'e.g. 0.999 for 99.9%');
        } else if (!ratio && threshold < 0) {
          src.error('BAD_THRESHOLD', `${first.key} ${threshold} for ${metric} must be zero or more (milliseconds)`, valueNode(first), first.path);
        }
      }
    }
    const alphaEntry = f.get('alpha');
    const alpha = alphaEntry ? this.#threshold(alphaEntry) : undefined;
    if (alphaEntry && alpha !== undefined && !(alpha > 0 && alpha < 0.5)) {
      src.error('BAD_THRESHOLD', `alpha must be between 0 and 0.5, got ${alpha}`, valueNode(alphaEntry), alphaEntry.path, 'e.g. alpha: 0.001 (one false alarm in a thousand gates)');
    }
    // by: a label; the gate is judged within each of its values (nodes as units, error rate split across the groups).
    const byEntry = f.get('by');
    const by = byEntry ? this.#f.string(byEntry) : undefined;
    if (byEntry && by !== undefined) {
      if (!isLabel(by)) {
        src.error('BAD_SCOPE', `by: "${by}" is not a label name`, valueNode(byEntry), byEntry.path, 'a node label such as hardware_generation (letters, digits, _ . / -), as agents register it with --labels');
      } else if (compare !== 'baseline') {
        src.error('WRONG_TYPE', 'by: splits a compare: baseline gate by a node label', byEntry.keyNode, byEntry.path, 'add compare: baseline and allowed_degradation:, or remove by:');
      } else if (source === 'prometheus') {
        src.error('WRONG_TYPE', 'by: needs counters node by node; a prometheus gate has one value', byEntry.keyNode, byEntry.path, 'split the query itself (sum by (label)), or use the agents\' metrics');
      }
    }
    const eachEntry = f.get('require_each_group');
    const requireEach = eachEntry ? this.#f.boolean(eachEntry) : undefined;
    if (eachEntry && !byEntry) src.error('WRONG_TYPE', 'require_each_group: belongs to a gate split with by:', eachEntry.keyNode, eachEntry.path, 'add by: LABEL, or remove require_each_group:');
    const noDataEntry = f.get('on_no_data');
    const onNoData = noDataEntry ? this.#f.oneOf(noDataEntry, ON_NO_DATA) : 'extend';
    const windowEntry = f.get('window');
    const window = windowEntry ? this.#f.duration(windowEntry) : POLICY_DEFAULTS.gate_window_ms;
    const samplesEntry = f.get('min_samples');
    const minSamples = samplesEntry ? this.#f.number(samplesEntry, { min: 1, integer: true }) : POLICY_DEFAULTS.gate_min_samples;
    const coverageEntry = f.get('min_coverage');
    const minCoverage = coverageEntry ? this.#f.ratio(coverageEntry, { exclusiveMin: true, rangeCode: 'BAD_THRESHOLD', hint: 'e.g. min_coverage: 0.9 (90% of the cohort must report)' }) : POLICY_DEFAULTS.gate_min_coverage;
    const nameEntry = f.get('name');
    const explicitName = nameEntry ? this.#f.string(nameEntry) : undefined;
    if (module === undefined || metric === undefined || direction === undefined || threshold === undefined || window === undefined || minSamples === undefined || minCoverage === undefined) return undefined;
    if (source === undefined || compare === undefined || onNoData === undefined) return undefined;
    return {
      name: explicitName ?? `${module}/${metric}`,
      module,
      metric,
      direction,
      threshold,
      window_ms: window,
      min_samples: minSamples,
      min_coverage: minCoverage,
      ...(source !== 'builtin' ? { source } : {}),
      ...(query !== undefined ? { query } : {}),
      ...(compare !== 'threshold' ? { compare } : {}),
      ...(allowed ? { allowed_degradation: allowed } : {}),
      ...(alpha !== undefined ? { alpha } : {}),
      ...(onNoData !== 'extend' ? { on_no_data: onNoData } : {}),
      ...(coverageQuery !== undefined ? { coverage_query: coverageQuery } : {}),
      ...(by !== undefined && isLabel(by) ? { by } : {}),
      ...(requireEach === true && by !== undefined ? { require_each_group: true } : {}),
    };
  }

  #checkReferences(): void {
    const known = this.#known;
    const names = {
      module: unique([...this.#modules.map((m) => m.name), ...(known.modules ?? []).map((m) => m.name)]),
      artifact: unique([...this.#artifacts.map((a) => a.name), ...(known.artifacts ?? []).map((a) => a.name)]),
      policy: unique([...this.#policies.map((p) => p.name), ...(known.policies ?? []).map((p) => p.name)]),
    };
    const sections = { module: 'modules', artifact: 'artifacts', policy: 'policies' } as const;
    const codes = { module: 'UNKNOWN_MODULE', artifact: 'UNKNOWN_ARTIFACT', policy: 'UNKNOWN_POLICY' } as const;
    for (const r of this.#references) {
      const declared = names[r.kind];
      if (declared.includes(r.name)) continue;
      const close = suggest(r.name, declared);
      const hint = close !== undefined
        ? `did you mean "${close}"? or declare "${r.name}" under ${sections[r.kind]}:`
        : declared.length > 0
          ? `declared ${sections[r.kind]}: ${declared.join(', ')}; or declare "${r.name}" under ${sections[r.kind]}:`
          : `declare it under ${sections[r.kind]}:`;
      this.#source.error(codes[r.kind], `${r.kind} "${r.name}" is not declared`, r.node, r.path, hint);
    }
  }

  #checkName(name: string, node: Node, path: string, noun: string): boolean {
    if (NAME.test(name)) return true;
    this.#source.error('BAD_NAME', `"${name.length > 40 ? `${name.slice(0, 40)}…` : name}" is not a valid ${noun} name: ${nameProblem(name)}`, node, path, NAME_HINT);
    return false;
  }

  /** A gate's bound: a finite number; a percentage gets a hint to write the ratio. */
  #threshold(e: Entry): number | undefined {
    return this.#f.number(e, { rangeCode: 'BAD_THRESHOLD', hint: 'e.g. 0.999' });
  }

  /** `50%` (relative: the cohort may be 1.5× the baseline) or a number (absolute difference). */
  #degradation(e: Entry): { absolute?: number; relative?: number } | undefined {
    const v = e.value;
    const raw = isScalar(v) ? v.value : undefined;
    if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return { absolute: raw };
    if (typeof raw === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(raw);
      if (m) return { relative: Number(m[1]) / 100 };
    }
    this.#source.error('WRONG_TYPE', `allowed_degradation must be a percentage such as "50%" (relative) or a number such as 0.001 (absolute), got ${describe(v)}`, valueNode(e), e.path, 'e.g. allowed_degradation: 50%');
    return undefined;
  }

  /** A mapping as plain JSON-like data (for json_schema). */
  #plainMap(map: YAMLMap, path: string, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const e of this.#source.entries(map, path)) out[e.key] = this.#plain(e.value, e.path, depth + 1);
    return out;
  }

  #plain(node: Node | null, path: string, depth: number): unknown {
    if (node === null || depth > 64) return null;
    if (isMap(node)) return this.#plainMap(node, path, depth);
    if (isSeq(node)) return node.items.map((item, i) => this.#plain(isNodeLike(item) ? this.#source.deref(item) : null, joinPath(path, i), depth + 1));
    if (isScalar(node)) {
      const v = node.value;
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
    }
    return null;
  }
}

type Timings = {
  readonly interval_ms?: number | undefined;
  readonly bake_ms?: number | undefined;
  readonly load_timeout_ms?: number | undefined;
  readonly max_extension_ms?: number | undefined;
  readonly on_inconclusive?: StageSpec['on_inconclusive'] | undefined;
  readonly rollback_on_failure?: boolean | undefined;
};

interface Fields {
  get(key: string): Entry | undefined;
  /** The entry, or MISSING_KEY pointing at `owner`. */
  require(key: string, owner: Node, ownerPath: string, hint: string): Entry | undefined;
}

function fields(entries: readonly Entry[], f: FieldReader): Fields {
  return { get: (key) => f.get(entries, key), require: (key, owner, ownerPath, hint) => f.require(entries, key, owner, ownerPath, hint) };
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

export type { Position };
export { lintDeclarations } from './lint.ts';
