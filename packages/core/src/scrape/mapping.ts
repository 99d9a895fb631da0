import { isMap, isScalar } from 'yaml';
import type { Node } from 'yaml';
import type { Result } from '../errors/index.ts';
import { parserErrorCodes } from '../yaml/codes.ts';
import { FieldReader } from '../yaml/fields.ts';
import { guardedParse } from '../yaml/guarded.ts';
import { sortErrors } from '../yaml/sort-errors.ts';
import { describe, valueNode, YamlSource } from '../yaml/source.ts';
import type { Entry } from '../yaml/source.ts';
import { parseSeriesSelector, type SeriesSelector } from './selector.ts';

/** How an application's latency histogram is read: its base name (`…_bucket{le}` series) and the unit of `le`. */
export interface LatencyMapping {
  readonly selector: SeriesSelector;
  readonly unit: 'seconds' | 'milliseconds';
}

/**
 * How one module's request metrics are read from its application's Prometheus endpoint.
 *
 * - `errors: 'status-5xx'` (the default) takes the requests series whose `code`, `status` or
 *   `status_code` label is 5xx.
 * - `latency: 'auto'` (the default) takes the first of the usual histogram names the
 *   application exposes, and none when it exposes none (latency gates then have no data).
 */
export interface ScrapeModuleMapping {
  readonly requests: SeriesSelector;
  readonly errors: SeriesSelector | 'status-5xx';
  readonly latency: LatencyMapping | 'auto' | 'none';
  /** Custom counters for `custom:NAME` gates: NAME → the counter selector whose increase it pushes. */
  readonly counters: Readonly<Record<string, SeriesSelector>>;
  readonly timeoutMs: number;
}

export interface ScrapeMapping {
  readonly modules: Readonly<Record<string, ScrapeModuleMapping>>;
}

/** Where a module without a mapping looks: the names most HTTP instrumentation libraries use. */
export const DEFAULT_REQUESTS = 'http_requests_total';
export const STATUS_LABELS = ['code', 'status', 'status_code'] as const;
/** Histograms `latency: auto` looks for, in this order (Prometheus client libraries, OpenTelemetry, Micrometer). */
export const DEFAULT_LATENCY: readonly string[] = [
  'http_request_duration_seconds', 'http_server_request_duration_seconds', 'http_server_requests_seconds',
  'http_request_duration_milliseconds', 'http_request_duration_ms',
];
export const DEFAULT_SCRAPE_TIMEOUT_MS = 2000;

/** The mapping of a module that has no entry in a mapping file (or when there is no file). */
export function defaultModuleMapping(): ScrapeModuleMapping {
  const requests = parseSeriesSelector(DEFAULT_REQUESTS);
  if (!requests.ok) throw new Error('the default requests selector does not parse');
  return { requests: requests.selector, errors: 'status-5xx', latency: 'auto', counters: {}, timeoutMs: DEFAULT_SCRAPE_TIMEOUT_MS };
}

/** The unit a histogram's name says (`…_seconds`, `…_milliseconds`, `…_ms`), if it says one. */
export function unitOfName(name: string): LatencyMapping['unit'] | undefined {
  if (/_seconds$/.test(name)) return 'seconds';
  if (/_(milliseconds|ms)$/.test(name)) return 'milliseconds';
  return undefined;
}

/** Every error code `parseScrapeMapping` can return. */
export const SCRAPE_MAPPING_ERROR_CODES = parserErrorCodes('BAD_NAME', 'BAD_SELECTOR', 'BAD_VALUE', 'BAD_DURATION');

const MODULE_KEYS = ['requests', 'errors', 'latency', 'latency_unit', 'counters', 'timeout'] as const;
const EXAMPLE = 'modules:\n  proxy:\n    requests: http_requests_total\n    errors: http_requests_total{code=~"5.."}\n    latency: http_request_duration_seconds';
const SELECTOR_HINT = 'a PromQL series selector: a metric name with optional label matchers, e.g. http_requests_total{code=~"5..",job!="probe"}';
const MODULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const COUNTER_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Parses a scrape mapping file: for each module, which of its application's counters are the
 * requests and the errors, which histogram is the latency, and extra counters. Never throws;
 * every error carries its line and column.
 *
 * Examples
 *   modules:
 *     proxy:
 *       requests: http_requests_total{handler!="/healthz"}
 *       errors: http_requests_total{handler!="/healthz",code=~"5.."}
 *       latency: http_request_duration_seconds
 *       timeout: 2s
 */
export function parseScrapeMapping(text: string, opts: { file?: string } = {}): Result<ScrapeMapping> {
  return guardedParse(text, { ...opts, what: 'scrape mapping parser', sizeHint: 'a mapping file names a few metrics per module' }, () => {
    const loaded = YamlSource.load(text, opts.file);
    if (!loaded.ok) return { ok: false, errors: sortErrors(loaded.errors), warnings: [] };
    const src = loaded.source;
    const modules = readMapping(src, loaded.root);
    const errors = sortErrors(src.errors);
    return errors.length > 0 ? { ok: false, errors, warnings: [] } : { ok: true, value: { modules }, warnings: [] };
  });
}

function readMapping(src: YamlSource, doc: Node | null): Record<string, ScrapeModuleMapping> {
  const root = src.deref(doc);
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) {
    // An empty file (or one with only comments) has no node to point at: line 1.
    if (src.errors.length === 0) src.errorAt('EMPTY_DOCUMENT', 'the scrape mapping is empty', src.position(root) ?? { line: 1, col: 1 }, '', `e.g.\n${EXAMPLE}`);
    return {};
  }
  if (!isMap(root)) {
    src.error('WRONG_TYPE', `a scrape mapping must be a mapping with modules:, got ${describe(root)}`, root, '', `e.g.\n${EXAMPLE}`);
    return {};
  }
  const top = src.entries(root, '');
  src.checkKeys(top, ['modules'], 'the scrape mapping');
  const list = top.find((e) => e.key === 'modules');
  if (!list || !isMap(list.value)) {
    src.error(list ? 'WRONG_TYPE' : 'MISSING_KEY', list ? `modules must be a mapping of module names, got ${describe(list.value)}` : 'the scrape mapping has no modules:', list?.value ?? root, 'modules', `e.g.\n${EXAMPLE}`);
    return {};
  }
  const out: Record<string, ScrapeModuleMapping> = {};
  for (const m of src.entries(list.value, 'modules')) {
    if (!MODULE_NAME.test(m.key)) src.error('BAD_NAME', `"${m.key}" is not a module name`, m.keyNode, m.path, 'module names use letters, digits, ".", "_" and "-", as in --modules');
    if (!isMap(m.value)) {
      src.error('WRONG_TYPE', `module ${m.key} must be a mapping, got ${describe(m.value)}`, valueNode(m), m.path, `e.g.\n${EXAMPLE}`);
      continue;
    }
    const entries = src.entries(m.value, m.path);
    src.checkKeys(entries, MODULE_KEYS, `module ${m.key}`);
    const module = readModule(src, m.key, entries);
    if (module) out[m.key] = module;
  }
  return out;
}

function readModule(src: YamlSource, name: string, entries: readonly Entry[]): ScrapeModuleMapping | undefined {
  const base = defaultModuleMapping();
  const f = new FieldReader(src);
  const get = (key: string): Entry | undefined => f.get(entries, key);
  const scalar = (e: Entry, hint: string): string | undefined => f.scalarText(e, { hint, nonEmpty: true, trim: true });
  let ok = true;
  const selector = (e: Entry | undefined): SeriesSelector | undefined => {
    if (!e) return undefined;
    const text = scalar(e, SELECTOR_HINT);
    if (text === undefined) { ok = false; return undefined; }
    const parsed = parseSeriesSelector(text);
    if (parsed.ok) return parsed.selector;
    const at = src.position(e.value);
    // Point at the character that is wrong, inside the scalar (after its opening quote, if quoted).
    const quoted = isScalar(e.value) && (e.value.type === 'QUOTE_DOUBLE' || e.value.type === 'QUOTE_SINGLE') ? 1 : 0;
    src.errorAt('BAD_SELECTOR', `${e.path}: ${parsed.message}`, at ? { line: at.line, col: at.col + quoted + parsed.col - 1 } : undefined, e.path, SELECTOR_HINT);
    ok = false;
    return undefined;
  };
  const requests = selector(get('requests')) ?? base.requests;
  const errors = selector(get('errors')) ?? base.errors;
  let latency: ScrapeModuleMapping['latency'] = base.latency;
  const latencyEntry = get('latency');
  const latencyText = latencyEntry && scalar(latencyEntry, `a histogram's base name (its _bucket series carry le), or auto, or none; ${SELECTOR_HINT}`);
  const unitEntry = get('latency_unit');
  let unit: LatencyMapping['unit'] | undefined;
  if (unitEntry) {
    const u = scalar(unitEntry, 'seconds or milliseconds');
    if (u === 'seconds' || u === 's') unit = 'seconds';
    else if (u === 'milliseconds' || u === 'ms') unit = 'milliseconds';
    else if (u !== undefined) { src.error('BAD_VALUE', `latency_unit must be seconds or milliseconds, got "${u}"`, unitEntry.value, unitEntry.path, 'the unit of the histogram\'s le label'); ok = false; }
  }
  if (latencyText === 'auto' || latencyText === 'none') {
    latency = latencyText;
  } else if (latencyEntry && latencyText !== undefined) {
    const s = selector(latencyEntry);
    if (s) {
      const histogram = s.name.replace(/_bucket$/, '');
      unit ??= unitOfName(histogram);
      if (!unit) {
        src.error('MISSING_KEY', `module ${name}: the unit of ${histogram}'s buckets is not in its name; add latency_unit: seconds or latency_unit: milliseconds`, latencyEntry.value, latencyEntry.path, 'Prometheus histograms are in seconds by convention (…_seconds)');
        ok = false;
      } else {
        latency = { selector: { ...s, name: histogram }, unit };
      }
    }
  } else if (latencyEntry) {
    ok = false;
  }
  const counters: Record<string, SeriesSelector> = {};
  const countersEntry = get('counters');
  if (countersEntry) {
    const map = f.map(countersEntry, 'e.g. counters: { upstream_timeouts: proxy_upstream_timeouts_total }');
    if (!map) {
      ok = false;
    } else {
      for (const c of src.entries(map, countersEntry.path)) {
        if (!COUNTER_NAME.test(c.key)) { src.error('BAD_NAME', `"${c.key}" is not a counter name`, c.keyNode, c.path, 'letters, digits and _, as a custom:NAME gate names it'); ok = false; continue; }
        const s = selector(c);
        if (s) counters[c.key] = s;
      }
    }
  }
  let timeoutMs = base.timeoutMs;
  const timeoutEntry = get('timeout');
  if (timeoutEntry) {
    const t = f.duration(timeoutEntry);
    if (t !== undefined && t <= 60_000) timeoutMs = t;
    else {
      if (t !== undefined) src.error('BAD_DURATION', `timeout: ${t} ms is over 60s`, timeoutEntry.value, timeoutEntry.path, 'a duration such as 2s or 500ms, at most 60s');
      ok = false;
    }
  }
  return ok ? { requests, errors, latency, counters, timeoutMs } : undefined;
}
