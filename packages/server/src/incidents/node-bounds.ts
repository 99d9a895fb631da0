import { MIX_COUNTERS, MIX_PREFIX, SOURCE_COUNTERS, SOURCE_PREFIX } from '@failsmall/core';
import { median, type CounterBucket } from './series.ts';

/**
 * How many times the median node's weight one node may carry in a step. Real fleets are uneven
 * (a big box serves several times a small one's traffic), so the bound is generous; what it stops
 * is one node, with its own credential, reporting a billion requests with an attack's (or a calm)
 * request mix and so deciding what triage reads for the whole fleet.
 */
export const NODE_WEIGHT_BOUND = 10;

/** Counts one node pushed for one module in one step. */
export interface NodeRequests {
  readonly node_id: string;
  readonly module: string;
  readonly bucket: number;
  readonly requests: number;
  readonly errors: number;
}

/** Custom counters one node pushed for one module in one step (IncidentStore.counterBuckets). */
export interface NodeCounters {
  readonly node_id: string;
  readonly module: string;
  readonly bucket: number;
  readonly counters: Readonly<Record<string, number>>;
}

/**
 * Request and error counts with every node's requests bounded to NODE_WEIGHT_BOUND × the median
 * node's in the same module and step; an over-weight node's errors are scaled with its requests,
 * so its error ratio is kept and only its say is bounded.
 */
export function boundRequests(rows: readonly NodeRequests[]): NodeRequests[] {
  const limits = limitsBy(rows, (r) => `${r.module}\u0000${r.bucket}`, (r) => r.requests);
  return rows.map((r) => {
    const limit = limits.get(`${r.module}\u0000${r.bucket}`) ?? Infinity;
    if (r.requests <= limit) return r;
    const f = limit / r.requests;
    return { ...r, requests: limit, errors: r.errors * f };
  });
}

/**
 * Agents' counters summed per module and step, each node's families bounded like its requests:
 * a family's weight counter (`source_requests`, `mix_requests`, a dependency's `…__calls`) is
 * bounded to NODE_WEIGHT_BOUND × the median node's, and every counter of the family is scaled by
 * the same factor, so the node's means and shares are kept and only its say is bounded.
 */
export function boundCounters(rows: readonly NodeCounters[]): CounterBucket[] {
  const weights = rows.flatMap((r) => Object.entries(r.counters).flatMap(([k, v]) => {
    const f = familyOf(k);
    return f !== undefined && f.weight === k ? [{ key: `${r.module}\u0000${r.bucket}\u0000${f.family}`, v }] : [];
  }));
  const limits = limitsBy(weights, (w) => w.key, (w) => w.v);
  const out = new Map<string, { module: string; bucket: number; counters: Record<string, number> }>();
  for (const r of rows) {
    const key = `${r.module}\u0000${r.bucket}`;
    const b = out.get(key) ?? { module: r.module, bucket: r.bucket, counters: {} };
    for (const [k, v] of Object.entries(r.counters)) {
      const f = familyOf(k);
      const weight = f !== undefined ? r.counters[f.weight] ?? 0 : 0;
      const limit = f !== undefined ? limits.get(`${key}\u0000${f.family}`) ?? Infinity : Infinity;
      const scale = weight > limit ? limit / weight : 1;
      b.counters[k] = (b.counters[k] ?? 0) + v * scale;
    }
    out.set(key, b);
  }
  return [...out.values()].sort((a, b) => a.bucket - b.bucket);
}

/** The family a counter belongs to, and the counter that weighs it. */
function familyOf(k: string): { family: string; weight: string } | undefined {
  if (k.startsWith(SOURCE_PREFIX)) return { family: 'source', weight: SOURCE_COUNTERS.requests };
  if (k.startsWith(MIX_PREFIX)) return { family: 'mix', weight: MIX_COUNTERS.requests };
  const dep = /^(depv?__.+__)(calls|errors|latency_ms)$/.exec(k);
  if (dep?.[1] !== undefined) return { family: dep[1], weight: `${dep[1]}calls` };
  return undefined;
}

/** Per group: NODE_WEIGHT_BOUND × the median weight of its members (a group of one or two is not bounded). */
function limitsBy<T>(xs: readonly T[], group: (x: T) => string, weight: (x: T) => number): Map<string, number> {
  const by = new Map<string, number[]>();
  for (const x of xs) {
    const k = group(x);
    const list = by.get(k) ?? [];
    list.push(weight(x));
    by.set(k, list);
  }
  const out = new Map<string, number>();
  for (const [k, ws] of by) {
    if (ws.length < 3) continue;
    out.set(k, Math.max(1, median(ws) ?? 0) * NODE_WEIGHT_BOUND);
  }
  return out;
}
