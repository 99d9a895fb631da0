import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import { FieldReader } from '../yaml/fields.ts';
import { describe, isNodeLike, joinPath, valueNode } from '../yaml/source.ts';
import type { Entry, YamlSource } from '../yaml/source.ts';
import type { DependencyEdge } from './types.ts';

/**
 * Reading `depends_on:` lists, shared by the estate's graph file and an artifact version's
 * manifest, so both accept the same edges and say the same things about the same mistakes.
 */

export const EDGE_KEYS = ['on', 'hard', 'fallback'] as const;
/** A service, tool or dependency name. */
export const DEPENDENCY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const NAME_HINT = 'names use letters, digits, ".", "_" and "-", and start with a letter or digit';
export const EDGE_EXAMPLE = '- { on: bot-check, hard: true }  or  - { on: session-store, hard: false, fallback: "read-only cached sessions" }';

export interface EdgeReading {
  /**
   * Who depends, as it reads in a sentence: `"proxy"` (quoted) or `this version`.
   */
  readonly owner: string;
  /** Whether `on` names something that may be depended on; reports the problem itself when not. */
  readonly known: (on: string, node: Node, path: string) => boolean;
  readonly warn: (code: string, message: string, node: Node, path: string, hint: string) => void;
}

/**
 * The edges of one `depends_on:` entry. Problems are reported to `src` (errors) and
 * `how.warn` (warnings); an edge with a problem is left out.
 *
 * Examples
 *   const edges = readDependsOn(src, entry, { owner: 'this version', known: () => true, warn });
 */
export function readDependsOn(src: YamlSource, e: Entry, how: EdgeReading): DependencyEdge[] {
  const f = new FieldReader(src);
  const v = e.value;
  if (v === null || (isScalar(v) && v.value === null)) return [];
  if (!isSeq(v)) {
    src.error('WRONG_TYPE', `depends_on must be a list, got ${describe(v)}`, valueNode(e), e.path, `e.g. depends_on:\n      ${EDGE_EXAMPLE}`);
    return [];
  }
  const out: DependencyEdge[] = [];
  const seen = new Set<string>();
  v.items.forEach((raw, i) => {
    const path = joinPath(e.path, i);
    const item = isNodeLike(raw) ? src.deref(raw) : null;
    if (item === null) return;
    if (!isMap(item)) {
      const named = isScalar(item) && typeof item.value === 'string' ? item.value : undefined;
      src.error('WRONG_TYPE', `each dependency must be a mapping with on: and hard:, got ${describe(item)}`, item, path,
        named !== undefined ? `write - { on: ${named}, hard: true } (or hard: false with a fallback:)` : EDGE_EXAMPLE);
      return;
    }
    const entries = src.entries(item, path);
    src.checkKeys(entries, EDGE_KEYS, 'a dependency');
    const onEntry = f.get(entries, 'on');
    const hardEntry = f.get(entries, 'hard');
    const fallbackEntry = f.get(entries, 'fallback');
    if (!onEntry) src.error('MISSING_KEY', 'a dependency needs on: (the service it depends on)', item, path, EDGE_EXAMPLE);
    if (!hardEntry) src.error('MISSING_KEY', 'a dependency needs hard: true or hard: false', item, path, 'hard: true when the dependant is down whenever this is down; hard: false with a fallback: otherwise');
    const on = onEntry ? f.string(onEntry, 'name a service or break-glass tool, e.g. on: proxy') : undefined;
    const hard = hardEntry ? f.boolean(hardEntry) : undefined;
    const fallback = fallbackEntry ? f.string(fallbackEntry) : undefined;
    if (on !== undefined && onEntry) {
      if (!how.known(on, valueNode(onEntry), onEntry.path)) return;
      if (seen.has(on)) {
        src.error('DUPLICATE_DEPENDENCY', `${how.owner} depends on "${on}" twice`, valueNode(onEntry), onEntry.path, 'keep one edge per dependency; it is either hard or soft');
        return;
      }
      seen.add(on);
    }
    if (on === undefined || hard === undefined) return;
    if (hard && fallback !== undefined && fallbackEntry) {
      how.warn('FALLBACK_ON_HARD_EDGE', `${how.owner} → "${on}" is hard, so its fallback is never used`, fallbackEntry.keyNode, fallbackEntry.path, 'if the fallback works, write hard: false; otherwise remove fallback:');
    }
    const at = src.position(item);
    out.push({ on, hard, ...(fallback !== undefined ? { fallback } : {}), ...(at ? { at } : {}) });
  });
  return out;
}
