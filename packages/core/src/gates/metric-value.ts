import { LATENCY_BUCKETS_MS, type ModuleCounters } from './types.ts';
import { CUSTOM_METRIC_PREFIX } from '../policy/metrics.ts';

/** An empty aggregate: what a set of silent nodes adds up to. */
export function emptyAggregate() {
  return {
    requests: 0, errors: 0, loads_attempted: 0, loads_succeeded: 0,
    latency_buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
    counters: {} as Record<string, number>, nodes: 0,
  };
}

export type MutableAggregate = ReturnType<typeof emptyAggregate>;

/** Adds one node's (or one sample's) counters into `into`. */
export function addCounters(into: MutableAggregate, c: ModuleCounters, nodes = 1): void {
  into.requests += c.requests;
  into.errors += c.errors;
  into.loads_attempted += c.loads_attempted;
  into.loads_succeeded += c.loads_succeeded;
  for (let i = 0; i < into.latency_buckets.length; i++) into.latency_buckets[i] = (into.latency_buckets[i] ?? 0) + (c.latency_buckets[i] ?? 0);
  for (const [k, v] of Object.entries(c.counters)) into.counters[k] = (into.counters[k] ?? 0) + v;
  into.nodes += nodes;
}

/**
 * A quantile from the shared histogram, interpolating linearly inside the bucket (the
 * same estimate Prometheus' histogram_quantile makes). The +Inf bucket reports the last bound.
 */
export function histogramQuantile(q: number, buckets: readonly number[]): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const target = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i] ?? 0;
    if (count > 0 && seen + count >= target) {
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
      const upper = LATENCY_BUCKETS_MS[i];
      if (upper === undefined) return lower;
      return lower + (upper - lower) * ((target - seen) / count);
    }
    seen += count;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] ?? null;
}

/** The value of a metric over an aggregate, with its sample count; value null when there are no samples. */
export function metricValue(metric: string, a: ModuleCounters): { value: number | null; samples: number } {
  switch (metric) {
    case 'load_success_rate':
      return { value: a.loads_attempted > 0 ? a.loads_succeeded / a.loads_attempted : null, samples: a.loads_attempted };
    case 'error_rate':
      return { value: a.requests > 0 ? a.errors / a.requests : null, samples: a.requests };
    case 'latency_p50':
    case 'latency_p90':
    case 'latency_p99': {
      const q = Number(metric.slice('latency_p'.length)) / 100;
      const samples = a.latency_buckets.reduce((x, y) => x + y, 0);
      return { value: histogramQuantile(q, a.latency_buckets), samples };
    }
    default: {
      if (metric.startsWith(CUSTOM_METRIC_PREFIX)) {
        const name = metric.slice(CUSTOM_METRIC_PREFIX.length);
        return { value: a.requests > 0 ? (a.counters[name] ?? 0) / a.requests : null, samples: a.requests };
      }
      return { value: null, samples: 0 };
    }
  }
}
