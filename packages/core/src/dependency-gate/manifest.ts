import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import { DEPENDENCY_NAME, NAME_HINT, readDependsOn } from '../audit/edges.ts';
import type { Result, Warning } from '../errors/index.ts';
import { parserErrorCodes } from '../yaml/codes.ts';
import { guardedParse } from '../yaml/guarded.ts';
import { sortErrors } from '../yaml/sort-errors.ts';
import { describe, valueNode, YamlSource } from '../yaml/source.ts';
import type { VersionManifest } from './types.ts';

export const MANIFEST_KEYS = ['depends_on'] as const;

/**
 * A manifest travels with its version in one HTTP header, so it is kept small: these bound
 * what `parseManifest` and the server accept. A real version depends on a handful of things.
 */
export const MANIFEST_LIMITS = {
  dependencies: 32,
  name_chars: 64,
  fallback_chars: 200,
  /** The manifest as compact ASCII JSON, the way the header carries it. */
  json_bytes: 8192,
} as const;

/** Every error code `parseManifest` can return, for docs and tests. */
export const MANIFEST_ERROR_CODES = parserErrorCodes('BAD_NAME', 'DUPLICATE_DEPENDENCY', 'TOO_MANY_DEPENDENCIES', 'TOO_LONG');
export const MANIFEST_WARNING_CODES = ['FALLBACK_ON_HARD_EDGE'] as const;

const START_HINT = 'start with depends_on:, e.g. depends_on:\n    - { on: bot-check, hard: true }';

/**
 * Parses a version manifest (`failsmall artifact push … --manifest FILE`), YAML or JSON.
 * Never throws: every problem is a `FailsmallError` with a code, line, column and hint,
 * read by the same `YamlSource` and edge reader as the audit's graph file.
 *
 * Examples
 *   const r = parseManifest('depends_on:\n  - { on: bot-check, hard: true }\n', { file: 'manifest.yaml' });
 *   if (r.ok) checkDependencyChange(null, r.value); // one new-hard-dependency finding
 *   else for (const e of r.errors) console.error(formatError(e));
 */
export function parseManifest(text: string, opts: { file?: string } = {}): Result<VersionManifest> {
  const file = opts.file !== undefined ? { file: opts.file } : {};
  return guardedParse(text, { ...file, what: 'manifest parser', sizeHint: `a manifest lists at most ${MANIFEST_LIMITS.dependencies} dependencies` }, () => {
    const loaded = YamlSource.load(text, opts.file);
    if (!loaded.ok) return { ok: false, errors: sortErrors(loaded.errors), warnings: [] };
    const warnings: Warning[] = [];
    const manifest = read(loaded.source, loaded.root, warnings);
    const errors = sortErrors(loaded.source.errors);
    if (errors.length > 0) return { ok: false, errors, warnings };
    return { ok: true, value: manifest, warnings };
  });
}

function read(src: YamlSource, root: Node | null, warnings: Warning[]): VersionManifest {
  const top = src.deref(root);
  if (top === null || (isScalar(top) && (top.value === null || top.value === undefined))) {
    if (src.errors.length === 0) src.errorAt('EMPTY_DOCUMENT', 'the manifest declares nothing', { line: 1, col: 1 }, undefined, START_HINT);
    return { depends_on: [] };
  }
  if (!isMap(top)) {
    src.error('WRONG_TYPE', `a manifest must be a mapping, got ${describe(top)}`, top, undefined, START_HINT);
    return { depends_on: [] };
  }
  const entries = src.entries(top, '');
  src.checkKeys(entries, MANIFEST_KEYS, 'the manifest');
  const deps = entries.find((e) => e.key === 'depends_on');
  if (!deps) {
    src.error('MISSING_KEY', 'the manifest has no depends_on:', top, undefined, 'list what this version needs; depends_on: [] when it needs nothing');
    return { depends_on: [] };
  }
  if (isSeq(deps.value) && deps.value.items.length > MANIFEST_LIMITS.dependencies) {
    src.error('TOO_MANY_DEPENDENCIES', `depends_on lists ${deps.value.items.length} dependencies; the limit is ${MANIFEST_LIMITS.dependencies}`, valueNode(deps), deps.path, 'name the services this version calls directly, not their own dependencies');
    return { depends_on: [] };
  }
  const edges = readDependsOn(src, deps, {
    owner: 'this version',
    known: (on, node, path) => {
      if (on.length > MANIFEST_LIMITS.name_chars) src.error('BAD_NAME', `"${on.slice(0, 40)}…" is ${on.length} characters; a dependency name has at most ${MANIFEST_LIMITS.name_chars}`, node, path, NAME_HINT);
      else if (!DEPENDENCY_NAME.test(on)) src.error('BAD_NAME', `"${on}" is not a valid dependency name`, node, path, NAME_HINT);
      else return true;
      return false;
    },
    warn: (code, message, node, path, hint) => {
      const at = src.position(node);
      warnings.push({ severity: 'warning', code, message, hint, path, ...(src.file !== undefined ? { file: src.file } : {}), ...(at ? { line: at.line, col: at.col } : {}) });
    },
  });
  for (const edge of edges) {
    if (edge.fallback !== undefined && edge.fallback.length > MANIFEST_LIMITS.fallback_chars) {
      src.errorAt('TOO_LONG', `the fallback of "${edge.on}" is ${edge.fallback.length} characters; the limit is ${MANIFEST_LIMITS.fallback_chars}`, edge.at, deps.path, 'say in a phrase what the version does instead, e.g. "read-only cached sessions"');
    }
  }
  return { depends_on: edges };
}
