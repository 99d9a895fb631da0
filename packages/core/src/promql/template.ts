/**
 * PromQL query templates for `source: prometheus` gates, in one place for the two that read
 * them: the policy parser checks a gate's query with `checkGateQuery` (so `policy validate`,
 * `apply` and the simulator refuse a bad one with a line and column), and the control plane's
 * Prometheus client fills it for each stage with `renderQueryTemplate`:
 *
 *   sum(rate(failsmall_agent_errors_total{ {{cohort_selector}} }[{{window}}]))
 *
 * Pure: no IO.
 */
import { suggest } from '../yaml/suggest.ts';

/** The placeholders a query may use. */
export const QUERY_PLACEHOLDERS = ['cohort_selector', 'baseline_selector', 'window', 'interval'] as const;
export type QueryPlaceholder = (typeof QUERY_PLACEHOLDERS)[number];

/** The label that carries a node's id on every series (agents expose `node`). */
export const DEFAULT_NODE_LABEL = 'node';

/**
 * The longest selector we render (bytes of one label matcher). 10,000 nodes make about 110 KB
 * with 10-character ids and 370 KB with UUIDs; Prometheus 2.42 parses and runs those in tens of
 * milliseconds (queries are POSTed, so there is no URL limit). The bound keeps the form-encoded
 * request under 1 MB, the default body limit of an nginx in front of Prometheus.
 */
export const DEFAULT_MAX_SELECTOR_BYTES = 512 * 1024;

export type TemplateErrorCode = 'UNKNOWN_PLACEHOLDER' | 'MALFORMED_PLACEHOLDER' | 'EMPTY_QUERY';
export type RenderErrorCode = TemplateErrorCode | 'EMPTY_COHORT' | 'BAD_DURATION' | 'BAD_LABEL_NAME' | 'SELECTOR_TOO_LONG';

/** An error in a query template, with where it is (1-based, within the query text). */
export interface TemplateError {
  readonly code: TemplateErrorCode;
  readonly message: string;
  /** The placeholder as written, e.g. `{{cohort}}`. */
  readonly placeholder?: string;
  readonly offset: number;
  readonly line: number;
  readonly col: number;
  readonly hint?: string;
}

export interface RenderError {
  readonly code: RenderErrorCode;
  readonly message: string;
  readonly hint?: string;
  /** Set for template errors: every one found, not only the first. */
  readonly errors?: readonly TemplateError[];
}

export interface TemplateCheck {
  /** The placeholders the template uses, each once, in order of first use. */
  readonly placeholders: readonly QueryPlaceholder[];
  readonly errors: readonly TemplateError[];
}

/** What a stage supplies to fill a template. */
export interface QueryVars {
  /** Node ids of the cohort under test. */
  readonly cohort: readonly string[];
  /**
   * Node ids of the baseline, when the caller knows them. When absent, the baseline is every
   * node NOT in `cohort` or `notBaseline` (a negative matcher), which stays short while the
   * cohort is small, whatever the fleet size.
   */
  readonly baseline?: readonly string[];
  /** Nodes to keep out of the complement baseline too (e.g. already on the new version). */
  readonly notBaseline?: readonly string[];
  /** The gate's window and evaluation interval, in milliseconds. */
  readonly windowMs: number;
  readonly intervalMs: number;
  /** The label carrying the node id; default `node`. */
  readonly nodeLabel?: string;
  readonly maxSelectorBytes?: number;
}

export type RenderResult =
  | { readonly ok: true; readonly query: string; readonly placeholders: readonly QueryPlaceholder[] }
  | { readonly ok: false; readonly error: RenderError };

// `{{ name }}`; the name is anything without braces or spaces, so a misspelling is reported
// rather than left in the query. `foo{{{cohort_selector}}}` still parses: the match starts at
// the second brace.
const PLACEHOLDER = /\{\{\s*([^{}\s]*)\s*\}\}/g;

/**
 * Checks a query template without rendering it: unknown or malformed placeholders.
 *
 * Examples
 *   checkQueryTemplate('sum(rate(x{ {{cohort_selector}} }[{{window}}]))').errors   // []
 *   checkQueryTemplate('x{ {{cohort}} }').errors[0]?.code                          // 'UNKNOWN_PLACEHOLDER'
 */
export function checkQueryTemplate(template: string): TemplateCheck {
  const errors: TemplateError[] = [];
  const used: QueryPlaceholder[] = [];
  if (template.trim() === '') {
    errors.push({ code: 'EMPTY_QUERY', message: 'the query is empty', offset: 0, line: 1, col: 1, hint: 'write a PromQL expression that returns one value' });
    return { placeholders: used, errors };
  }
  const consumed: Array<[number, number]> = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    const offset = m.index;
    consumed.push([offset, offset + m[0].length]);
    if (isPlaceholder(name)) {
      if (!used.includes(name)) used.push(name);
    } else {
      errors.push({
        code: 'UNKNOWN_PLACEHOLDER',
        message: name === '' ? `empty placeholder ${m[0]}` : `unknown placeholder {{${name}}}; valid placeholders: ${QUERY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
        placeholder: m[0], offset, ...position(template, offset),
        hint: suggestion(name),
      });
    }
  }
  // A `{{` or `}}` left over is a placeholder someone meant to write (PromQL never doubles braces).
  // Placeholders are blanked first, so `x{{{cohort_selector}}}` leaves only its single braces.
  const rest = consumed.reduce((text, [from, to]) => text.slice(0, from) + ' '.repeat(to - from) + text.slice(to), template);
  for (const m of rest.matchAll(/\{\{|\}\}/g)) {
    const at = m.index;
    errors.push({
      code: 'MALFORMED_PLACEHOLDER',
      message: `unbalanced ${m[0]} at ${position(template, at).line}:${position(template, at).col}; a placeholder is written {{name}}`,
      offset: at, ...position(template, at),
      hint: `valid placeholders: ${QUERY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
    });
  }
  errors.sort((a, b) => a.offset - b.offset);
  return { placeholders: used, errors };
}

/** A problem with a gate's query, in the policy parser's codes. */
export interface GateQueryProblem {
  readonly code: 'UNKNOWN_PLACEHOLDER' | 'BAD_QUERY';
  readonly message: string;
  readonly hint?: string;
}

/**
 * What the policy parser asks of a gate's query: a template that renders, and that selects the
 * cohort (a query that never uses {{cohort_selector}} cannot tell the cohort from the fleet).
 * An unbalanced brace or an empty query is BAD_QUERY; a misspelt name is UNKNOWN_PLACEHOLDER.
 *
 * Examples
 *   checkGateQuery('sum(rate(x{ {{cohort_selector}} }[{{windw}}]))')[0]?.code   // 'UNKNOWN_PLACEHOLDER'
 *   checkGateQuery('sum(up)')[0]?.code                                          // 'BAD_QUERY'
 */
export function checkGateQuery(template: string): GateQueryProblem[] {
  const check = checkQueryTemplate(template);
  const problems: GateQueryProblem[] = check.errors.map((e) => ({
    code: e.code === 'UNKNOWN_PLACEHOLDER' ? 'UNKNOWN_PLACEHOLDER' : 'BAD_QUERY',
    message: e.message,
    ...(e.hint !== undefined ? { hint: e.hint } : {}),
  }));
  // Only a template that reads well can be said to leave the cohort out.
  if (check.errors.length === 0 && !check.placeholders.includes('cohort_selector')) {
    problems.push({ code: 'BAD_QUERY', message: 'the query never uses {{cohort_selector}}, so it cannot tell the cohort from the rest of the fleet', hint: 'add {{cohort_selector}} inside the label matchers, e.g. failsmall_agent_errors_total{ {{cohort_selector}} }' });
  }
  return problems;
}

/**
 * Fills a query template for one stage. Never throws: a bad template or bad variables give an
 * error value with a code.
 *
 * Examples
 *   renderQueryTemplate('sum(rate(x{ {{cohort_selector}} }[{{window}}]))', { cohort: ['n1', 'n.2'], windowMs: 60_000, intervalMs: 10_000 })
 *   // → { ok: true, query: 'sum(rate(x{ node=~"n1|n\\\\.2" }[60s]))', … }
 */
export function renderQueryTemplate(template: string, vars: QueryVars): RenderResult {
  const check = checkQueryTemplate(template);
  const first = check.errors[0];
  if (first) return { ok: false, error: { code: first.code, message: first.message, ...(first.hint ? { hint: first.hint } : {}), errors: check.errors } };

  const values = new Map<QueryPlaceholder, string>();
  for (const name of check.placeholders) {
    const v = placeholderValue(name, vars);
    if (!v.ok) return v;
    values.set(name, v.value);
  }
  const query = template.replace(PLACEHOLDER, (_all, name: string) => values.get(name as QueryPlaceholder) ?? '');
  return { ok: true, query, placeholders: check.placeholders };
}

/**
 * The label matcher for a set of nodes: `node=~"a|b\\.c"` (or `!~` when `negate`). Prometheus
 * anchors regex matchers (RE2), so `n1` does not match `n10`; metacharacters in ids are escaped.
 * An empty set gives a matcher that matches no node (`=~` over nothing) or every node (`!~`).
 */
export function nodeMatcher(nodes: readonly string[], o: { negate?: boolean; label?: string } = {}): string {
  const label = o.label ?? DEFAULT_NODE_LABEL;
  const op = o.negate ? '!~' : '=~';
  // `=~""` would match series WITHOUT the label, so an empty set is spelled out.
  if (nodes.length === 0) return o.negate ? `${label}!=""` : `${label}="__failsmall_no_node__"`;
  return `${label}${op}${promqlString([...new Set(nodes)].map(escapeRegex).join('|'))}`;
}

/** `60000` → `60s`, `1500` → `1500ms`, `120000` → `2m`: a PromQL duration. */
export function promDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Escapes RE2 metacharacters so a node id matches only itself. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** A PromQL double-quoted string literal (Go escapes: backslash, quote, newline). */
export function promqlString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

function placeholderValue(name: QueryPlaceholder, vars: QueryVars): { ok: true; value: string } | { ok: false; error: RenderError } {
  const label = vars.nodeLabel ?? DEFAULT_NODE_LABEL;
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) {
    return { ok: false, error: { code: 'BAD_LABEL_NAME', message: `"${label}" is not a Prometheus label name`, hint: 'a label name is [a-zA-Z_][a-zA-Z0-9_]*' } };
  }
  const max = vars.maxSelectorBytes ?? DEFAULT_MAX_SELECTOR_BYTES;
  switch (name) {
    case 'window':
    case 'interval': {
      const ms = name === 'window' ? vars.windowMs : vars.intervalMs;
      if (!Number.isInteger(ms) || ms <= 0) return { ok: false, error: { code: 'BAD_DURATION', message: `{{${name}}} needs a positive whole number of milliseconds, got ${ms}` } };
      return { ok: true, value: promDuration(ms) };
    }
    case 'cohort_selector': {
      if (vars.cohort.length === 0) return { ok: false, error: { code: 'EMPTY_COHORT', message: 'the cohort has no nodes, so {{cohort_selector}} would match nothing' } };
      return sized(name, nodeMatcher(vars.cohort, { label }), max, vars.cohort.length);
    }
    case 'baseline_selector': {
      if (vars.baseline) return sized(name, nodeMatcher(vars.baseline, { label }), max, vars.baseline.length);
      const excluded = [...vars.cohort, ...(vars.notBaseline ?? [])];
      return sized(name, nodeMatcher(excluded, { label, negate: true }), max, excluded.length);
    }
  }
}

function sized(name: QueryPlaceholder, matcher: string, max: number, nodes: number): { ok: true; value: string } | { ok: false; error: RenderError } {
  const bytes = Buffer.byteLength(matcher);
  if (bytes <= max) return { ok: true, value: matcher };
  return {
    ok: false,
    error: {
      code: 'SELECTOR_TOO_LONG',
      message: `{{${name}}} lists ${nodes} nodes in ${bytes} bytes, over the limit of ${max}`,
      hint: 'have agents expose a cohort label and select on it, or raise maxSelectorBytes',
    },
  };
}

function position(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

function suggestion(name: string): string {
  const lower = name.toLowerCase().replace(/-/g, '_');
  const close = QUERY_PLACEHOLDERS.find((p) => p === lower || p.startsWith(lower) || lower.startsWith(p.split('_')[0] ?? p)) ?? suggest(lower, QUERY_PLACEHOLDERS);
  return close ? `did you mean {{${close}}}?` : `use one of ${QUERY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`;
}

function isPlaceholder(name: string): name is QueryPlaceholder {
  return (QUERY_PLACEHOLDERS as readonly string[]).includes(name);
}
