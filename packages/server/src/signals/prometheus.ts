/**
 * Prometheus as a signal source: PromQL over the HTTP API (`/api/v1/query`,
 * `/api/v1/query_range`, `/api/v1/format_query`).
 *
 * Every call resolves to a value with a code; nothing Prometheus (or the network) does makes it
 * throw. A gate maps anything but `ok: true` to `inconclusive`: missing data never promotes.
 */
import { checkQueryTemplate, renderQueryTemplate, type QueryPlaceholder, type QueryVars, type RenderError, type TemplateError } from '@failsmall/core';
import { z } from 'zod';
import { nodeHttpRequest, type HttpRequest, type HttpResponse } from './http.ts';

/** How to reach one installation's Prometheus. */
export interface PrometheusConfig {
  /** Base URL, e.g. `http://prometheus:9090` or `https://example.org/prometheus` (a path prefix is kept). */
  readonly url: string;
  /** Sent as `Authorization: Bearer …`. */
  readonly bearerToken?: string;
  /** Extra headers, e.g. `X-Scope-OrgID` for a multi-tenant Prometheus-compatible backend. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Whole request budget. Prometheus is told slightly less (`timeout=`), so that it gives up first. */
  readonly timeoutMs: number;
  /** Default evaluation time when a call gives none (ms since the epoch); default Date.now. */
  readonly now?: () => number;
  /** The HTTP transport; default node:http. Tests and the simulator may hand a fake. */
  readonly request?: HttpRequest;
}

export type Labels = Readonly<Record<string, string>>;

/** Codes for every way a query can fail to give one usable number. */
export type PrometheusProblemCode =
  | 'NO_DATA' | 'NAN_OR_INF' | 'MULTIPLE_SERIES'
  | 'TIMEOUT' | 'HTTP_ERROR' | 'BAD_QUERY' | 'UNREACHABLE' | 'BAD_RESPONSE';

/** Problems with talking to Prometheus, as opposed to problems with what it answered. */
export type TransportProblemCode = 'TIMEOUT' | 'HTTP_ERROR' | 'UNREACHABLE' | 'BAD_RESPONSE';

interface Outcome {
  /** The PromQL sent (rendered, placeholders filled). */
  readonly query: string;
  /** The evaluation time (ms since the epoch); for a range query, its end. */
  readonly evalTimeMs: number;
  /** One sentence a human can read. */
  readonly message: string;
}

/** One finite number: what a gate can judge. */
export interface PrometheusValue extends Outcome {
  readonly ok: true;
  readonly code: 'OK';
  readonly value: number;
  /** The series' labels (`{}` for an aggregate or a scalar). */
  readonly labels: Labels;
  readonly warnings: readonly string[];
}

/** A series as Prometheus gave it: the value in its own text form (`"0.25"`, `"NaN"`, `"+Inf"`). */
export interface SeriesSample {
  readonly labels: Labels;
  readonly value: string;
}

export type PrometheusProblem =
  | (Outcome & { readonly ok: false; readonly code: 'NO_DATA' })
  | (Outcome & { readonly ok: false; readonly code: 'NAN_OR_INF'; readonly value: 'NaN' | '+Inf' | '-Inf'; readonly labels: Labels })
  /** `series` lists at most 20; `seriesCount` says how many there were. */
  | (Outcome & { readonly ok: false; readonly code: 'MULTIPLE_SERIES'; readonly seriesCount: number; readonly series: readonly SeriesSample[] })
  /** `by: 'prometheus'` when Prometheus's own query timeout fired (HTTP 503, errorType timeout). */
  | (Outcome & { readonly ok: false; readonly code: 'TIMEOUT'; readonly timeoutMs: number; readonly by: 'client' | 'prometheus' })
  | (Outcome & { readonly ok: false; readonly code: 'HTTP_ERROR'; readonly status: number; readonly errorType?: string; readonly error?: string })
  /** A query Prometheus cannot run (400 bad_data), or one whose result is not a number (a range vector, a string). */
  | (Outcome & { readonly ok: false; readonly code: 'BAD_QUERY'; readonly status?: number; readonly errorType: string; readonly error: string })
  /** `cause` is the socket error code, e.g. ECONNREFUSED. */
  | (Outcome & { readonly ok: false; readonly code: 'UNREACHABLE'; readonly cause: string })
  | (Outcome & { readonly ok: false; readonly code: 'BAD_RESPONSE'; readonly status: number; readonly detail: string });

export type PrometheusResult = PrometheusValue | PrometheusProblem;

/** What a request can fail with before its result is read. */
type RequestProblem = Extract<PrometheusProblem, { code: TransportProblemCode | 'BAD_QUERY' }>;

/** A range query's one series: finite points, in time order. */
export interface PrometheusRange extends Outcome {
  readonly ok: true;
  readonly code: 'OK';
  readonly labels: Labels;
  readonly points: ReadonlyArray<{ readonly atMs: number; readonly value: number }>;
  /** Points dropped for being NaN or ±Inf (e.g. 0/0 in an interval without traffic). */
  readonly skippedNonFinite: number;
  readonly warnings: readonly string[];
}

export type PrometheusRangeResult = PrometheusRange | PrometheusProblem;

/** A template that could not be rendered (see @failsmall/core's promql/template.ts for its codes). */
export interface TemplateProblem {
  readonly ok: false;
  readonly code: 'BAD_TEMPLATE';
  readonly message: string;
  readonly error: RenderError;
}

export type QueryValidation =
  | { readonly ok: true; readonly checked: true; readonly formatted: string; readonly placeholders: readonly QueryPlaceholder[] }
  | { readonly ok: false; readonly checked: true; readonly code: 'BAD_TEMPLATE'; readonly message: string; readonly errors: readonly TemplateError[] }
  | { readonly ok: false; readonly checked: true; readonly code: 'BAD_QUERY'; readonly message: string; readonly error: string }
  /** Prometheus could not be asked: the query is neither known good nor known bad. */
  | { readonly ok: false; readonly checked: false; readonly code: TransportProblemCode; readonly message: string };

const MAX_LISTED_SERIES = 20;
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT', 'EADDRNOTAVAIL']);

/**
 * A PromQL client for one Prometheus.
 *
 * Examples
 *   const prom = new PrometheusClient({ url: 'http://127.0.0.1:9090', timeoutMs: 5000 });
 *   const r = await prom.query('sum(rate(failsmall_agent_errors_total[1m]))');
 *   if (r.ok) use(r.value); else inconclusive(r.code, r.message);
 */
export class PrometheusClient {
  readonly #config: PrometheusConfig;

  constructor(config: PrometheusConfig) {
    this.#config = config;
  }

  get url(): string {
    return this.#config.url;
  }

  /** An instant query that must give exactly one finite number. */
  async query(query: string, o: { atMs?: number } = {}): Promise<PrometheusResult> {
    const evalTimeMs = o.atMs ?? (this.#config.now ?? Date.now)();
    const base = { query, evalTimeMs };
    const res = await this.#post('api/v1/query', { query, time: seconds(evalTimeMs), timeout: this.#promTimeout() }, base);
    if ('code' in res) return res;
    const success = parseSuccess(QueryData, res, base);
    if ('code' in success) return success;
    const { data, warnings } = success;
    switch (data.resultType) {
      case 'scalar':
        return oneValue(base, {}, data.result[1], warnings);
      case 'vector': {
        const [first, ...rest] = data.result;
        if (!first) return { ok: false, code: 'NO_DATA', ...base, message: `no data: Prometheus returned no series for ${short(query)} at ${iso(evalTimeMs)} (are the nodes scraped, and does the selector match them?)` };
        if (rest.length > 0) return multiple(base, data.result.map((s) => ({ labels: s.metric, value: s.value?.[1] ?? '(histogram)' })));
        if (!first.value) return notANumber(base, 'a native histogram');
        return oneValue(base, first.metric, first.value[1], warnings);
      }
      case 'matrix':
        return notANumber(base, 'a range vector');
      case 'string':
        return notANumber(base, 'a string');
    }
  }

  /** A range query that must give exactly one series; NaN/±Inf points are dropped and counted. */
  async queryRange(query: string, o: { startMs: number; endMs: number; stepMs: number }): Promise<PrometheusRangeResult> {
    const base = { query, evalTimeMs: o.endMs };
    const res = await this.#post('api/v1/query_range', { query, start: seconds(o.startMs), end: seconds(o.endMs), step: `${o.stepMs / 1000}`, timeout: this.#promTimeout() }, base);
    if ('code' in res) return res;
    const success = parseSuccess(RangeData, res, base);
    if ('code' in success) return success;
    const { data, warnings } = success;
    if (data.resultType !== 'matrix') return notANumber(base, `a ${data.resultType}`);
    const [first, ...rest] = data.result;
    if (!first) return { ok: false, code: 'NO_DATA', ...base, message: `no data: Prometheus returned no series for ${short(query)} between ${iso(o.startMs)} and ${iso(o.endMs)}` };
    if (rest.length > 0) return multiple(base, data.result.map((s) => ({ labels: s.metric, value: s.values?.at(-1)?.[1] ?? '(histogram)' })));
    const points: Array<{ atMs: number; value: number }> = [];
    let skipped = 0;
    let lastBad: 'NaN' | '+Inf' | '-Inf' = 'NaN';
    for (const [t, v] of first.values ?? []) {
      const n = sampleValue(v);
      if (n.kind === 'finite') points.push({ atMs: Math.round(t * 1000), value: n.value });
      else if (n.kind === 'special') { skipped++; lastBad = n.text; }
      else return badResponse(base, res.status, `sample value ${JSON.stringify(v)} is not a number`);
    }
    if (points.length === 0 && skipped > 0) {
      return { ok: false, code: 'NAN_OR_INF', ...base, value: lastBad, labels: first.metric, message: `every point of ${short(query)} is NaN or infinite (${skipped} points; a 0/0 where there was no traffic?)` };
    }
    return { ok: true, code: 'OK', ...base, labels: first.metric, points, skippedNonFinite: skipped, warnings, message: `${points.length} points of ${short(query)}${skipped ? `, ${skipped} NaN/Inf points skipped` : ''}` };
  }

  /** Renders a gate's template for a stage and runs it; a template that does not render is BAD_TEMPLATE. */
  async queryTemplate(template: string, vars: QueryVars, o: { atMs?: number } = {}): Promise<PrometheusResult | TemplateProblem> {
    const rendered = renderQueryTemplate(template, vars);
    if (!rendered.ok) return { ok: false, code: 'BAD_TEMPLATE', message: rendered.error.message, error: rendered.error };
    return this.query(rendered.query, o);
  }

  /**
   * Asks Prometheus whether a query template parses, with its placeholders filled by dummy
   * values (`/api/v1/format_query`, Prometheus ≥ 2.38; an instant query at time 0 elsewhere).
   */
  async validate(template: string): Promise<QueryValidation> {
    const check = checkQueryTemplate(template);
    const first = check.errors[0];
    if (first) return { ok: false, checked: true, code: 'BAD_TEMPLATE', message: first.message, errors: check.errors };
    const rendered = renderQueryTemplate(template, { cohort: ['failsmall-validate'], windowMs: 60_000, intervalMs: 60_000 });
    if (!rendered.ok) return { ok: false, checked: true, code: 'BAD_TEMPLATE', message: rendered.error.message, errors: rendered.error.errors ?? [] };
    const base = { query: rendered.query, evalTimeMs: 0 };
    let res = await this.#post('api/v1/format_query', { query: rendered.query }, base);
    // Older Prometheus and some compatible backends have no format_query: evaluate at the epoch, where there is no data.
    if (!('code' in res) && res.status === 404) res = await this.#post('api/v1/query', { query: rendered.query, time: '0', timeout: this.#promTimeout() }, base);
    if ('code' in res) {
      if (res.code === 'BAD_QUERY') return { ok: false, checked: true, code: 'BAD_QUERY', message: res.message, error: res.error };
      return { ok: false, checked: false, code: res.code, message: `could not validate the query: ${res.message}` };
    }
    if (res.status === 404) return { ok: false, checked: false, code: 'HTTP_ERROR', message: `could not validate the query: no Prometheus API at ${this.#config.url} (HTTP 404)` };
    const body = parseJson(res.body);
    const formatted = FormatData.safeParse(body);
    if (formatted.success) return { ok: true, checked: true, formatted: formatted.data.data, placeholders: check.placeholders };
    // The query fallback answers with a result rather than the formatted text; parsing succeeded all the same.
    if (Success.safeParse(body).success) return { ok: true, checked: true, formatted: rendered.query, placeholders: check.placeholders };
    return { ok: false, checked: false, code: 'BAD_RESPONSE', message: `could not validate the query: ${this.#config.url} answered ${res.status} with a body that is not the Prometheus API's` };
  }

  /** POSTs a form (no URL length limit for long selectors); error statuses become problems. */
  async #post(path: string, form: Record<string, string>, base: { query: string; evalTimeMs: number }): Promise<HttpResponse | RequestProblem> {
    const url = endpoint(this.#config.url, path);
    const headers: Record<string, string> = {
      ...(this.#config.headers ?? {}),
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      ...(this.#config.bearerToken ? { authorization: `Bearer ${this.#config.bearerToken}` } : {}),
    };
    let res: HttpResponse;
    try {
      res = await (this.#config.request ?? nodeHttpRequest)(url, { method: 'POST', headers, body: new URLSearchParams(form).toString(), timeoutMs: this.#config.timeoutMs, maxBytes: MAX_RESPONSE_BYTES });
    } catch (err) {
      return transportProblem(err, base, this.#config);
    }
    if (res.status === 200 || res.status === 404) return res;
    const parsed = ErrorBody.safeParse(parseJson(res.body));
    const where = `Prometheus at ${this.#config.url}`;
    if (parsed.success) {
      const { errorType, error } = parsed.data;
      if (errorType === 'bad_data') return { ok: false, code: 'BAD_QUERY', ...base, status: res.status, errorType, error, message: `${where} refused the query ${short(base.query)}: ${error}` };
      if (errorType === 'timeout') return { ok: false, code: 'TIMEOUT', ...base, timeoutMs: this.#config.timeoutMs, by: 'prometheus', message: `${where} gave up evaluating ${short(base.query)}: ${error}` };
      return { ok: false, code: 'HTTP_ERROR', ...base, status: res.status, errorType, error, message: `${where} answered HTTP ${res.status} (${errorType}): ${error}` };
    }
    const text = res.body.toString('utf8', 0, Math.min(res.body.length, 200)).trim();
    return { ok: false, code: 'HTTP_ERROR', ...base, status: res.status, message: `${where} answered HTTP ${res.status}${text ? `: ${text}` : ''}` };
  }

  /** Prometheus's own deadline, a little inside ours, so that its answer (not our cut-off) explains a slow query. */
  #promTimeout(): string {
    return `${Math.max(1, Math.floor(this.#config.timeoutMs * 0.9))}ms`;
  }
}

/**
 * Asks a Prometheus whether a query template is valid PromQL, for `policy validate` and
 * `apply`. Template errors are found without asking; `checked: false` means Prometheus could
 * not be reached, so the query is neither accepted nor refused.
 *
 * Examples
 *   await validateQuery('http://127.0.0.1:9090', 'sum(rate(x{ {{cohort_selector}} }[{{window}}])')
 *   // → { ok: false, checked: true, code: 'BAD_QUERY', message: '… unclosed left parenthesis' }
 */
export function validateQuery(prometheus: string | PrometheusConfig, template: string): Promise<QueryValidation> {
  const config = typeof prometheus === 'string' ? { url: prometheus, timeoutMs: 5000 } : prometheus;
  return new PrometheusClient(config).validate(template);
}

// ── response schemas (parse at the edge, trust the types inside) ───────────────────────────
const Sample = z.tuple([z.number(), z.string()]);
const Metric = z.record(z.string(), z.string());
const VectorData = z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: Metric, value: Sample.optional(), histogram: z.unknown().optional() })) });
const MatrixData = z.object({ resultType: z.literal('matrix'), result: z.array(z.object({ metric: Metric, values: z.array(Sample).optional(), histograms: z.unknown().optional() })) });
const ScalarData = z.object({ resultType: z.literal('scalar'), result: Sample });
const StringData = z.object({ resultType: z.literal('string'), result: Sample });
const QueryData = z.discriminatedUnion('resultType', [VectorData, MatrixData, ScalarData, StringData]);
const RangeData = QueryData;
const Success = z.object({ status: z.literal('success'), data: z.unknown(), warnings: z.array(z.string()).optional() });
const FormatData = z.object({ status: z.literal('success'), data: z.string() });
const ErrorBody = z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() });

function parseSuccess<T extends z.ZodType>(schema: T, res: HttpResponse, base: { query: string; evalTimeMs: number }): { data: z.infer<T>; warnings: string[] } | PrometheusProblem {
  if (res.status === 404) return { ok: false, code: 'HTTP_ERROR', ...base, status: 404, message: `no Prometheus API at this URL (HTTP 404); is the URL the server's root (e.g. http://host:9090)?` };
  const body = parseJson(res.body);
  const envelope = Success.safeParse(body);
  if (!envelope.success) return badResponse(base, res.status, body === undefined ? 'the body is not JSON' : 'the body is not a Prometheus API success');
  const data = schema.safeParse(envelope.data.data);
  if (!data.success) return badResponse(base, res.status, `unexpected result shape: ${data.error.issues[0]?.message ?? 'invalid'}`);
  return { data: data.data, warnings: envelope.data.warnings ?? [] };
}

function oneValue(base: { query: string; evalTimeMs: number }, labels: Labels, text: string, warnings: string[]): PrometheusResult {
  const n = sampleValue(text);
  if (n.kind === 'special') {
    return { ok: false, code: 'NAN_OR_INF', ...base, value: n.text, labels, message: `${short(base.query)} is ${n.text} at ${iso(base.evalTimeMs)}${n.text === 'NaN' ? ' (a 0/0: no traffic in the window?)' : ' (a division by zero?)'}` };
  }
  if (n.kind === 'invalid') return badResponse(base, 200, `sample value ${JSON.stringify(text)} is not a number`);
  return { ok: true, code: 'OK', ...base, value: n.value, labels, warnings, message: `${short(base.query)} = ${n.value} at ${iso(base.evalTimeMs)}` };
}

function multiple(base: { query: string; evalTimeMs: number }, all: SeriesSample[]): PrometheusProblem {
  const listed = all.slice(0, MAX_LISTED_SERIES);
  const names = listed.slice(0, 3).map((s) => labelText(s.labels)).join(', ');
  return {
    ok: false, code: 'MULTIPLE_SERIES', ...base, seriesCount: all.length, series: listed,
    message: `${short(base.query)} returned ${all.length} series where one was expected (${names}${all.length > 3 ? ', …' : ''}); aggregate it, e.g. sum(…)`,
  };
}

function notANumber(base: { query: string; evalTimeMs: number }, what: string): PrometheusProblem {
  return { ok: false, code: 'BAD_QUERY', ...base, errorType: 'result_type', error: `the query returns ${what}`, message: `${short(base.query)} returns ${what}, not a number a gate can judge; aggregate it, e.g. sum(rate(…[{{window}}]))` };
}

function badResponse(base: { query: string; evalTimeMs: number }, status: number, detail: string): PrometheusProblem {
  return { ok: false, code: 'BAD_RESPONSE', ...base, status, detail, message: `the answer to ${short(base.query)} could not be read: ${detail}` };
}

function transportProblem(err: unknown, base: { query: string; evalTimeMs: number }, config: PrometheusConfig): RequestProblem {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = errorCode(e);
  if (e.name === 'TimeoutError') {
    return { ok: false, code: 'TIMEOUT', ...base, timeoutMs: config.timeoutMs, by: 'client', message: `Prometheus at ${config.url} did not answer within ${config.timeoutMs} ms` };
  }
  if (e.name === 'TooLargeError') return { ok: false, code: 'BAD_RESPONSE', ...base, status: 200, detail: e.message, message: `the answer to ${short(base.query)} could not be read: ${e.message}` };
  return { ok: false, code: 'UNREACHABLE', ...base, cause: code ?? e.message, message: `Prometheus at ${config.url} is unreachable (${code && UNREACHABLE_CODES.has(code) ? code : e.message})` };
}

type Parsed = { kind: 'finite'; value: number } | { kind: 'special'; text: 'NaN' | '+Inf' | '-Inf' } | { kind: 'invalid' };

/** Prometheus writes floats as Go does: `NaN`, `+Inf`, `-Inf` (which Number() does not read). */
function sampleValue(text: string): Parsed {
  if (text === 'NaN' || text === '+Inf' || text === '-Inf') return { kind: 'special', text };
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) return { kind: 'invalid' };
  return { kind: 'finite', value: n };
}

function endpoint(base: string, path: string): string {
  return new URL(path, base.endsWith('/') ? base : `${base}/`).toString();
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

function short(query: string): string {
  const q = query.replace(/\s+/g, ' ').trim();
  return q.length > 160 ? `\`${q.slice(0, 150)}…\` (${q.length} chars)` : `\`${q}\``;
}

function labelText(labels: Labels): string {
  return `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function errorCode(e: Error): string | undefined {
  const code: unknown = Object.getOwnPropertyDescriptor(e, 'code')?.value;
  return typeof code === 'string' ? code : undefined;
}
