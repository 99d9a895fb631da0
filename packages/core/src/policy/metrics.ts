import type { GateDirection } from './types.ts';

/**
 * The builtin metric catalog. A gate's direction comes from here unless the gate says
 * `min:` or `max:` explicitly. `samples` names what is counted as one sample.
 */
export interface MetricInfo {
  readonly name: string;
  readonly direction: GateDirection;
  readonly samples: 'loads' | 'requests';
  readonly unit: 'ratio' | 'ms';
  readonly description: string;
}

export const BUILTIN_METRICS: readonly MetricInfo[] = [
  { name: 'load_success_rate', direction: 'min', samples: 'loads', unit: 'ratio', description: 'loads that succeeded / loads attempted' },
  { name: 'error_rate', direction: 'max', samples: 'requests', unit: 'ratio', description: 'requests that failed / requests' },
  { name: 'latency_p50', direction: 'max', samples: 'requests', unit: 'ms', description: 'median request latency (ms)' },
  { name: 'latency_p90', direction: 'max', samples: 'requests', unit: 'ms', description: '90th percentile request latency (ms)' },
  { name: 'latency_p99', direction: 'max', samples: 'requests', unit: 'ms', description: '99th percentile request latency (ms)' },
];

/** Custom counters are gated as a rate per request: `custom:bot_score_zero` = bot_score_zero / requests. */
export const CUSTOM_METRIC_PREFIX = 'custom:';

export function metricInfo(metric: string): MetricInfo | undefined {
  const builtin = BUILTIN_METRICS.find((m) => m.name === metric);
  if (builtin) return builtin;
  if (metric.startsWith(CUSTOM_METRIC_PREFIX) && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(metric.slice(CUSTOM_METRIC_PREFIX.length))) {
    // Direction of a custom counter is unknown: the gate must say min: or max:.
    return undefined;
  }
  return undefined;
}

export function isCustomMetric(metric: string): boolean {
  return metric.startsWith(CUSTOM_METRIC_PREFIX) && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(metric.slice(CUSTOM_METRIC_PREFIX.length));
}
