import { MIX_COUNTERS, type RequestMixSignals } from '@failsmall/core';
import { measured, STEP_MS, type CounterBucket } from './series.ts';

/** The counters agents push for the request mix (core MIX_COUNTERS), by the names the sums below use. */
const MIX = {
  requests: MIX_COUNTERS.requests,
  method: MIX_COUNTERS.methodEntropyWeighted,
  path: MIX_COUNTERS.pathEntropyWeighted,
  userAgent: MIX_COUNTERS.userAgentEntropyWeighted,
  expensive: MIX_COUNTERS.expensive,
  costMs: MIX_COUNTERS.costMs,
} as const;

type Sums = Record<keyof typeof MIX, number>;

/**
 * The fleet's request mix per step, from the agents' counters (`meter.mix`): each entropy is the
 * request-weighted mean of the nodes' and modules' (a lower bound of the fleet's, as for
 * sources); the expensive share and the cost per request are ratios of the sums. Undefined when
 * no agent reports a mix, so triage lists the family as missing.
 */
export function requestMixSignals(buckets: readonly CounterBucket[], baselineUntil: number): RequestMixSignals | undefined {
  const steps = new Map<number, Sums>();
  for (const b of buckets) {
    if ((b.counters[MIX.requests] ?? 0) <= 0) continue;
    const s = steps.get(b.bucket) ?? { requests: 0, method: 0, path: 0, userAgent: 0, expensive: 0, costMs: 0 };
    for (const k of Object.keys(MIX) as (keyof Sums)[]) s[k] += b.counters[MIX[k]] ?? 0;
    steps.set(b.bucket, s);
  }
  if (steps.size === 0) return undefined;
  const ordered = [...steps].sort((a, b) => a[0] - b[0]);
  const series = (value: (s: Sums) => number) => measured(ordered.map(([at, s]) => ({ at_ms: at + STEP_MS, value: value(s) })), baselineUntil);
  return {
    method_entropy_bits: series((s) => s.method / s.requests / 1000),
    path_entropy_bits: series((s) => s.path / s.requests / 1000),
    user_agent_entropy_bits: series((s) => s.userAgent / s.requests / 1000),
    expensive_share: series((s) => s.expensive / s.requests),
    cost_ms_per_request: series((s) => s.costMs / s.requests),
  };
}
