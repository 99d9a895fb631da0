import type { MetricAggregate } from '@failsmall/core';
import type { Clock } from './controller.ts';
import { addBuckets, addCounters } from '../store/sample-sums.ts';
import type { MetricSample, Store } from '../store/types.ts';

/**
 * Every this often, the last METRICS_LAG_MS of samples are read again (deduplicated by id): on
 * PostgreSQL an insert can commit after one with a higher id, which reading by id alone would
 * skip. Between those, each sync reads only the ids above the highest it has seen.
 */
export const METRICS_LAG_MS = 5000;

interface ModuleSamples {
  /** Every sample kept, by id. */
  readonly byId: Map<number, MetricSample>;
  /** The earliest `at` this view holds every sample from. */
  keptFrom: number;
  syncedAt: number;
  maxId: number;
  lagReadAt: number;
}

/**
 * The gates' metric windows, kept in memory: each watched module's samples from the start of the
 * widest window a gate asks for. Each `sync` reads only the samples with an id above the highest
 * it has seen (and, every METRICS_LAG_MS, the last METRICS_LAG_MS again, deduplicated by id), so
 * a gate evaluation at 10,000 nodes reads the pushes of the last tick instead of every sample in
 * its window; `byNode` then sums
 * each node's samples in a window exactly as the store's `metricsByNode` does (sample-sums.ts),
 * and says undefined for a window that starts before what it holds (the caller reads the store).
 *
 * Examples
 * ```ts
 * await view.sync([{ module: 'proxy', fromMs: now - 60_000 }]);
 * const perNode = view.byNode('proxy', now - 60_000, now) ?? await store.metricsByNode('proxy', now - 60_000, now);
 * ```
 */
export class MetricsView {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #modules = new Map<string, ModuleSamples>();
  /** Samples read by the last sync (for the benchmark and the tests). */
  lastRead = 0;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Everything is read again at the next sync (a lease taken over). */
  invalidate(): void {
    this.#modules.clear();
  }

  /** Brings each wanted module up to date from `fromMs`; modules not wanted are forgotten. */
  async sync(wants: readonly { module: string; fromMs: number }[]): Promise<void> {
    const now = this.#clock.now();
    const from = new Map<string, number>();
    for (const w of wants) from.set(w.module, Math.min(from.get(w.module) ?? Infinity, w.fromMs));
    for (const m of [...this.#modules.keys()]) if (!from.has(m)) this.#modules.delete(m);
    let read = 0;
    for (const [module, fromMs] of from) {
      let kept = this.#modules.get(module);
      // A wider window than held, or a clock that went back: read the whole window.
      const fresh = !kept || fromMs < kept.keptFrom || now < kept.syncedAt;
      let rows: MetricSample[];
      if (fresh || !kept) {
        rows = await this.#store.metricSamplesSince(module, { atMs: fromMs });
        kept = { byId: new Map(), keptFrom: fromMs, syncedAt: now, maxId: 0, lagReadAt: now };
        this.#modules.set(module, kept);
      } else if (now - kept.lagReadAt >= METRICS_LAG_MS) {
        rows = await this.#store.metricSamplesSince(module, { atMs: Math.max(fromMs, kept.syncedAt - METRICS_LAG_MS) });
        kept.lagReadAt = now;
      } else {
        rows = await this.#store.metricSamplesSince(module, { afterId: kept.maxId });
      }
      for (const r of rows) { kept.byId.set(r.id, r); if (r.id > kept.maxId) kept.maxId = r.id; }
      // What no window asks for any more goes.
      for (const [id, r] of kept.byId) if (r.at < fromMs) kept.byId.delete(id);
      kept.keptFrom = fromMs;
      kept.syncedAt = now;
      read += rows.length;
    }
    this.lastRead = read;
  }

  /** Each node's samples in [fromMs, toMs] summed, as `Store.metricsByNode` answers; undefined when the window starts before what is held. */
  byNode(module: string, fromMs: number, toMs: number): Map<string, MetricAggregate> | undefined {
    const kept = this.#modules.get(module);
    if (!kept || fromMs < kept.keptFrom) return undefined;
    const out = new Map<string, { requests: number; errors: number; loads_attempted: number; loads_succeeded: number; latency_buckets: number[]; counters: Record<string, number>; nodes: number }>();
    for (const s of kept.byId.values()) {
      if (s.at < fromMs || s.at > toMs) continue;
      let acc = out.get(s.node_id);
      if (!acc) out.set(s.node_id, acc = { requests: 0, errors: 0, loads_attempted: 0, loads_succeeded: 0, latency_buckets: [], counters: {}, nodes: 1 });
      const c = s.counters;
      acc.requests += c.requests;
      acc.errors += c.errors;
      acc.loads_attempted += c.loads_attempted;
      acc.loads_succeeded += c.loads_succeeded;
      addBuckets(acc.latency_buckets, c.latency_buckets);
      addCounters(acc.counters, c.counters);
    }
    return out;
  }
}
