import { histogramQuantile } from '../gates/metric-value.ts';
import { LATENCY_BUCKETS_MS } from '../gates/types.ts';
import type { RateCounts } from './rate-confidence-sequence.ts';
import { rateRegression, type AllowedDegradation, type RateRegression } from './rate-regression.ts';

export interface LatencyExceedanceInput {
  /** Cumulative canary latency histogram on LATENCY_BUCKETS_MS (+Inf last). */
  readonly canary: readonly number[];
  /** Cumulative baseline latency histogram over the same window. */
  readonly baseline: readonly number[];
  /** The baseline quantile to exceed; default 0.99. */
  readonly quantile?: number;
  /** Allowed growth of the exceedance share, e.g. { relative: 1 }: up to 2% above the baseline p99. */
  readonly allowed: AllowedDegradation;
  readonly alpha: number;
  readonly tuneAtTrials?: number;
  readonly minTrials?: number;
}

export interface LatencyExceedance extends RateRegression {
  /** The baseline's quantile in ms; null without baseline data. */
  readonly threshold_ms: number | null;
  readonly quantile: number;
  /** Canary requests above threshold_ms (fractional: interpolated) out of all canary requests. */
  readonly canary_exceedance: RateCounts;
  readonly baseline_exceedance: RateCounts;
}

/**
 * Latency, canary versus baseline, as a rate: the share of canary requests slower than the
 * baseline's p99. If the canary is as fast as the baseline, about 1% of its requests are
 * slower than the baseline's p99; a slower canary pushes that share up. Counting those
 * requests turns a latency gate into the same always-valid two-rate test as the error rate
 * (see rateRegression), so it may be looked at every interval too.
 *
 * Both arms come from histograms on LATENCY_BUCKETS_MS (one count per bucket plus a final
 * +Inf bucket). The threshold is the baseline's quantile, interpolated linearly inside its
 * bucket exactly as histogramQuantile (and Prometheus' histogram_quantile) does, and the
 * counts above it are interpolated the same way, so that the baseline's own exceedance is
 * exactly 1 − quantile of its requests and a canary with the baseline's distribution has the
 * same expected exceedance. The baseline arm's binomial noise stands in for the noise of its
 * estimated p99, which has the same first-order variance. Interpolated counts vary less than
 * true counts would, so on histograms the test errs on the side of fewer false alarms (none in
 * 1,000 seeded null runs at alpha 0.05, see stats-simulation.test.ts).
 *
 * Examples
 *   latencyExceedance({ canary: canaryBuckets, baseline: baselineBuckets, allowed: { relative: 1 }, alpha: 0.001 })
 *   // verdict 'regression' when clearly more than 2% of canary requests are slower than the baseline p99
 */
export function latencyExceedance(input: LatencyExceedanceInput): LatencyExceedance {
  const q = input.quantile ?? 0.99;
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile must be in (0, 1), got ${q}`);
  const canary = cleanHistogram(input.canary);
  const baseline = cleanHistogram(input.baseline);
  const threshold = histogramQuantile(q, baseline);
  const pct = `p${Number((100 * q).toPrecision(4))}`;
  // Without a baseline threshold nothing counts as slow; the zero baseline trials then make the verdict undecided.
  const canaryExceedance = { events: threshold === null ? 0 : histogramCountAbove(canary, threshold), trials: total(canary) };
  const baselineExceedance = { events: threshold === null ? 0 : histogramCountAbove(baseline, threshold), trials: total(baseline) };
  const label = threshold === null
    ? `share of canary requests slower than the baseline ${pct} (no baseline data)`
    : `share of canary requests slower than the baseline ${pct} (${Number(threshold.toPrecision(4))} ms)`;
  const verdict = rateRegression({
    canary: canaryExceedance, baseline: baselineExceedance, allowed: input.allowed, alpha: input.alpha,
    tuneAtTrials: input.tuneAtTrials, minTrials: input.minTrials, label,
  });
  return { ...verdict, threshold_ms: threshold, quantile: q, canary_exceedance: canaryExceedance, baseline_exceedance: baselineExceedance };
}

/**
 * How many of a histogram's observations lie above `thresholdMs`, assuming they are spread
 * evenly inside each bucket (the assumption histogramQuantile makes). Observations in the
 * +Inf bucket count as above any threshold: the histogram cannot tell how far past the last
 * bound they are, and a request slower than 10 s is slow.
 *
 * Examples
 *   // 100 observations in (50, 100] ms: a quarter of them are above 87.5 ms
 *   histogramCountAbove([0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0], 87.5) // 25
 */
export function histogramCountAbove(buckets: readonly number[], thresholdMs: number): number {
  let above = 0;
  for (let i = 0; i <= LATENCY_BUCKETS_MS.length; i++) {
    const count = finiteCount(buckets[i]);
    if (count === 0) continue;
    const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
    const upper = LATENCY_BUCKETS_MS[i];
    if (upper === undefined || lower >= thresholdMs) above += count;
    else if (upper > thresholdMs) above += (count * (upper - thresholdMs)) / (upper - lower);
  }
  return above;
}

function cleanHistogram(buckets: readonly number[]): number[] {
  return Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => finiteCount(buckets[i]));
}

/** A missing, negative or non-finite bucket count adds nothing, as in addCounters. */
function finiteCount(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : 0;
}

function total(buckets: readonly number[]): number {
  return buckets.reduce((a, b) => a + b, 0);
}
