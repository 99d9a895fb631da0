import { isMap, isScalar, isSeq } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import { describeNode, didYouMean, parseDuration, type FailsmallError, type PolicySource, type SourceEntry } from '@failsmall/core';

/**
 * Typed readers for the fields of a YAML document read through core's PolicySource: each
 * reports an error at the field's line and column (with a hint where one helps) and returns
 * undefined. The simulator's scenario files and the triage scenarios read their fields here.
 *
 * Examples
 *   const f = new FieldReader(src);
 *   const seed = f.number(entry, { min: 0, integer: true });
 */
export class FieldReader {
  readonly #src: PolicySource;

  constructor(src: PolicySource) {
    this.#src = src;
  }

  require(entries: readonly SourceEntry[], key: string, owner: Node, path: string, hint: string): SourceEntry | undefined {
    const e = entries.find((x) => x.key === key);
    if (!e) this.#src.error('MISSING_KEY', `missing required key "${key}"`, owner, path, hint);
    return e;
  }

  map(e: SourceEntry, hint: string): YAMLMap | undefined {
    if (isMap(e.value)) return e.value;
    this.#src.error('WRONG_TYPE', `${e.key} must be a mapping, got ${describeNode(e.value)}`, valueNode(e), e.path, hint);
    return undefined;
  }

  string(e: SourceEntry): string | undefined {
    const v = e.value;
    if (isScalar(v) && typeof v.value === 'string') return v.value;
    this.#src.error('WRONG_TYPE', `${e.key} must be a string, got ${describeNode(v)}`, valueNode(e), e.path);
    return undefined;
  }

  /** A list of strings; a single string is refused with a hint to bracket it. */
  strings(e: SourceEntry, hint: string): string[] | undefined {
    const v = e.value;
    if (v === null || (isScalar(v) && v.value === null)) return [];
    if (!isSeq(v)) {
      const one = isScalar(v) && typeof v.value === 'string' ? `write [ ${v.value} ]` : hint;
      this.#src.error('WRONG_TYPE', `${e.key} must be a list, got ${describeNode(v)}`, valueNode(e), e.path, one);
      return undefined;
    }
    const out: string[] = [];
    let ok = true;
    v.items.forEach((raw, i) => {
      const item = this.#src.deref(raw as Node);
      if (isScalar(item) && typeof item.value === 'string') out.push(item.value);
      else {
        this.#src.error('WRONG_TYPE', `${e.key}[${i}] must be a string, got ${describeNode(item)}`, item ?? v, `${e.path}[${i}]`, hint);
        ok = false;
      }
    });
    return ok ? out : undefined;
  }

  /**
   * A list of mappings: each item's keys are checked against `keys` (when given) and handed to
   * `read`, which reports its own errors and returns undefined. Undefined if anything failed.
   */
  mappings<T>(e: SourceEntry, o: { noun: string; example: string; keys?: readonly string[]; nonEmpty?: boolean },
    read: (entries: SourceEntry[], node: YAMLMap, path: string, done: readonly T[]) => T | undefined): T[] | undefined {
    const v = e.value;
    if (!isSeq(v) || (o.nonEmpty === true && v.items.length === 0)) {
      this.#src.error('WRONG_TYPE', `${e.key} must be a ${o.nonEmpty === true ? 'non-empty ' : ''}list, got ${describeNode(v)}`, valueNode(e), e.path, `e.g. ${e.key}: ${o.example}`);
      return undefined;
    }
    const out: T[] = [];
    let ok = true;
    v.items.forEach((raw, i) => {
      const path = `${e.path}[${i}]`;
      const node = this.#src.deref(raw as Node);
      if (!isMap(node)) {
        this.#src.error('WRONG_TYPE', `${o.noun} must be a mapping, got ${describeNode(node)}`, node ?? v, path, o.example);
        ok = false;
        return;
      }
      const entries = this.#src.entries(node, path);
      if (o.keys) this.#src.checkKeys(entries, o.keys, o.noun);
      const item = read(entries, node, path, out);
      if (item === undefined) ok = false;
      else out.push(item);
    });
    return ok ? out : undefined;
  }

  /** One of `allowed`, with a did-you-mean. */
  oneOf<T extends string>(e: SourceEntry, allowed: readonly T[], noun: string): T | undefined {
    const text = this.scalarText(e);
    if (text === undefined) return undefined;
    const found = allowed.find((a) => a === text);
    if (found !== undefined) return found;
    this.#src.error('BAD_ENUM', `${e.key} must be one of ${allowed.join(', ')}, got "${text}"`, valueNode(e), e.path, didYouMean(text, allowed, noun));
    return undefined;
  }

  scalarText(e: SourceEntry): string | undefined {
    const v = e.value;
    if (isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number' || typeof v.value === 'boolean')) return String(v.value);
    this.#src.error('WRONG_TYPE', `${e.key} must be a single word, got ${describeNode(v)}`, valueNode(e), e.path);
    return undefined;
  }

  boolean(e: SourceEntry): boolean | undefined {
    const v = e.value;
    if (isScalar(v) && typeof v.value === 'boolean') return v.value;
    this.#src.error('WRONG_TYPE', `${e.key} must be true or false, got ${describeNode(v)}`, valueNode(e), e.path, 'write true or false');
    return undefined;
  }

  number(e: SourceEntry, o: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean }): number | undefined {
    const v = e.value;
    if (!isScalar(v) || typeof v.value !== 'number' || !Number.isFinite(v.value)) {
      const hint = isScalar(v) && typeof v.value === 'string' && /%\s*$/.test(v.value) ? `write a ratio: ${Number.parseFloat(v.value) / 100} for ${v.value.trim()}` : undefined;
      this.#src.error('WRONG_TYPE', `${e.key} must be ${o.integer ? 'a whole number' : 'a number'}, got ${describeNode(v)}`, valueNode(e), e.path, hint);
      return undefined;
    }
    const n = v.value;
    const tooLow = o.min !== undefined && (o.exclusiveMin ? n <= o.min : n < o.min);
    if ((o.integer && !Number.isSafeInteger(n)) || tooLow || (o.max !== undefined && n > o.max)) {
      const range = `${o.exclusiveMin ? 'greater than' : 'at least'} ${o.min ?? '-∞'}${o.max !== undefined ? ` and at most ${o.max}` : ''}`;
      this.#src.error('BAD_VALUE', `${e.key} must be ${o.integer ? 'a whole number ' : ''}${range}, got ${n}`, v, e.path);
      return undefined;
    }
    return n;
  }

  /** A share: a number in [0, 1] or a percentage string such as "70%". */
  ratio(e: SourceEntry): number | undefined {
    const v = e.value;
    let n: number | undefined;
    if (isScalar(v) && typeof v.value === 'number') n = v.value;
    else if (isScalar(v) && typeof v.value === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(v.value)) n = Number.parseFloat(v.value) / 100;
    if (n === undefined) {
      this.#src.error('WRONG_TYPE', `${e.key} must be a share such as 0.3 or "30%", got ${describeNode(v)}`, valueNode(e), e.path);
      return undefined;
    }
    if (!(n >= 0 && n <= 1)) {
      this.#src.error('BAD_DISTRIBUTION', `${e.key} must be between 0 and 1 (100%), got ${n}`, v, e.path);
      return undefined;
    }
    return n;
  }

  duration(e: SourceEntry, zeroOk = false): number | undefined {
    const v = e.value;
    if (isScalar(v) && typeof v.value === 'string') {
      if (zeroOk && /^\s*0+(\.0+)?(ms|s|m|h|d)?\s*$/.test(v.value)) return 0;
      const d = parseDuration(v.value);
      if (d.ok) return d.ms;
      this.#src.error('BAD_DURATION', `${e.key}: ${d.message}`, v, e.path, 'write a duration with a unit: 500ms, 60s, 5m, 1h30m');
      return undefined;
    }
    if (isScalar(v) && typeof v.value === 'number') {
      if (zeroOk && v.value === 0) return 0;
      this.#src.error('BAD_DURATION', `${e.key} ${v.value} has no unit`, v, e.path, `write "${v.value}s" or "${v.value}m": a bare number could mean either`);
      return undefined;
    }
    this.#src.error('BAD_DURATION', `${e.key} must be a duration such as 60s, got ${describeNode(v)}`, valueNode(e), e.path, 'write a duration with a unit: 500ms, 60s, 5m, 1h30m');
    return undefined;
  }
}

/** The node to point at for a value: the key when the value is empty. */
export function valueNode(e: SourceEntry): Node {
  const v = e.value;
  if (v === null || (isScalar(v) && (v.value === null || v.value === undefined))) return e.keyNode;
  return v;
}

/** By line then column, duplicates (same code at the same place) dropped. */
export function sortErrors(errors: readonly FailsmallError[]): FailsmallError[] {
  const seen = new Set<string>();
  const out: FailsmallError[] = [];
  for (const e of errors) {
    const key = `${e.code}:${e.line ?? ''}:${e.col ?? ''}:${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
