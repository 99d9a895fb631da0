import { LATENCY_BUCKETS_MS, type ModuleCounters } from '../gates/types.ts';
import { DEFAULT_LATENCY, DEFAULT_REQUESTS, STATUS_LABELS, unitOfName, type LatencyMapping, type ScrapeModuleMapping } from './mapping.ts';
import { matchesLabels, type SeriesSelector } from './selector.ts';

/** One sample of a Prometheus text answer. */
export interface ScrapeSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed answer: its samples, and every metric name it declares (`# TYPE`, `# HELP`) or samples. */
export interface Exposition {
  readonly samples: readonly ScrapeSample[];
  readonly names: ReadonlySet<string>;
}

/** Why a scrape gave nothing to push. Each is a label value of failsmall_agent_scrape_errors_total. */
export type ScrapeReason = 'unreachable' | 'timeout' | 'http_status' | 'too_large' | 'not_prometheus' | 'missing_metric' | 'inconsistent';

export interface ScrapeProblem {
  readonly reason: ScrapeReason;
  readonly message: string;
}

interface HistogramSeries {
  /** Finite upper bounds in ms, ascending, and the cumulative count at each. */
  readonly bounds: readonly number[];
  readonly cumulative: readonly number[];
  /** The +Inf bucket: every observation. */
  readonly total: number;
}

/** The totals of the last good scrape, per series: what the next scrape's increase is measured from. */
export interface ScrapeBase {
  readonly counters: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly histograms: ReadonlyMap<string, HistogramSeries>;
}

export type ScrapeReading =
  /** `counters` is null on the first scrape, which only sets the base. */
  | { readonly ok: true; readonly counters: ModuleCounters | null; readonly base: ScrapeBase }
  | { readonly ok: false; readonly problem: ScrapeProblem };

/**
 * Turns one scrape of an application's counters into the increase since the previous scrape,
 * as Prometheus' increase() does: each series on its own, summed; a series lower than before
 * was reset (the application restarted), so its whole value is the increase; a series that
 * appears after the first scrape counts from zero. The first scrape only sets the base.
 * Latency buckets are re-bucketed onto LATENCY_BUCKETS_MS.
 *
 * Examples
 *   const first = readScrape(mapping, exposition1, undefined);     // { ok: true, counters: null, base }
 *   const next = readScrape(mapping, exposition2, first.base);     // { ok: true, counters: { requests: 120, errors: 3, … } }
 */
export function readScrape(mapping: ScrapeModuleMapping, exposition: Exposition, previous: ScrapeBase | undefined): ScrapeReading {
  const missing = (s: SeriesSelector, what: string): ScrapeReading | undefined => (exposition.names.has(s.name) ? undefined : { ok: false, problem: missingMetric(s.name, what, exposition) });
  const counterSelectors: [string, SeriesSelector][] = [['requests', mapping.requests], ...(mapping.errors === 'status-5xx' ? [] : [['errors', mapping.errors] as [string, SeriesSelector]]), ...Object.entries(mapping.counters).map(([k, s]) => [`counter:${k}`, s] as [string, SeriesSelector])];
  for (const [role, s] of counterSelectors) {
    const miss = missing(s, role.replace(/^counter:/, 'counter '));
    if (miss) return miss;
  }
  const latency = latencyOf(mapping.latency, exposition);
  if (latency && !latency.present) return { ok: false, problem: missingMetric(`${latency.selector.name}_bucket`, 'latency', exposition) };

  const counters = new Map<string, Map<string, number>>();
  for (const [role, s] of counterSelectors) counters.set(role, select(exposition.samples, s));
  if (mapping.errors === 'status-5xx') {
    const errors = new Map<string, number>();
    for (const sample of exposition.samples) {
      if (sample.name === mapping.requests.name && matchesLabels(mapping.requests.matchers, sample.labels) && isServerError(sample.labels)) errors.set(seriesKey(sample), sample.value);
    }
    counters.set('errors', errors);
  }
  for (const series of counters.values()) {
    for (const [k, v] of series) {
      if (!Number.isFinite(v) || v < 0) return { ok: false, problem: { reason: 'inconsistent', message: `${k} is ${v}: a counter is a finite number, zero or more` } };
    }
  }
  const histograms = new Map<string, HistogramSeries>();
  if (latency) {
    const grouped = readHistograms(exposition.samples, latency.selector, latency.unit);
    if (!grouped.ok) return grouped;
    for (const [k, h] of grouped.series) histograms.set(k, h);
  }
  const base: ScrapeBase = { counters, histograms };
  if (!previous) return { ok: true, counters: null, base };

  const increaseOf = (role: string) => Math.round(increase(counters.get(role), previous.counters.get(role)));
  const requests = increaseOf('requests');
  const errors = increaseOf('errors');
  if (errors > requests) {
    return { ok: false, problem: { reason: 'inconsistent', message: `errors rose by ${errors} but requests by ${requests}: the errors selector must pick a subset of the requests (${mapping.requests.text})` } };
  }
  const latencyBuckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const [k, h] of histograms) {
    const before = previous.histograms.get(k);
    rebucket(histogramIncrease(h, before)).forEach((n, i) => { latencyBuckets[i] = (latencyBuckets[i] ?? 0) + n; });
  }
  const custom: Record<string, number> = {};
  for (const name of Object.keys(mapping.counters)) custom[name] = increaseOf(`counter:${name}`);
  return { ok: true, base, counters: { requests, errors, loads_attempted: 0, loads_succeeded: 0, latency_buckets: latencyBuckets, counters: custom } };
}

/** `name{a="1",b="2"}` with labels sorted: one key per series. */
export function seriesKey(s: { name: string; labels: Readonly<Record<string, string>> }, without?: string): string {
  const labels = Object.keys(s.labels).filter((k) => k !== without).sort().map((k) => `${k}=${JSON.stringify(s.labels[k])}`);
  return `${s.name}{${labels.join(',')}}`;
}

function select(samples: readonly ScrapeSample[], s: SeriesSelector): Map<string, number> {
  const out = new Map<string, number>();
  for (const sample of samples) if (sample.name === s.name && matchesLabels(s.matchers, sample.labels)) out.set(seriesKey(sample), sample.value);
  return out;
}

function isServerError(labels: Readonly<Record<string, string>>): boolean {
  const label = STATUS_LABELS.find((l) => labels[l] !== undefined);
  return label !== undefined && /^5(\d\d|xx)$/i.test(labels[label] ?? '');
}

/** Σ over series of the increase since `before`: a drop is a reset (the new value is the increase); a new series counts from zero. */
export function increase(now: ReadonlyMap<string, number> | undefined, before: ReadonlyMap<string, number> | undefined): number {
  let sum = 0;
  for (const [k, v] of now ?? []) {
    const b = before?.get(k);
    sum += b === undefined || v < b ? v : v - b;
  }
  return sum;
}

function histogramIncrease(now: HistogramSeries, before: HistogramSeries | undefined): HistogramSeries {
  if (!before || before.bounds.length !== now.bounds.length || before.bounds.some((b, i) => b !== now.bounds[i])) return now;
  // Any bucket lower than before: the histogram was reset (or rebuilt); the new counts are the increase.
  if (now.total < before.total || now.cumulative.some((c, i) => c < (before.cumulative[i] ?? 0))) return now;
  return { bounds: now.bounds, cumulative: now.cumulative.map((c, i) => c - (before.cumulative[i] ?? 0)), total: now.total - before.total };
}

/**
 * Cumulative counts at the application's bounds → counts per LATENCY_BUCKETS_MS bucket (plus
 * +Inf), interpolating linearly inside each of the application's buckets, as
 * histogram_quantile assumes. Observations above the application's last finite bound cannot
 * be placed: they go to +Inf (a latency gate then reads them as slow, never as fast).
 * Counts are rounded on the cumulative curve, so the total is exact.
 *
 * Examples
 *   rebucket({ bounds: [100, 1000], cumulative: [10, 30], total: 30 })   // 10 at ≤100 ms, 20 spread over 100-1000 ms
 */
export function rebucket(h: HistogramSeries): number[] {
  const out = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  let previous = 0;
  LATENCY_BUCKETS_MS.forEach((bound, j) => {
    let c = 0;
    let lower = 0;
    let below = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      const upper = h.bounds[i] ?? 0;
      const at = h.cumulative[i] ?? 0;
      if (bound >= upper) { c = at; lower = upper; below = at; continue; }
      c = upper > lower ? below + (at - below) * ((bound - Math.max(lower, 0)) / (upper - Math.max(lower, 0))) : below;
      break;
    }
    const rounded = Math.min(h.total, Math.max(previous, Math.round(c)));
    out[j] = rounded - previous;
    previous = rounded;
  });
  out[LATENCY_BUCKETS_MS.length] = h.total - previous;
  return out;
}

function readHistograms(samples: readonly ScrapeSample[], s: SeriesSelector, unit: LatencyMapping['unit']): { ok: true; series: Map<string, HistogramSeries> } | { ok: false; problem: ScrapeProblem } {
  const name = `${s.name}_bucket`;
  const groups = new Map<string, { le: number; count: number }[]>();
  for (const sample of samples) {
    if (sample.name !== name || !matchesLabels(s.matchers, sample.labels)) continue;
    const leText = sample.labels.le;
    const le = leText === undefined ? NaN : /^\+?inf$/i.test(leText) ? Infinity : Number(leText);
    if (Number.isNaN(le)) return { ok: false, problem: { reason: 'inconsistent', message: `${seriesKey(sample)} has no numeric le label` } };
    const key = seriesKey(sample, 'le');
    let g = groups.get(key);
    if (!g) groups.set(key, g = []);
    g.push({ le, count: sample.value });
  }
  const series = new Map<string, HistogramSeries>();
  for (const [key, buckets] of groups) {
    buckets.sort((a, b) => a.le - b.le);
    const inf = buckets.at(-1);
    if (!inf || inf.le !== Infinity) return { ok: false, problem: { reason: 'inconsistent', message: `${key} has no le="+Inf" bucket` } };
    const odd = buckets.find((b) => !Number.isFinite(b.count) || b.count < 0);
    if (odd) return { ok: false, problem: { reason: 'inconsistent', message: `${key}'s le=${odd.le} bucket is ${odd.count}` } };
    for (let i = 1; i < buckets.length; i++) {
      if ((buckets[i]?.count ?? 0) < (buckets[i - 1]?.count ?? 0)) return { ok: false, problem: { reason: 'inconsistent', message: `${key}'s buckets are not cumulative (le=${buckets[i]?.le} holds fewer than le=${buckets[i - 1]?.le})` } };
    }
    const finite = buckets.slice(0, -1);
    const scale = unit === 'seconds' ? 1000 : 1;
    series.set(key, { bounds: finite.map((b) => b.le * scale), cumulative: finite.map((b) => b.count), total: inf.count });
  }
  return { ok: true, series };
}

function latencyOf(l: ScrapeModuleMapping['latency'], e: Exposition): { selector: SeriesSelector; unit: LatencyMapping['unit']; present: boolean } | undefined {
  if (l === 'none') return undefined;
  if (l !== 'auto') return { selector: l.selector, unit: l.unit, present: e.names.has(l.selector.name) || e.names.has(`${l.selector.name}_bucket`) };
  const name = DEFAULT_LATENCY.find((n) => e.names.has(n) || e.names.has(`${n}_bucket`));
  const unit = name === undefined ? undefined : unitOfName(name);
  return name === undefined || unit === undefined ? undefined : { selector: { name, matchers: [], text: name }, unit, present: true };
}

function missingMetric(name: string, what: string, e: Exposition): ScrapeProblem {
  const similar = [...e.names].filter((n) => n.endsWith(name.endsWith('_bucket') ? '_bucket' : '_total')).slice(0, 5);
  const hint = name === DEFAULT_REQUESTS ? '; name this module\'s metrics in a --scrape-map file' : '';
  return {
    reason: 'missing_metric',
    message: `no ${name} (${what}) in the answer, which has ${e.names.size} metric names${similar.length ? `, e.g. ${similar.join(', ')}` : ''}${hint}`,
  };
}
