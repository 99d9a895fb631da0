import { COUNT_MAX, COUNTER_NAME, LATENCY_BUCKETS_MS, type ModuleCounters } from '@failsmall/core';
import { RequestMixTracker, type MixRequest, type RequestMixOptions } from './request-mix.ts';
import { dependencyCounter, SourceTracker, type SourceTrackerOptions } from './sources.ts';

/** Per-module counters an agent accumulates between pushes; `drain()` hands over the deltas. */
export class ModuleMeter {
  readonly #observer: ((ok: boolean, latencyMs: number) => void) | undefined;
  #requests = 0;
  #errors = 0;
  #loadsAttempted = 0;
  #loadsSucceeded = 0;
  #latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  #counters: Record<string, number> = {};
  #sources: SourceTracker | undefined;
  readonly #sourceOptions: SourceTrackerOptions;
  #mix: RequestMixTracker | undefined;
  readonly #mixOptions: RequestMixOptions;

  /** `observer` sees every request too (the agent's cumulative Prometheus counters). */
  constructor(observer?: (ok: boolean, latencyMs: number) => void, sourceOptions: SourceTrackerOptions = {}, mixOptions: RequestMixOptions = {}) {
    this.#observer = observer;
    this.#sourceOptions = sourceOptions;
    this.#mixOptions = mixOptions;
  }

  /**
   * The client of a request (an IP address, or a prefix): only its /24 (/48) is kept, and only
   * the interval's entropy and never-seen share leave the node. Triage tells an attack from a
   * flash crowd with it (docs/triage.md).
   */
  source(client: string, n = 1): void {
    this.#sources ??= new SourceTracker(this.#sourceOptions);
    this.#sources.record(client, n);
  }

  /**
   * What a request asked for: its method, its path class (the route template, never the raw
   * path), its client's user agent (only the family is kept) and what it cost to answer. Only
   * the interval's entropies, expensive requests and total cost leave the node. Triage tells an
   * application-layer attack from a surge with it (docs/triage.md).
   */
  mix(r: MixRequest, n = 1): void {
    this.#mix ??= new RequestMixTracker(this.#mixOptions);
    this.#mix.record(r, n);
  }

  /** A call this module made to a dependency (ours, or a vendor's API with `vendor`): calls, errors and total latency. */
  dependency(name: string, ok: boolean, latencyMs: number, o: { vendor?: string } = {}): void {
    this.count(dependencyCounter(name, o.vendor, 'calls'));
    if (!ok) this.count(dependencyCounter(name, o.vendor, 'errors'));
    this.count(dependencyCounter(name, o.vendor, 'latency_ms'), Math.max(0, Math.round(latencyMs)));
  }

  request(ok: boolean, latencyMs: number): void {
    this.#observer?.(ok, latencyMs);
    this.#requests++;
    if (!ok) this.#errors++;
    let i = LATENCY_BUCKETS_MS.findIndex((b) => latencyMs <= b);
    if (i < 0) i = LATENCY_BUCKETS_MS.length;
    this.#latency[i] = (this.#latency[i] ?? 0) + 1;
  }

  /** Many requests at once (a service that counts in batches, a simulator): `errors` of `count` failed, all at `latencyMs`. */
  requests(count: number, errors: number, latencyMs: number): void {
    checkCount('requests', 'count', count);
    checkCount('requests', 'errors', errors);
    if (count <= 0) return;
    this.#requests += count;
    this.#errors += Math.min(errors, count);
    let i = LATENCY_BUCKETS_MS.findIndex((b) => latencyMs <= b);
    if (i < 0) i = LATENCY_BUCKETS_MS.length;
    this.#latency[i] = (this.#latency[i] ?? 0) + count;
  }

  load(ok: boolean): void {
    this.#loadsAttempted++;
    if (ok) this.#loadsSucceeded++;
  }

  /**
   * Adds `by` to a counter of the module's own. A name or an amount the control plane would refuse
   * throws here, at the call that made it (MeterError): pushed, it would cost the whole push, every
   * module's requests and loads with it.
   */
  count(name: string, by = 1): void {
    if (!COUNTER_NAME.test(name)) throw new MeterError('BAD_COUNTER_NAME', `counter name ${JSON.stringify(name)}: letters, digits and _ only, not starting with a digit`);
    checkCount('count', name, by);
    this.#counters[name] = Math.min(COUNT_MAX, (this.#counters[name] ?? 0) + by);
  }

  get empty(): boolean {
    return this.#requests === 0 && this.#loadsAttempted === 0 && Object.keys(this.#counters).length === 0;
  }

  drain(): ModuleCounters {
    for (const tracker of [this.#sources, this.#mix]) {
      for (const [k, v] of Object.entries(tracker?.drain() ?? {})) this.#counters[k] = (this.#counters[k] ?? 0) + v;
    }
    const out: ModuleCounters = {
      requests: this.#requests, errors: this.#errors, loads_attempted: this.#loadsAttempted, loads_succeeded: this.#loadsSucceeded,
      latency_buckets: this.#latency, counters: this.#counters,
    };
    this.#requests = 0; this.#errors = 0; this.#loadsAttempted = 0; this.#loadsSucceeded = 0;
    this.#latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    this.#counters = {};
    return out;
  }

  /** Puts drained counters back (the push failed): nothing is lost while the control plane is down. */
  restore(c: ModuleCounters): void {
    this.add(c);
  }

  /** Adds counters measured elsewhere (a scrape of the application's own metrics). */
  add(c: ModuleCounters): void {
    this.#requests += c.requests; this.#errors += c.errors;
    this.#loadsAttempted += c.loads_attempted; this.#loadsSucceeded += c.loads_succeeded;
    c.latency_buckets.forEach((n, i) => { this.#latency[i] = (this.#latency[i] ?? 0) + n; });
    for (const [k, v] of Object.entries(c.counters)) this.#counters[k] = (this.#counters[k] ?? 0) + v;
  }
}

/** A call to the meter the control plane could not take: `code` says which. */
export class MeterError extends Error {
  readonly code: 'BAD_COUNTER_NAME' | 'BAD_COUNT';
  constructor(code: 'BAD_COUNTER_NAME' | 'BAD_COUNT', message: string) {
    super(message);
    this.name = 'MeterError';
    this.code = code;
  }
}

function checkCount(method: string, what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > COUNT_MAX) throw new MeterError('BAD_COUNT', `${method}: ${what} must be a whole number from 0 to ${COUNT_MAX}, not ${String(n)}`);
}
