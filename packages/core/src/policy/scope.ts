import type { LabelMatcher, Scope } from './types.ts';

/**
 * The scope grammar of a stage: how many nodes it covers and, optionally, which ones.
 *
 *   scope   := size [ "where" matcher { "," matcher } ]
 *   size    := "all" [ "nodes" ] | NUMBER "%" [ "nodes" ] | INTEGER ( "node" | "nodes" )
 *   matcher := LABEL "=" VALUE | LABEL "!=" VALUE
 *
 * Examples
 *   parseScope('1% nodes')                             // percent 1
 *   parseScope('20 nodes')                             // count 20
 *   parseScope('100% nodes where customer_tier=free')  // percent 100 of the free tier
 */
export type ScopeParse =
  | { readonly ok: true; readonly scope: Scope }
  | { readonly ok: false; readonly message: string; readonly hint: string };

export type ScopeSize =
  | { readonly ok: true; readonly type: 'percent'; readonly percent: number }
  | { readonly ok: true; readonly type: 'count'; readonly count: number }
  | { readonly ok: false; readonly message: string; readonly hint: string };

export const SCOPE_HINT = 'write a percentage ("1% nodes"), a count ("20 nodes") or "all", optionally followed by "where key=value,key2!=value2"';

const PERCENT = /^(\d+(?:\.\d+)?)\s*%(?:\s+nodes?)?$/i;
const COUNT = /^(\d+(?:\.\d+)?)\s+nodes?$/i;
const ALL = /^all(?:\s+nodes)?$/i;
const MATCHER = /^([A-Za-z0-9_.\/-]+)\s*(!=|=)\s*([^\s,=!]+)$/;
const LABEL = /^[A-Za-z0-9_.\/-]+$/;
const LABEL_VALUE = /^[^\s,=!]+$/;

export function parseScope(text: string): ScopeParse {
  const trimmed = text.trim();
  const where = /\s+where\s+/i.exec(trimmed);
  const sizeText = where ? trimmed.slice(0, where.index) : trimmed;
  const size = parseScopeSize(sizeText);
  if (!size.ok) return size;
  let selector: LabelMatcher[] = [];
  if (where) {
    const parsed = parseSelector(trimmed.slice(where.index + where[0].length));
    if (!parsed.ok) return parsed;
    selector = parsed.selector;
  } else if (/\bwhere\b/i.test(trimmed)) {
    return { ok: false, message: `scope "${text}" has "where" without label matchers`, hint: 'write "where key=value", e.g. "10% nodes where customer_tier=free"' };
  }
  return { ok: true, scope: makeScope(size, selector, text) };
}

/** The size part alone: `10%`, `10% nodes`, `20 nodes`, `all`. */
export function parseScopeSize(text: string): ScopeSize {
  const s = text.trim();
  if (ALL.test(s)) return { ok: true, type: 'percent', percent: 100 };
  const percent = PERCENT.exec(s);
  if (percent) {
    const value = Number(percent[1]);
    if (!(value > 0 && value <= 100)) {
      return { ok: false, message: `scope percentage ${percent[1]}% must be greater than 0 and at most 100`, hint: 'use a percentage in (0, 100], e.g. "1% nodes"' };
    }
    return { ok: true, type: 'percent', percent: value };
  }
  const count = COUNT.exec(s);
  if (count) return countSize(Number(count[1]), count[1] ?? '');
  if (/^\d+(?:\.\d+)?$/.test(s)) {
    return { ok: false, message: `scope "${text}" is a bare number: percent or node count?`, hint: `write "${s}% nodes" or "${s} nodes"` };
  }
  return { ok: false, message: `cannot read scope "${text}"`, hint: SCOPE_HINT };
}

export function countSize(value: number, shown: string = String(value)): ScopeSize {
  if (!Number.isInteger(value) || value < 1) {
    return { ok: false, message: `scope node count ${shown} must be a whole number of at least 1`, hint: 'e.g. "20 nodes", or use a percentage such as "1% nodes"' };
  }
  return { ok: true, type: 'count', count: value };
}

export function parseSelector(text: string): { ok: true; selector: LabelMatcher[] } | { ok: false; message: string; hint: string } {
  const selector: LabelMatcher[] = [];
  for (const part of text.split(',')) {
    const m = MATCHER.exec(part.trim());
    if (!m) {
      return { ok: false, message: `cannot read label matcher "${part.trim()}"`, hint: 'write key=value or key!=value, separated by commas, e.g. "where customer_tier=free,region!=eu"' };
    }
    selector.push({ key: m[1] ?? '', op: m[2] === '!=' ? '!=' : '=', value: m[3] ?? '' });
  }
  return { ok: true, selector };
}

export function isLabel(text: string): boolean {
  return LABEL.test(text);
}

export function isLabelValue(text: string): boolean {
  return LABEL_VALUE.test(text);
}

export function makeScope(size: ScopeSize & { ok: true }, selector: readonly LabelMatcher[], text: string): Scope {
  return size.type === 'percent'
    ? { type: 'percent', percent: size.percent, selector, text }
    : { type: 'count', count: size.count, selector, text };
}

/** Canonical text, for scopes written in object form. */
export function formatScope(scope: Pick<Scope, 'selector'> & ({ type: 'percent'; percent: number } | { type: 'count'; count: number })): string {
  const size = scope.type === 'percent' ? `${scope.percent}% nodes` : `${scope.count} ${scope.count === 1 ? 'node' : 'nodes'}`;
  if (scope.selector.length === 0) return size;
  return `${size} where ${scope.selector.map((m) => `${m.key}${m.op}${m.value}`).join(',')}`;
}

/** Two scopes select from the same population when their selectors hold the same matchers. */
export function selectorKey(selector: readonly LabelMatcher[]): string {
  return selector.map((m) => `${m.key}${m.op}${m.value}`).sort().join(',');
}

/** Covers every node of the fleet: 100% with no selector. */
export function coversEverything(scope: Scope): boolean {
  return scope.type === 'percent' && scope.percent >= 100 && scope.selector.length === 0;
}
