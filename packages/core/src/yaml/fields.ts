import { isMap, isScalar, isSeq } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import { parseDuration } from '../duration/index.ts';
import type { YamlErrorCode } from './codes.ts';
import { describe, isNodeLike, joinPath, valueNode, type Entry, type YamlSource } from './source.ts';
import { didYouMean } from './suggest.ts';

/** Bounds for `number`: `{ min: 0, integer: true }` is a whole number ≥ 0. */
export interface NumberBounds {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  readonly exclusiveMin?: boolean;
  /** The hint when the value is not a number at all (a `%` string gets its own). */
  readonly hint?: string;
  /** The code when the number is out of range: BAD_VALUE unless the document names it better (BAD_THRESHOLD). */
  readonly rangeCode?: YamlErrorCode;
}

const DURATION_HINT = 'write a duration with a unit: 500ms, 60s, 5m, 1h30m';
const PERCENT = /^\s*\d+(\.\d+)?\s*%\s*$/;

/**
 * The typed reads of a field, for every YAML parser of failsmall. Each read returns the value,
 * or reports one error at the field's line and column (the key's when the value is empty),
 * with a hint where one helps, and returns undefined. An entry whose value is an alias that
 * could not be resolved (reported once, at load) is undefined without a second error.
 *
 * | read | accepts | error |
 * | --- | --- | --- |
 * | `string` | a string | WRONG_TYPE |
 * | `scalarText` | a string, number or boolean, as text | WRONG_TYPE |
 * | `strings` | a list of strings | WRONG_TYPE |
 * | `number` | a finite number within bounds | WRONG_TYPE, BAD_VALUE (or `rangeCode`) |
 * | `ratio` | 0.3 or "30%", within [0, 1] | WRONG_TYPE, BAD_VALUE (or `rangeCode`) |
 * | `boolean` | true or false | WRONG_TYPE |
 * | `duration` | "60s", "1h30m" (0 when `zeroOk`) | BAD_DURATION |
 * | `oneOf` | one of a list of words | BAD_ENUM, with a did-you-mean |
 * | `map`, `mappings` | a mapping, a list of mappings | WRONG_TYPE |
 *
 * Examples
 *   const f = new FieldReader(src);
 *   const seedE = f.get(entries, 'seed');
 *   const seed = seedE ? f.number(seedE, { min: 0, integer: true }) : 1;
 */
export class FieldReader {
  readonly #src: YamlSource;

  constructor(src: YamlSource) {
    this.#src = src;
  }

  /** The entry for `key`; where it was read is remembered (for warnings that name a path). */
  get(entries: readonly Entry[], key: string): Entry | undefined {
    const e = entries.find((x) => x.key === key);
    if (e) this.#src.mark(e.path, e.keyNode);
    return e;
  }

  /** The entry for `key`, or MISSING_KEY pointing at `owner`. */
  require(entries: readonly Entry[], key: string, owner: Node, path: string, hint: string): Entry | undefined {
    const e = this.get(entries, key);
    if (!e) this.#src.error('MISSING_KEY', `missing required key "${key}"`, owner, path, hint);
    return e;
  }

  map(e: Entry, hint?: string): YAMLMap | undefined {
    if (isMap(e.value)) return e.value;
    if (e.value !== null) this.#wrongType(e, 'a mapping', hint);
    return undefined;
  }

  string(e: Entry, hint?: string): string | undefined {
    const v = e.value;
    if (isScalar(v) && typeof v.value === 'string') return v.value;
    if (v !== null) this.#wrongType(e, 'a string', hint);
    return undefined;
  }

  /** A word: a string, a number or a boolean, as text (`nonEmpty` refuses blank text; `trim` trims it). */
  scalarText(e: Entry, o: { hint?: string; nonEmpty?: boolean; trim?: boolean } = {}): string | undefined {
    const v = e.value;
    const raw = isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number' || typeof v.value === 'boolean') ? String(v.value) : undefined;
    const text = raw !== undefined && o.trim === true ? raw.trim() : raw;
    if (text !== undefined && !(o.nonEmpty === true && text.trim() === '')) return text;
    if (v !== null) this.#wrongType(e, o.nonEmpty === true ? 'a non-empty string' : 'a single word', o.hint);
    return undefined;
  }

  /** A list of strings; a single string is refused with a hint to bracket it. */
  strings(e: Entry, hint: string): string[] | undefined {
    const v = e.value;
    if (v === null || (isScalar(v) && v.value === null)) return [];
    if (!isSeq(v)) {
      this.#wrongType(e, 'a list', isScalar(v) && typeof v.value === 'string' ? `write [ ${v.value} ]` : hint);
      return undefined;
    }
    const out: string[] = [];
    let ok = true;
    v.items.forEach((raw, i) => {
      const item = isNodeLike(raw) ? this.#src.deref(raw) : null;
      if (isScalar(item) && typeof item.value === 'string') out.push(item.value);
      else {
        if (item !== null) this.#src.error('WRONG_TYPE', `${e.key}[${i}] must be a string, got ${describe(item)}`, item, joinPath(e.path, i), hint);
        ok = false;
      }
    });
    return ok ? out : undefined;
  }

  /**
   * A list of mappings: each item's keys are checked against `keys` (when given) and handed to
   * `read`, which reports its own errors and returns undefined. Undefined if anything failed.
   */
  mappings<T>(e: Entry, o: { noun: string; example: string; keys?: readonly string[]; nonEmpty?: boolean },
    read: (entries: Entry[], node: YAMLMap, path: string, done: readonly T[]) => T | undefined): T[] | undefined {
    const v = e.value;
    if (!isSeq(v) || (o.nonEmpty === true && v.items.length === 0)) {
      if (v !== null) this.#wrongType(e, `a ${o.nonEmpty === true ? 'non-empty ' : ''}list`, `e.g. ${e.key}: ${o.example}`);
      return undefined;
    }
    const out: T[] = [];
    let ok = true;
    v.items.forEach((raw, i) => {
      const path = joinPath(e.path, i);
      const node = isNodeLike(raw) ? this.#src.deref(raw) : null;
      if (!isMap(node)) {
        if (node !== null) this.#src.error('WRONG_TYPE', `${o.noun} must be a mapping, got ${describe(node)}`, node, path, o.example);
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

  /** One of `allowed`, with a did-you-mean (`noun` names them when none is close: "allowed values: …"). */
  oneOf<T extends string>(e: Entry, allowed: readonly T[], noun = 'values'): T | undefined {
    const v = e.value;
    if (v === null) return undefined;
    const text = isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number' || typeof v.value === 'boolean') ? String(v.value) : undefined;
    const found = allowed.find((a) => a === text);
    if (found !== undefined) return found;
    this.#src.error('BAD_ENUM', `${e.key} must be one of ${allowed.join(', ')}, got ${text !== undefined ? `"${text}"` : describe(v)}`, valueNode(e), e.path,
      text !== undefined ? didYouMean(text, allowed, noun) : `allowed ${noun}: ${allowed.join(', ')}`);
    return undefined;
  }

  boolean(e: Entry): boolean | undefined {
    const v = e.value;
    if (isScalar(v) && typeof v.value === 'boolean') return v.value;
    if (v !== null) this.#wrongType(e, 'true or false', 'write true or false (YAML 1.2: yes/no are strings)');
    return undefined;
  }

  number(e: Entry, o: NumberBounds = {}): number | undefined {
    const v = e.value;
    if (v === null) return undefined;
    if (!isScalar(v) || typeof v.value !== 'number') {
      const hint = isScalar(v) && typeof v.value === 'string' && /%\s*$/.test(v.value) ? `write a ratio: ${Number.parseFloat(v.value) / 100} for ${v.value.trim()}` : o.hint;
      this.#wrongType(e, o.integer === true ? 'a whole number' : 'a number', hint);
      return undefined;
    }
    const n = v.value;
    const tooLow = o.min !== undefined && (o.exclusiveMin === true ? n <= o.min : n < o.min);
    if (!Number.isFinite(n) || (o.integer === true && !Number.isSafeInteger(n)) || tooLow || (o.max !== undefined && n > o.max)) {
      const range = o.min === undefined && o.max === undefined ? 'finite'
        : `${o.exclusiveMin === true ? 'greater than' : 'at least'} ${o.min ?? '-∞'}${o.max !== undefined ? ` and at most ${o.max}` : ''}`;
      this.#src.error(o.rangeCode ?? 'BAD_VALUE', `${e.key} must be ${o.integer === true ? 'a whole number ' : ''}${range}, got ${String(n)}`, v, e.path);
      return undefined;
    }
    return n;
  }

  /** A share: a number or a percentage string such as "70%", in [0, 1] (or (0, 1] with `exclusiveMin`). */
  ratio(e: Entry, o: { exclusiveMin?: boolean; rangeCode?: YamlErrorCode; hint?: string } = {}): number | undefined {
    const v = e.value;
    if (v === null) return undefined;
    let n: number | undefined;
    if (isScalar(v) && typeof v.value === 'number') n = v.value;
    else if (isScalar(v) && typeof v.value === 'string' && PERCENT.test(v.value)) n = Number.parseFloat(v.value) / 100;
    if (n === undefined) {
      this.#wrongType(e, 'a share such as 0.9 or "90%"', o.hint);
      return undefined;
    }
    if (!((o.exclusiveMin === true ? n > 0 : n >= 0) && n <= 1)) {
      this.#src.error(o.rangeCode ?? 'BAD_VALUE', `${e.key} must be ${o.exclusiveMin === true ? 'greater than 0' : 'at least 0'} and at most 1 (100%), got ${String(n)}`, v, e.path, o.hint);
      return undefined;
    }
    return n;
  }

  /** Milliseconds, from a duration with a unit; `zeroOk` also takes 0 (with or without a unit). */
  duration(e: Entry, o: { zeroOk?: boolean } = {}): number | undefined {
    const v = e.value;
    if (v === null) return undefined;
    if (isScalar(v) && typeof v.value === 'string') {
      if (o.zeroOk === true && /^\s*0+(\.0+)?(ms|s|m|h|d)?\s*$/.test(v.value)) return 0;
      const d = parseDuration(v.value);
      if (d.ok) return d.ms;
      this.#src.error('BAD_DURATION', `${e.key}: ${d.message}`, v, e.path, DURATION_HINT);
      return undefined;
    }
    if (isScalar(v) && typeof v.value === 'number') {
      if (o.zeroOk === true && v.value === 0) return 0;
      this.#src.error('BAD_DURATION', `${e.key} ${v.value} has no unit`, v, e.path, `write "${v.value}s" or "${v.value}ms": a bare number could mean either`);
      return undefined;
    }
    this.#src.error('BAD_DURATION', `${e.key} must be a duration such as 60s, got ${describe(v)}`, valueNode(e), e.path, DURATION_HINT);
    return undefined;
  }

  #wrongType(e: Entry, what: string, hint: string | undefined): void {
    this.#src.error('WRONG_TYPE', `${e.key} must be ${what}, got ${describe(e.value)}`, valueNode(e), e.path, hint);
  }
}
