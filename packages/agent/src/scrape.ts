import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { LABEL_NAME, METRIC_NAME, readScrape, type Exposition, type ModuleCounters, type ScrapeBase, type ScrapeModuleMapping, type ScrapeProblem, type ScrapeSample } from '@failsmall/core';
import { httpRequest } from '@failsmall/io';

/** One application endpoint the agent reads a module's request metrics from. */
export interface ScrapeTarget {
  readonly module: string;
  /** Its Prometheus text endpoint, e.g. http://127.0.0.1:8080/metrics */
  readonly url: string;
  readonly mapping: ScrapeModuleMapping;
}

/** A scrape problem as the agent reports it to the control plane: how long it has lasted, not since when (clocks drift). */
export interface ReportedScrapeProblem extends ScrapeProblem {
  readonly source: 'scrape';
  readonly for_ms: number;
}

export interface ScraperOptions {
  readonly log: { info(m: string): void; warn(m: string): void };
  /** Called after every scrape of a module: null when it worked. */
  readonly onScrape?: (module: string, problem: ScrapeProblem | null) => void;
  readonly now?: () => number;
  /** Largest answer read (default 10 MiB). */
  readonly maxBytes?: number;
}

interface TargetState {
  base: ScrapeBase | undefined;
  problem: { key: string; problem: ScrapeProblem; since: number } | undefined;
  worked: boolean;
}

/**
 * Reads request metrics from applications that know nothing of failsmall: it scrapes each
 * module's Prometheus endpoint on the agent's push cadence and hands over the increase since
 * the last scrape. A scrape that fails gives nothing for that interval (gates on the module are
 * then short of data, never healthy) and is logged once per change of reason, not per scrape.
 */
export class Scraper {
  readonly #targets: readonly ScrapeTarget[];
  readonly #o: ScraperOptions;
  readonly #state = new Map<string, TargetState>();

  constructor(targets: readonly ScrapeTarget[], o: ScraperOptions) {
    this.#targets = targets;
    this.#o = o;
    for (const t of targets) this.#state.set(t.module, { base: undefined, problem: undefined, worked: false });
  }

  get modules(): string[] {
    return this.#targets.map((t) => t.module);
  }

  /** Scrapes every target at once; returns the increase per module that scraped well (none on a module's first scrape). */
  async scrape(): Promise<Map<string, ModuleCounters>> {
    const out = new Map<string, ModuleCounters>();
    await Promise.all(this.#targets.map(async (t) => {
      const c = await this.#scrapeOne(t);
      if (c) out.set(t.module, c);
    }));
    return out;
  }

  /** The modules whose last scrape failed, with why and for how long. */
  problems(): Record<string, ReportedScrapeProblem> {
    const now = (this.#o.now ?? Date.now)();
    const out: Record<string, ReportedScrapeProblem> = {};
    for (const [module, s] of this.#state) if (s.problem) out[module] = { source: 'scrape', ...s.problem.problem, for_ms: Math.max(0, now - s.problem.since) };
    return out;
  }

  failing(module: string): boolean {
    return this.#state.get(module)?.problem !== undefined;
  }

  async #scrapeOne(t: ScrapeTarget): Promise<ModuleCounters | undefined> {
    const state = this.#state.get(t.module);
    if (!state) return undefined;
    const fetched = await fetchExposition(t.url, t.mapping.timeoutMs, this.#o.maxBytes ?? 10 * 1024 * 1024);
    const reading = fetched.ok ? readScrape(t.mapping, fetched.exposition, state.base) : { ok: false as const, problem: fetched.problem };
    this.#o.onScrape?.(t.module, reading.ok ? null : reading.problem);
    if (!reading.ok) {
      // The base stays: the next good scrape measures from the last good one, so nothing is lost or counted twice.
      const key = `${reading.problem.reason}\u0000${reading.problem.message}`;
      if (state.problem?.key !== key) {
        this.#o.log.warn(`scrape of ${t.module} (${t.url}) failed [${reading.problem.reason}]: ${reading.problem.message}; no request metrics for ${t.module} until it works, so its gates lack data`);
        state.problem = { key, problem: reading.problem, since: state.problem?.since ?? (this.#o.now ?? Date.now)() };
      }
      return undefined;
    }
    if (state.problem) this.#o.log.info(`scrape of ${t.module} (${t.url}) works again after [${state.problem.problem.reason}]`);
    else if (!state.worked) this.#o.log.info(`scraping ${t.module} from ${t.url}`);
    state.problem = undefined;
    state.worked = true;
    state.base = reading.base;
    return reading.counters ?? undefined;
  }
}

/** GETs a Prometheus text endpoint and parses it; every failure is a problem with a reason, never an exception. */
export async function fetchExposition(url: string, timeoutMs: number, maxBytes: number): Promise<{ ok: true; exposition: Exposition } | { ok: false; problem: ScrapeProblem }> {
  let res;
  try {
    res = await httpRequest(url, { timeoutMs, maxBytes, headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' } });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.name === 'TimeoutError') return { ok: false, problem: { reason: 'timeout', message: `no answer within ${timeoutMs} ms` } };
    if (/larger than/.test(e.message)) return { ok: false, problem: { reason: 'too_large', message: `the answer is larger than ${maxBytes} bytes` } };
    return { ok: false, problem: { reason: 'unreachable', message: e.message || String(err) } };
  }
  if (res.status !== 200) return { ok: false, problem: { reason: 'http_status', message: `HTTP ${res.status}` } };
  return parseExposition(res.body.toString('utf8'));
}

/**
 * Prometheus text (0.0.4) → samples, with parse-prometheus-text-format doing the lines. Two
 * things it does not: it folds every series of a histogram or summary family into one and drops
 * their labels (yunyu/parse-prometheus-text-format#8, open since 2019), so the `# TYPE` lines are
 * taken out before it reads (each `_bucket` series then comes back whole, labels and all); and it
 * reads any text as samples, so each name, label and value is checked here.
 */
export function parseExposition(text: string): { ok: true; exposition: Exposition } | { ok: false; problem: ScrapeProblem } {
  const names = new Set<string>();
  const lines = text.split('\n').map((line) => {
    const meta = /^\s*#\s+(TYPE|HELP)\s+(\S+)/.exec(line);
    if (meta?.[2] && METRIC_NAME.test(meta[2])) names.add(meta[2]);
    return meta?.[1] === 'TYPE' ? '' : line;
  });
  let families;
  try {
    families = parsePrometheusTextFormat(lines.join('\n'));
  } catch (err) {
    return garbage(err instanceof Error ? err.message : String(err));
  }
  const samples: ScrapeSample[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) return garbage(`"${clip(f.name)}" is not a metric name`);
    for (const m of f.metrics) {
      const value = parseValue(m.value);
      const labels = m.labels ?? {};
      if (value === undefined) return garbage(`${f.name} has the value "${clip(m.value ?? '')}"`);
      const badLabel = Object.keys(labels).find((l) => !LABEL_NAME.test(l));
      if (badLabel !== undefined) return garbage(`${f.name} has a label named "${clip(badLabel)}"`);
      samples.push({ name: f.name, labels, value });
    }
    names.add(f.name);
  }
  return { ok: true, exposition: { samples, names } };
}

function garbage(why: string): { ok: false; problem: ScrapeProblem } {
  return { ok: false, problem: { reason: 'not_prometheus', message: `not Prometheus text: ${why}` } };
}

/** A sample value as Prometheus writes one: a float, NaN or ±Inf. */
function parseValue(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^[+-]?inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
