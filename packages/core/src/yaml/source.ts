import { Composer, isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, Parser, visit, YAMLParseError } from 'yaml';
import type { Alias, CST, Document, Node, YAMLMap, YAMLSeq } from 'yaml';
import type { FailsmallError } from '../errors/index.ts';
import type { YamlErrorCode } from './codes.ts';
import { MAX_EXPANDED_NODES, MAX_NESTING, MAX_YAML_ERRORS } from './limits.ts';
import { didYouMean } from './suggest.ts';

export interface Position {
  readonly line: number;
  readonly col: number;
}

/** One key of a mapping, after merge keys are expanded and `x-` keys dropped. */
export interface Entry {
  readonly key: string;
  readonly keyNode: Node;
  /** The value, with aliases resolved; `null` when it is an alias that cannot be resolved (already reported). */
  readonly value: Node | null;
  readonly path: string;
}

export type Load = { readonly ok: true; readonly source: YamlSource; readonly root: Node | null } | { readonly ok: false; readonly errors: FailsmallError[] };

/**
 * A YAML document as every failsmall parser reads it (declarations, scenarios, estates,
 * manifests, inventories, scrape mappings): every node keeps its line and column, aliases
 * resolve to the node that carries the anchor, `<<:` merge keys are expanded, and `x-` keys are
 * skipped. Errors are collected, never thrown, and carry a code from YAML_ERROR_CODES.
 *
 * Examples
 *   const loaded = YamlSource.load(text, 'estate.yaml');
 *   if (!loaded.ok) return { ok: false, errors: sortErrors(loaded.errors), warnings: [] };
 *   const top = loaded.source.deref(loaded.root);
 */
export class YamlSource {
  readonly errors: FailsmallError[] = [];
  readonly #lineCounter: LineCounter;
  readonly #targets: Map<Alias, Node | undefined>;
  readonly #file: string | undefined;
  /** Where each document path was read, so that later checks and lints can point at it. */
  readonly #positions = new Map<string, Position>();

  constructor(lineCounter: LineCounter, targets: Map<Alias, Node | undefined>, file: string | undefined) {
    this.#lineCounter = lineCounter;
    this.#targets = targets;
    this.#file = file;
  }

  /** Parses `text` and checks what `yaml` does not: undefined aliases and alias bombs. */
  static load(text: string, file: string | undefined): Load {
    const lineCounter = new LineCounter();
    // yaml's parseDocument, in two steps, with the nesting checked as the syntax tree grows: the
    // tree is built with an explicit stack, but composing it recurses once per level, and a stack
    // overflow there can land in V8's regexp compiler, which aborts the process instead of
    // throwing (found by fuzzing: 100 KB of "{" killed the control plane on POST /v1/apply).
    const parser = new Parser(lineCounter.addNewLine);
    lineCounter.addNewLine(0);
    const tokens: CST.Token[] = [];
    for (const lexeme of new Lexer().lex(text)) {
      for (const t of parser.next(lexeme)) tokens.push(t);
      if (parser.stack.length > MAX_NESTING) {
        const at = lineCounter.linePos(parser.offset);
        return { ok: false, errors: [{ code: 'YAML_SYNTAX', message: `the document is nested more than ${MAX_NESTING} levels deep`, hint: 'a failsmall file needs a few levels; this one is not what it should be', ...(file !== undefined ? { file } : {}), line: at.line, col: at.col }] };
      }
    }
    for (const t of parser.end()) tokens.push(t);
    // Duplicate keys are found in `entries` instead of by `uniqueKeys`, whose check is
    // quadratic in the size of a mapping (seconds for a 1 MiB file with one big mapping).
    let doc: Document.Parsed | undefined;
    // Garbage (100 KB of "}") makes one YAMLParseError per token; without a stack trace each costs
    // a sixth as much, and only the first MAX_YAML_ERRORS are reported.
    const traces = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (const d of new Composer({ merge: true, uniqueKeys: false }).compose(tokens, true, text.length)) {
        if (!doc) doc = d;
        else { doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()')); break; }
      }
    } finally {
      Error.stackTraceLimit = traces;
    }
    if (!doc) return { ok: false, errors: [{ code: 'INTERNAL_ERROR', message: 'yaml composed no document', ...(file !== undefined ? { file } : {}), line: 1, col: 1 }] };
    const errors: FailsmallError[] = [];
    let fatal = false;
    for (const e of doc.errors.slice(0, MAX_YAML_ERRORS)) {
      const at = lineCounter.linePos(e.pos[0]);
      const code = e.code === 'DUPLICATE_KEY' ? 'DUPLICATE_KEY' : 'YAML_SYNTAX';
      if (code !== 'DUPLICATE_KEY') fatal = true;
      errors.push({
        code,
        message: e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, ''),
        ...(code === 'DUPLICATE_KEY' ? { hint: 'each key may appear once in a mapping; merge the two entries' } : {}),
        ...(file !== undefined ? { file } : {}),
        line: at.line,
        col: at.col,
      });
    }
    if (fatal) return { ok: false, errors };

    const targets = resolveAliases(doc);
    const source = new YamlSource(lineCounter, targets, file);
    source.errors.push(...errors);
    for (const [alias, target] of targets) {
      if (target === undefined) {
        source.error('ALIAS_UNDEFINED', `alias *${alias.source} refers to an anchor that is not defined before it`, alias, undefined, `define it with &${alias.source} on the first use`);
      }
    }
    const root = doc.contents as Node | null;
    if (root !== null && targets.size > 0) {
      const bomb = source.#findAliasBomb(root);
      if (bomb) return { ok: false, errors: [...source.errors, bomb] };
    }
    return { ok: true, source, root };
  }

  get file(): string | undefined {
    return this.#file;
  }

  /** Line and column (1-based) where `node` starts. */
  position(node: Node | null | undefined): Position | undefined {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const p = this.#lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  }

  /** Remembers where `path` was read. The first reading wins, so aliased content points at its definition. */
  mark(path: string, node: Node | null | undefined): void {
    const p = this.position(node);
    if (p && !this.#positions.has(path)) this.#positions.set(path, p);
  }

  /** The position recorded for exactly `path`. */
  positionOfExactPath(path: string): Position | undefined {
    return this.#positions.get(path);
  }

  /** The position of `path`, or of its nearest recorded parent. */
  positionOfPath(path: string): Position | undefined {
    let p = path;
    for (;;) {
      const found = this.#positions.get(p);
      if (found) return found;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) return undefined;
      p = p.slice(0, cut);
    }
  }

  error(code: YamlErrorCode, message: string, node: Node | null | undefined, path: string | undefined, hint?: string): void {
    this.errorAt(code, message, this.position(node), path, hint);
  }

  errorAt(code: YamlErrorCode, message: string, at: Position | undefined, path: string | undefined, hint?: string): void {
    this.errors.push({
      code,
      message,
      ...(hint !== undefined ? { hint } : {}),
      ...(this.#file !== undefined ? { file: this.#file } : {}),
      ...(at ? { line: at.line, col: at.col } : {}),
      ...(path !== undefined && path !== '' ? { path } : {}),
    });
  }

  /** The node an alias stands for; `null` when the alias is undefined (reported once, at load). */
  deref(node: Node | null | undefined): Node | null {
    let current: Node | null | undefined = node;
    // Aliases of aliases are legal YAML; the bound stops a cycle the bomb check would also catch.
    for (let hops = 0; current && isAlias(current); hops++) {
      if (hops > 64) return null;
      current = this.#targets.get(current);
    }
    return current ?? null;
  }

  /**
   * The keys of a mapping, with `<<:` merges applied (explicit keys win, then earlier
   * merge sources) and `x-` keys dropped. Non-string keys are reported.
   */
  entries(map: YAMLMap, path: string, depth = 0): Entry[] {
    const out: Entry[] = [];
    const seen = new Set<string>();
    const merges: unknown[] = [];
    for (const pair of map.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key;
      if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
        merges.push(pair.value);
        continue;
      }
      const resolvedKey = isNodeLike(keyNode) ? this.deref(keyNode) : null;
      const key = isScalar(resolvedKey) && (typeof resolvedKey.value === 'string' || typeof resolvedKey.value === 'number') ? String(resolvedKey.value) : undefined;
      if (key === undefined) {
        if (isNodeLike(keyNode)) this.error('WRONG_TYPE', 'keys must be plain strings', keyNode, path, 'write the key as a word, e.g. "name:"');
        continue;
      }
      if (key.startsWith('x-')) continue;
      if (seen.has(key)) {
        this.error('DUPLICATE_KEY', `"${key}" appears twice in this mapping`, keyNode as Node, joinPath(path, key), 'each key may appear once in a mapping; merge the two entries');
        continue;
      }
      seen.add(key);
      out.push({ key, keyNode: keyNode as Node, value: isNodeLike(pair.value) ? this.deref(pair.value) : null, path: joinPath(path, key) });
    }
    for (const m of merges) {
      const target = isNodeLike(m) ? this.deref(m) : null;
      const sources = isSeq(target) ? target.items : [m];
      for (const s of sources) {
        const mapped = isNodeLike(s) ? this.deref(s) : null;
        if (!isMap(mapped)) {
          if (isNodeLike(s) && mapped !== null) this.error('WRONG_TYPE', 'a merge key "<<:" needs a mapping or an alias of one', s, path, 'e.g. "<<: *defaults" where defaults is a mapping');
          continue;
        }
        if (depth > 32) continue;
        for (const e of this.entries(mapped, path, depth + 1)) {
          if (seen.has(e.key)) continue;
          seen.add(e.key);
          out.push(e);
        }
      }
    }
    return out;
  }

  /** Reports every key not in `allowed`, with a did-you-mean hint. */
  checkKeys(entries: readonly Entry[], allowed: readonly string[], what: string): void {
    for (const e of entries) {
      if (allowed.includes(e.key)) continue;
      this.error('UNKNOWN_KEY', `unknown key "${e.key}" in ${what}`, e.keyNode, e.path, didYouMean(e.key, allowed, 'keys'));
    }
  }

  /**
   * Counts nodes as if every alias were expanded. A few lines of nested aliases can
   * stand for millions of nodes ("billion laughs"); more than MAX_EXPANDED_NODES, or an
   * alias inside its own anchor, gives ALIAS_BOMB before any of it is walked.
   */
  #findAliasBomb(root: Node): FailsmallError | undefined {
    const sizes = new Map<Node, number>();
    const active = new Set<Node>();
    let culprit: Alias | undefined;
    let cyclic = false;
    const size = (node: unknown): number => {
      if (!isNodeLike(node)) return 1;
      const cached = sizes.get(node);
      if (cached !== undefined) return cached;
      if (active.has(node)) {
        cyclic = true;
        return Infinity;
      }
      active.add(node);
      let total = 1;
      if (isAlias(node)) {
        const target = this.#targets.get(node);
        total = target ? size(target) : 1;
        if (total > MAX_EXPANDED_NODES && culprit === undefined) culprit = node;
      } else if (isMap(node)) {
        for (const pair of node.items) {
          total += size(pair.key) + size(pair.value);
          if (total > MAX_EXPANDED_NODES) break;
        }
      } else if (isSeq(node)) {
        for (const item of node.items) {
          total += size(item);
          if (total > MAX_EXPANDED_NODES) break;
        }
      }
      active.delete(node);
      sizes.set(node, total);
      return total;
    };
    if (size(root) <= MAX_EXPANDED_NODES) return undefined;
    const at = this.position(culprit ?? root);
    const message = cyclic
      ? 'an alias refers to a node that contains it, so it would expand forever'
      : `aliases expand this document to more than ${MAX_EXPANDED_NODES} nodes (an alias bomb)`;
    return {
      code: 'ALIAS_BOMB',
      message,
      hint: cyclic ? 'an anchor cannot contain an alias of itself' : 'use aliases to share small pieces such as a list of gates, not to multiply data',
      ...(this.#file !== undefined ? { file: this.#file } : {}),
      ...(at ? { line: at.line, col: at.col } : {}),
    };
  }
}

/** Maps each alias to the last node anchored with its name before it, in document order (as YAML says). */
function resolveAliases(doc: Document): Map<Alias, Node | undefined> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        targets.set(node, anchors.get(node.source));
      } else if (node.anchor) {
        anchors.set(node.anchor, node);
      }
    },
  });
  return targets;
}

export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}

/** A short description of a node for messages: `a list`, `the string "60"`. */
export function describe(node: Node | null): string {
  if (node === null) return 'an unresolved alias';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'nothing';
    if (typeof v === 'string') return `the string "${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
    return 'a value';
  }
  return 'a value';
}

/** The node to point at for an entry's value: its key when the value is empty (`key:` with nothing after it) or an unresolved alias. */
export function valueNode(e: Entry): Node {
  const v = e.value;
  if (v === null || (isScalar(v) && (v.value === null || v.value === undefined) && (v.source === undefined || v.source === ''))) return e.keyNode;
  return v;
}

export function isNodeLike(value: unknown): value is Node {
  return isAlias(value) || isScalar(value) || isMap(value) || isSeq(value);
}

export function isMapNode(node: Node | null): node is YAMLMap {
  return isMap(node);
}

export function isSeqNode(node: Node | null): node is YAMLSeq {
  return isSeq(node);
}
