import { isMap, isScalar, isSeq } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import type { FailsmallError, Result, Warning } from '../errors/index.ts';
import { MODULE_KEYS, ON_LOAD_FAILURE } from '../policy/parse.ts';
import type { ModuleDecl } from '../policy/types.ts';
import { FieldReader } from '../yaml/fields.ts';
import { guardedParse } from '../yaml/guarded.ts';
import { sortErrors } from '../yaml/sort-errors.ts';
import { describe, isNodeLike, joinPath, valueNode, YamlSource } from '../yaml/source.ts';
import type { Entry } from '../yaml/source.ts';
import { suggest } from '../yaml/suggest.ts';
import { DEPENDENCY_NAME as NAME, NAME_HINT, readDependsOn } from './edges.ts';
import type { BreakglassTool, DependencyEdge, Estate, GraphPosition, GraphService } from './types.ts';

export interface EstateParseOptions {
  /** Shown in every error as `file:line:col`. */
  readonly file?: string;
  /** Modules declared elsewhere (a declarations file given with `--with`), reviewed with the file's own. */
  readonly modules?: readonly ModuleDecl[];
}

export const GRAPH_TOP_LEVEL_KEYS = ['services', 'breakglass', 'modules'] as const;
export const SERVICE_KEYS = ['depends_on', 'fate'] as const;
export const BREAKGLASS_KEYS = ['depends_on', 'fate', 'recovers'] as const;
/** The usual shared-fate labels. Any other label is allowed; one close to these gets a did-you-mean warning. */
export const FATE_LABELS = ['dns', 'identity', 'network', 'region', 'pipeline', 'control_plane'] as const;

/** How many unknown names get a did-you-mean hint; the rest list the declared names. */
const MAX_SUGGESTIONS = 20;

/**
 * Parses a dependency graph file (`failsmall audit deps GRAPH.yaml`): services, break-glass
 * tools and, optionally, modules. Never throws: every problem comes back as a
 * `FailsmallError` with a code, a line and column, and a hint, sorted by line. The YAML is
 * read by the same `YamlSource`, so duplicate keys, undefined aliases and
 * alias bombs are refused the same way.
 *
 * Examples
 *   const r = parseEstate(text, { file: 'estate.yaml' });
 *   if (!r.ok) for (const e of r.errors) console.error(formatError(e));
 *   else console.log(auditDependencies(r.value.graph, r.value.modules).findings);
 */
export function parseEstate(text: string, opts: EstateParseOptions = {}): Result<Estate> {
  return guardedParse(text, { ...(opts.file !== undefined ? { file: opts.file } : {}), what: 'graph parser', sizeHint: 'split the estate into several files and audit each' }, () => parseOrReport(text, opts));
}

function parseOrReport(text: string, opts: EstateParseOptions): Result<Estate> {
  const file = opts.file;
  const loaded = YamlSource.load(text, file);
  if (!loaded.ok) return { ok: false, errors: sortErrors(loaded.errors), warnings: [] };
  const reader = new EstateReader(loaded.source, opts.modules ?? []);
  const estate = reader.read(loaded.root);
  const warnings = sortErrors(reader.warnings);
  const errors = sortErrors(loaded.source.errors);
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, value: estate, warnings };
}

interface NodeDraft {
  readonly name: string;
  readonly entry: Entry;
  readonly kind: 'service' | 'breakglass';
}

/** Walks the document once. Names are collected first, so a dependency may name a service declared below it. */
class EstateReader {
  readonly warnings: Warning[] = [];
  readonly #src: YamlSource;
  readonly #f: FieldReader;
  readonly #knownModules: readonly ModuleDecl[];
  readonly #names = new Set<string>();
  #suggestions = 0;
  #declared: string[] | undefined;

  constructor(src: YamlSource, knownModules: readonly ModuleDecl[]) {
    this.#src = src;
    this.#f = new FieldReader(src);
    this.#knownModules = knownModules;
  }

  read(root: Node | null): Estate {
    const src = this.#src;
    const empty: Estate = { graph: { services: [], breakglass: [] }, modules: this.#knownModules };
    const top = src.deref(root);
    if (top === null || (isScalar(top) && (top.value === null || top.value === undefined))) {
      if (src.errors.length === 0) src.errorAt('EMPTY_DOCUMENT', 'the file declares nothing', { line: 1, col: 1 }, undefined, 'start with services:, then breakglass: and modules:');
      return empty;
    }
    if (!isMap(top)) {
      src.error('WRONG_TYPE', `the top level must be a mapping, got ${describe(top)}`, top, undefined, 'start with services:, then breakglass: and modules:');
      return empty;
    }
    const entries = src.entries(top, '');
    src.checkKeys(entries, GRAPH_TOP_LEVEL_KEYS, 'the top level');
    if (!entries.some((e) => (GRAPH_TOP_LEVEL_KEYS as readonly string[]).includes(e.key))) {
      src.error('EMPTY_DOCUMENT', 'the file declares nothing', top, undefined, 'start with services:, then breakglass: and modules:');
    }
    const get = (k: string): Entry | undefined => entries.find((e) => e.key === k);

    const drafts = [...this.#collect(get('services'), 'service'), ...this.#collect(get('breakglass'), 'breakglass')];
    const services: GraphService[] = [];
    const breakglass: BreakglassTool[] = [];
    for (const d of drafts) {
      if (d.kind === 'service') services.push(this.#readNode(d, SERVICE_KEYS).node);
      else breakglass.push(this.#readTool(d));
    }
    const modulesEntry = get('modules');
    const modules = modulesEntry ? this.#readModules(modulesEntry) : [];
    return { graph: { services, breakglass }, modules: [...modules, ...this.#knownModules] };
  }

  /** The names under `services:` or `breakglass:`; one name may not be both. */
  #collect(section: Entry | undefined, kind: NodeDraft['kind']): NodeDraft[] {
    if (!section) return [];
    const src = this.#src;
    const value = section.value;
    if (value === null || (isScalar(value) && value.value === null)) return [];
    const noun = kind === 'service' ? 'service' : 'break-glass tool';
    if (!isMap(value)) {
      src.error('WRONG_TYPE', `${section.key} must be a mapping from ${noun} name to its declaration, got ${describe(value)}`, valueNode(section), section.path,
        kind === 'service' ? 'e.g. services:\n    proxy: { depends_on: [], fate: { dns: dns-main } }' : 'e.g. breakglass:\n    admin-console: { depends_on: [], recovers: [ proxy ] }');
      return [];
    }
    const out: NodeDraft[] = [];
    for (const e of src.entries(value, section.path)) {
      if (!NAME.test(e.key)) {
        src.error('BAD_NAME', `"${e.key}" is not a valid ${noun} name`, e.keyNode, e.path, NAME_HINT);
        continue;
      }
      if (this.#names.has(e.key)) {
        src.error('DUPLICATE_NAME', `"${e.key}" is declared both as a service and as a break-glass tool`, e.keyNode, e.path, 'services and break-glass tools share one namespace; rename one of them');
        continue;
      }
      this.#names.add(e.key);
      out.push({ name: e.key, entry: e, kind });
    }
    return out;
  }

  #readNode(d: NodeDraft, allowed: readonly string[]): { node: GraphService; fields: Entry[] } {
    const at = this.#src.position(d.entry.keyNode);
    const base = { name: d.name, depends_on: [] as DependencyEdge[], fate: {}, ...(at ? { at } : {}) };
    const fields = this.#fields(d, allowed);
    if (!fields) return { node: base, fields: [] };
    const deps = fields.find((e) => e.key === 'depends_on');
    const fate = fields.find((e) => e.key === 'fate');
    return { node: { ...base, depends_on: deps ? this.#readEdges(deps, d.name) : [], fate: fate ? this.#readFate(fate) : {} }, fields };
  }

  #readTool(d: NodeDraft): BreakglassTool {
    const { node, fields } = this.#readNode(d, BREAKGLASS_KEYS);
    const recoversEntry = fields.find((e) => e.key === 'recovers');
    const v = d.entry.value;
    // A value of the wrong type was reported already; anything else must say what the tool recovers.
    if (!recoversEntry && (v === null || isMap(v) || (isScalar(v) && v.value === null))) {
      this.#src.error('MISSING_KEY', `break-glass tool "${d.name}" has no recovers:`, d.entry.keyNode, d.entry.path, 'name what it is for, e.g. recovers: [ proxy, bot-check ]');
    }
    return { ...node, recovers: recoversEntry ? this.#readRecovers(recoversEntry, d.name) : [] };
  }

  /** The keys of a service or tool; `null` value means a leaf with nothing declared. */
  #fields(d: NodeDraft, allowed: readonly string[]): Entry[] | undefined {
    const src = this.#src;
    const v = d.entry.value;
    if (v === null || (isScalar(v) && v.value === null)) return [];
    if (!isMap(v)) {
      src.error('WRONG_TYPE', `${d.kind === 'service' ? 'service' : 'break-glass tool'} "${d.name}" must be a mapping, got ${describe(v)}`, valueNode(d.entry), d.entry.path, `e.g. ${d.name}: { depends_on: [ { on: proxy, hard: true } ], fate: { dns: dns-main } }`);
      return undefined;
    }
    const entries = src.entries(v, d.entry.path);
    src.checkKeys(entries, allowed, `${d.kind === 'service' ? 'service' : 'break-glass tool'} "${d.name}"`);
    return entries;
  }

  #readEdges(e: Entry, owner: string): DependencyEdge[] {
    return readDependsOn(this.#src, e, {
      owner: `"${owner}"`,
      known: (on, node, path) => {
        if (this.#names.has(on)) return true;
        this.#unknown(on, node, path, `"${owner}" depends on "${on}", which is not declared`);
        return false;
      },
      warn: (code, message, node, path, hint) => this.#warn(code, message, node, path, hint),
    });
  }

  #readFate(e: Entry): Record<string, string> {
    const src = this.#src;
    const v = e.value;
    const out: Record<string, string> = {};
    if (v === null || (isScalar(v) && v.value === null)) return out;
    if (!isMap(v)) {
      src.error('WRONG_TYPE', `fate must be a mapping from label to value, got ${describe(v)}`, valueNode(e), e.path, 'e.g. fate: { dns: dns-main, identity: sso, region: global }');
      return out;
    }
    for (const label of src.entries(v, e.path)) {
      if (!NAME.test(label.key)) {
        src.error('BAD_NAME', `"${label.key}" is not a valid fate label`, label.keyNode, label.path, NAME_HINT);
        continue;
      }
      const value = label.value;
      const text = isScalar(value) && (typeof value.value === 'string' || typeof value.value === 'number' || typeof value.value === 'boolean') ? String(value.value).trim() : undefined;
      if (text === undefined || text === '') {
        src.error('WRONG_TYPE', `fate label ${label.key} needs a value (what it shares), got ${describe(value)}`, valueNode(label), label.path, `e.g. ${label.key}: ${label.key === 'dns' ? 'dns-main' : 'global'}`);
        continue;
      }
      if (!(FATE_LABELS as readonly string[]).includes(label.key)) {
        const close = suggest(label.key, FATE_LABELS);
        if (close !== undefined) this.#warn('UNUSUAL_FATE_LABEL', `fate label "${label.key}" is not one of the usual labels`, label.keyNode, label.path, `did you mean "${close}"? it only matches the same label on another service`);
      }
      out[label.key] = text;
    }
    return out;
  }

  #readRecovers(e: Entry, tool: string): string[] {
    const src = this.#src;
    const v = e.value;
    if (v === null || (isScalar(v) && v.value === null)) {
      this.#warn('NOTHING_RECOVERED', `break-glass tool "${tool}" recovers nothing`, e.keyNode, e.path, 'list the services it is meant to recover, e.g. recovers: [ proxy ]');
      return [];
    }
    if (!isSeq(v)) {
      const named = isScalar(v) && typeof v.value === 'string' ? v.value : undefined;
      src.error('WRONG_TYPE', `recovers must be a list of service names, got ${describe(v)}`, valueNode(e), e.path, `e.g. recovers: [ ${named ?? 'proxy'} ]`);
      return [];
    }
    if (v.items.length === 0) this.#warn('NOTHING_RECOVERED', `break-glass tool "${tool}" recovers nothing`, v, e.path, 'list the services it is meant to recover, e.g. recovers: [ proxy ]');
    const out: string[] = [];
    v.items.forEach((raw, i) => {
      const path = joinPath(e.path, i);
      const item = isNodeLike(raw) ? src.deref(raw) : null;
      if (item === null) return;
      if (!isScalar(item) || typeof item.value !== 'string') {
        src.error('WRONG_TYPE', `recovers lists names, got ${describe(item)}`, item, path, 'e.g. recovers: [ proxy, bot-check ]');
        return;
      }
      const name = item.value;
      if (name === tool) {
        src.error('RECOVERS_ITSELF', `break-glass tool "${tool}" lists itself under recovers`, item, path, 'a tool cannot be its own way back; name the services it recovers');
        return;
      }
      if (!this.#names.has(name)) {
        this.#unknown(name, item, path, `"${tool}" recovers "${name}", which is not declared`);
        return;
      }
      if (!out.includes(name)) out.push(name);
    });
    return out;
  }

  #readModules(section: Entry): ModuleDecl[] {
    const src = this.#src;
    const v = section.value;
    if (v === null || (isScalar(v) && v.value === null)) return [];
    if (!isMap(v)) {
      src.error('WRONG_TYPE', `modules must be a mapping from module name to its declaration, got ${describe(v)}`, valueNode(section), section.path, 'e.g. modules:\n    bot-management: { on_load_failure: fail-closed, reason: "..." }');
      return [];
    }
    const out: ModuleDecl[] = [];
    const elsewhere = new Set(this.#knownModules.map((m) => m.name));
    for (const e of src.entries(v, section.path)) {
      if (!NAME.test(e.key)) {
        src.error('BAD_NAME', `"${e.key}" is not a valid module name`, e.keyNode, e.path, NAME_HINT);
        continue;
      }
      if (elsewhere.has(e.key)) {
        src.error('DUPLICATE_NAME', `module "${e.key}" is also declared in the --with declarations`, e.keyNode, e.path, 'declare each module once: here or in the declarations file');
        continue;
      }
      if (!isMap(e.value)) {
        src.error('WRONG_TYPE', `module "${e.key}" must be a mapping, got ${describe(e.value)}`, valueNode(e), e.path, `e.g. ${e.key}: { on_load_failure: serve-stale }`);
        continue;
      }
      const entries = src.entries(e.value, e.path);
      src.checkKeys(entries, MODULE_KEYS, `module "${e.key}"`);
      const f = this.#f;
      const modeEntry = f.require(entries, 'on_load_failure', e.keyNode, e.path, `e.g. on_load_failure: serve-stale (one of ${ON_LOAD_FAILURE.join(', ')})`);
      const mode = modeEntry ? f.oneOf(modeEntry, ON_LOAD_FAILURE) : undefined;
      const reasonEntry = f.get(entries, 'reason');
      const reason = reasonEntry ? f.string(reasonEntry) : undefined;
      const defaultEntry = f.get(entries, 'safe_default');
      const safeDefault = defaultEntry ? f.string(defaultEntry) : undefined;
      // A fail-closed module without a reason is a finding of the audit, not a parse error.
      if (mode === undefined) continue;
      out.push({ name: e.key, on_load_failure: mode, ...(reason !== undefined ? { reason } : {}), ...(safeDefault !== undefined ? { safe_default: safeDefault } : {}) });
    }
    return out;
  }

  #unknown(name: string, node: Node, path: string, message: string): void {
    // Every name is collected before any reference is read, so the list is built once.
    this.#declared ??= [...this.#names];
    const declared = this.#declared;
    // Did-you-mean costs an edit distance per declared name; a hostile file with thousands of
    // unknown names against thousands of declared ones would take minutes, so it is bounded.
    this.#suggestions++;
    const close = this.#suggestions <= MAX_SUGGESTIONS ? closest(name, declared) : undefined;
    const hint = close !== undefined
      ? `did you mean "${close}"? or declare "${name}" under services:`
      : declared.length > 0 ? `declared: ${declared.slice(0, 12).join(', ')}${declared.length > 12 ? ', …' : ''}; or declare "${name}" under services:` : `declare "${name}" under services:`;
    this.#src.error('UNKNOWN_SERVICE', message, node, path, hint);
  }

  #warn(code: string, message: string, node: Node, path: string, hint: string): void {
    const at: GraphPosition | undefined = this.#src.position(node);
    const file = this.#src.file;
    this.warnings.push({ severity: 'warning', code, message, hint, path, ...(file !== undefined ? { file } : {}), ...(at ? { line: at.line, col: at.col } : {}) });
  }
}

/** `suggest` over the candidates whose length is close enough to match at all (it allows about one edit per three characters). */
function closest(name: string, candidates: readonly string[]): string | undefined {
  const allowed = Math.max(1, Math.floor(name.length / 3));
  return suggest(name, candidates.filter((c) => Math.abs(c.length - name.length) <= allowed));
}
