/**
 * A series selector as PromQL writes one: `http_requests_total{code=~"5..",job!="probe"}`.
 * Matchers are `=`, `!=`, `=~` and `!~`; regular expressions are anchored at both ends, as in
 * PromQL. A label that is absent matches as the empty string, as in PromQL.
 */
export interface SeriesSelector {
  readonly name: string;
  readonly matchers: readonly SeriesMatcher[];
  /** The text it was read from, for messages. */
  readonly text: string;
}

export interface SeriesMatcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
  /** For =~ and !~: the anchored expression. */
  readonly re?: RegExp;
}

export type SeriesSelectorParse =
  | { readonly ok: true; readonly selector: SeriesSelector }
  /** `col` is 1-based within the text. */
  | { readonly ok: false; readonly message: string; readonly col: number };

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Reads a selector.
 *
 * Examples
 *   parseSeriesSelector('http_requests_total')                  // every series of the counter
 *   parseSeriesSelector('http_requests_total{code=~"5.."}')     // its 5xx series
 */
export function parseSeriesSelector(text: string): SeriesSelectorParse {
  const s = text.trim();
  const lead = text.length - text.trimStart().length;
  const brace = s.indexOf('{');
  const name = brace < 0 ? s : s.slice(0, brace).trimEnd();
  if (!METRIC_NAME.test(name)) {
    return { ok: false, message: `"${name}" is not a metric name`, col: lead + 1 };
  }
  if (brace < 0) return { ok: true, selector: { name, matchers: [], text: s } };
  const matchers: SeriesMatcher[] = [];
  let i = brace + 1;
  const fail = (message: string, at = i) => ({ ok: false as const, message, col: lead + at + 1 });
  const skip = () => { while (i < s.length && /\s/.test(s.charAt(i))) i++; };
  for (;;) {
    skip();
    if (s.charAt(i) === '}') { i++; break; }
    const labelAt = i;
    while (i < s.length && /[a-zA-Z0-9_]/.test(s.charAt(i))) i++;
    const label = s.slice(labelAt, i);
    if (!LABEL_NAME.test(label)) return fail(`expected a label name, found "${s.slice(labelAt, labelAt + 12) || 'the end'}"`, labelAt);
    skip();
    const opAt = i;
    const op = (['=~', '!~', '!=', '='] as const).find((o) => s.startsWith(o, i));
    if (!op) return fail(`expected =, !=, =~ or !~ after ${label}`, opAt);
    i += op.length;
    skip();
    const quote = s.charAt(i);
    if (quote !== '"' && quote !== "'") return fail(`the value of ${label} must be quoted, e.g. ${label}${op}"500"`);
    const valueAt = i;
    i++;
    let value = '';
    for (;;) {
      if (i >= s.length) return fail(`the value of ${label} has no closing ${quote}`, valueAt);
      const c = s.charAt(i);
      if (c === quote) { i++; break; }
      if (c === '\\') {
        const n = s.charAt(i + 1);
        value += n === 'n' ? '\n' : n === 't' ? '\t' : n;
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    let re: RegExp | undefined;
    if (op === '=~' || op === '!~') {
      try { re = new RegExp(`^(?:${value})$`); } catch (err) {
        return fail(`the regular expression of ${label} does not compile: ${err instanceof Error ? err.message : String(err)}`, valueAt);
      }
    }
    matchers.push({ label, op, value, ...(re ? { re } : {}) });
    skip();
    if (s.charAt(i) === ',') { i++; continue; }
    if (s.charAt(i) === '}') { i++; break; }
    return fail(`expected , or } after the value of ${label}`);
  }
  skip();
  if (i < s.length) return fail(`unexpected "${s.slice(i, i + 12)}" after the selector`);
  return { ok: true, selector: { name, matchers, text: s } };
}

/** True when every matcher holds for the labels (an absent label is the empty string). */
export function matchesLabels(matchers: readonly SeriesMatcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of matchers) {
    const v = labels[m.label] ?? '';
    const hit = m.op === '=' || m.op === '!=' ? v === m.value : (m.re?.test(v) ?? false);
    if ((m.op === '=' || m.op === '=~') !== hit) return false;
  }
  return true;
}
