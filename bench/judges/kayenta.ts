/**
 * Kayenta's default judge (NetflixACAJudge-v1.0) on one metric, reproduced from its source:
 *
 * - spinnaker/kayenta kayenta-judge/.../NetflixACAJudge.scala: each metric's canary and baseline
 *   time series are cleaned (NaN strategy, then outliers removed by IQRDetector(factor = 3.0)),
 *   then classified by `new MannWhitneyClassifier(tolerance = 0.25, confLevel = 0.98,
 *   effectSizeThresholds, criticalThresholds)`; `direction` defaults to "either" and
 *   effectSize.allowedIncrease / allowedDecrease default to 1.0 (the mean ratio).
 * - kayenta-judge/.../classifiers/metric/MannWhitneyClassifier.scala: High when the lower bound
 *   of the Mann-Whitney confidence interval for the location shift (canary − baseline) exceeds
 *   tolerance × |Hodges-Lehmann estimate| AND mean(canary)/mean(baseline) ≥ allowedIncrease;
 *   Low symmetrically; Pass otherwise (also Pass when the two samples are identical).
 * - kayenta-mannwhitney/.../MannWhitney.scala: the interval is R's wilcox.test asymptotic
 *   two-sample interval (normal approximation with continuity correction), found by root
 *   search on [min(x) − max(y), max(x) − min(y)]; when the statistic cannot reach the quantile
 *   the bound is the end of that range. Two-sided at confLevel 0.98: z = 2.3263.
 * - Scoring (WeightedSumScorer, ThresholdScoreClassifier): score = 100 × passing metrics /
 *   metrics (one group, equal weights); below `marginal` the canary fails at once, and the last
 *   analysis must reach `pass`. Defaults in Spinnaker's canary config UI (deck-kayenta):
 *   marginal 75, pass 95.
 * Simplifications (documented in docs/benchmarks.md): ties are counted as halves in U but the
 * tie correction of the variance is left out (our points are continuous: none tie); the root
 * search is bisection to 1e-12 of the range instead of Commons Math's Brent solver (the
 * statistic is a step function, both land on the same jump); IQRDetector's `reduceSensitivity`
 * option is not reproduced (at factor 3 no point of these normal-like series is removed anyway).
 */

const Z98 = 2.3263478740408408; // qnorm(0.99): two-sided 98%

export type Direction = 'increase' | 'either';
export type Classification = 'Pass' | 'High' | 'Low';

export interface KayentaMetricConfig {
  readonly direction: Direction;
  readonly tolerance: number; // 0.25
  readonly allowedIncrease: number; // 1.0
  readonly allowedDecrease: number; // 1.0
}

export const KAYENTA_DEFAULT_METRIC: Omit<KayentaMetricConfig, 'direction'> = { tolerance: 0.25, allowedIncrease: 1.0, allowedDecrease: 1.0 };

/** R type-7 quantile of a sorted array. */
function quantileSorted(s: readonly number[], q: number): number {
  if (s.length === 0) return Number.NaN;
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const a = s[lo] ?? 0;
  const b = s[Math.min(s.length - 1, lo + 1)] ?? a;
  return a + (h - lo) * (b - a);
}

/** IQRDetector(factor = 3): drop points outside [Q1 − 3·IQR, Q3 + 3·IQR]. Returns a sorted copy. */
export function removeOutliers(values: readonly number[]): number[] {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length < 4) return s;
  const q1 = quantileSorted(s, 0.25);
  const q3 = quantileSorted(s, 0.75);
  const iqr = q3 - q1;
  const lo = q1 - 3 * iqr;
  const hi = q3 + 3 * iqr;
  return s.filter((v) => v >= lo && v <= hi);
}

/** U of x(−mu) against y (both sorted): pairs with x_i − mu > y_j, ties one half. Two pointers, O(n). */
function uStat(xs: readonly number[], ys: readonly number[], mu: number): number {
  let u = 0;
  let below = 0; // ys strictly below the current x − mu
  let atOrBelow = 0;
  for (const x of xs) {
    const v = x - mu;
    while (below < ys.length && (ys[below] ?? 0) < v) below++;
    if (atOrBelow < below) atOrBelow = below;
    while (atOrBelow < ys.length && (ys[atOrBelow] ?? 0) <= v) atOrBelow++;
    u += below + 0.5 * (atOrBelow - below);
  }
  return u;
}

/** R's standardized statistic at shift mu, continuity-corrected (two-sided). */
function zAt(xs: readonly number[], ys: readonly number[], mu: number, sigma: number): number {
  const dz = uStat(xs, ys, mu) - (xs.length * ys.length) / 2;
  return (dz - 0.5 * Math.sign(dz)) / sigma;
}

/** MannWhitney.scala findRoot: the mu in [muMin, muMax] where z(mu) = q (z is non-increasing in mu). */
function findRoot(xs: readonly number[], ys: readonly number[], sigma: number, q: number, muMin: number, muMax: number): number {
  if (zAt(xs, ys, muMin, sigma) - q <= 0) return muMin;
  if (zAt(xs, ys, muMax, sigma) - q >= 0) return muMax;
  let lo = muMin;
  let hi = muMax;
  const tol = 1e-12 * Math.max(1e-300, muMax - muMin);
  for (let i = 0; i < 200 && hi - lo > tol; i++) {
    const mid = (lo + hi) / 2;
    if (zAt(xs, ys, mid, sigma) - q > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function mean(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/**
 * MannWhitneyClassifier.classify for one metric: canary (experiment) against baseline (control).
 * Inputs are the raw per-step points; cleaning (outlier removal) happens here.
 */
export function classify(canaryRaw: readonly number[], baselineRaw: readonly number[], cfg: KayentaMetricConfig): Classification {
  const xs = removeOutliers(canaryRaw);
  const ys = removeOutliers(baselineRaw);
  if (xs.length === 0 || ys.length === 0) return 'Pass'; // NODATA does not fail the canary (judge docs, step 1)
  if (xs.length === ys.length && xs.every((v, i) => v === ys[i])) return 'Pass';
  const nx = xs.length;
  const ny = ys.length;
  const sigma = Math.sqrt(((nx * ny) / 12) * (nx + ny + 1));
  const muMin = (xs[0] ?? 0) - (ys[ny - 1] ?? 0);
  const muMax = (xs[nx - 1] ?? 0) - (ys[0] ?? 0);
  const ratio = mean(ys) === 0 ? 1 : mean(xs) / mean(ys);
  const z0 = zAt(xs, ys, 0, sigma);
  // High needs lower > tolerance·|estimate| ≥ 0. The lower bound is ≤ 0 exactly when z(0) ≤ q and
  // the search range reaches 0 (z is non-increasing): skip the root search then.
  const mayBeHigh = !(z0 - Z98 <= 0 && muMin <= 0);
  const mayBeLow = cfg.direction === 'either' && !(z0 + Z98 >= 0 && muMax >= 0);
  if (!mayBeHigh && !mayBeLow) return 'Pass';
  const estimate = findRoot(xs, ys, sigma, 0, muMin, muMax);
  const bound = cfg.tolerance * Math.abs(estimate);
  if (mayBeHigh) {
    const lower = findRoot(xs, ys, sigma, Z98, muMin, muMax);
    if (lower > bound && ratio >= cfg.allowedIncrease) return 'High';
  }
  if (mayBeLow) {
    const upper = findRoot(xs, ys, sigma, -Z98, muMin, muMax);
    if (upper < -bound && ratio <= cfg.allowedDecrease) return 'Low';
  }
  return 'Pass';
}
