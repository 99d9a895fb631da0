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
 * Simplifications (documented in docs/benchmarks.md): the root
 * search is bisection to 1e-12 of the range instead of Commons Math's Brent solver (the
 * statistic is a step function, both land on the same jump); IQRDetector's `reduceSensitivity`
 * option is not reproduced; the Gaussian noise MannWhitneyClassifier adds when both samples are
 * constant (and different) is left out (with 50+ points of counts that never happens).
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

/**
 * MannWhitney.scala wilcoxonDiff + 0: R's standardized statistic at shift mu, continuity-corrected,
 * with the tie correction of the variance (kayenta-mannwhitney MannWhitney.scala:58-78: ranks of
 * x − mu and y together, average ranks for ties, sigma reduced by Σ(t³ − t) / ((nx + ny)(nx + ny − 1))).
 * One merge of the two sorted samples, O(nx + ny). Ties matter here: per-point error rates of a
 * few nodes are small counts over similar totals.
 */
function zAt(xs: readonly number[], ys: readonly number[], mu: number): number {
  const nx = xs.length, ny = ys.length;
  let i = 0, j = 0, u = 0, tieSum = 0;
  while (i < nx || j < ny) {
    const vx = i < nx ? (xs[i] ?? 0) - mu : Infinity;
    const vy = j < ny ? (ys[j] ?? 0) : Infinity;
    const v = vx < vy ? vx : vy;
    let cx = 0, cy = 0;
    const below = j;
    while (i < nx && (xs[i] ?? 0) - mu === v) { cx++; i++; }
    while (j < ny && ys[j] === v) { cy++; j++; }
    u += cx * (below + 0.5 * cy);
    const t = cx + cy;
    if (t > 1) tieSum += t * t * t - t;
  }
  const n = nx + ny;
  const sigma = Math.sqrt(((nx * ny) / 12) * (n + 1 - tieSum / (n * (n - 1))));
  const dz = u - (nx * ny) / 2;
  if (!(sigma > 0)) return 0; // all tied: Kayenta throws; the classifier has returned Pass before (identical or one value)
  return (dz - 0.5 * Math.sign(dz)) / sigma;
}

/** MannWhitney.scala findRoot: the mu in [muMin, muMax] where z(mu) = q (z is non-increasing in mu). */
function findRoot(xs: readonly number[], ys: readonly number[], q: number, muMin: number, muMax: number): number {
  if (zAt(xs, ys, muMin) - q <= 0) return muMin;
  if (zAt(xs, ys, muMax) - q >= 0) return muMax;
  let lo = muMin;
  let hi = muMax;
  const tol = 1e-12 * Math.max(1e-300, muMax - muMin);
  for (let i = 0; i < 200 && hi - lo > tol; i++) {
    const mid = (lo + hi) / 2;
    if (zAt(xs, ys, mid) - q > 0) lo = mid;
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
  const muMin = (xs[0] ?? 0) - (ys[ny - 1] ?? 0);
  const muMax = (xs[nx - 1] ?? 0) - (ys[0] ?? 0);
  const ratio = mean(ys) === 0 ? 1 : mean(xs) / mean(ys);
  const z0 = zAt(xs, ys, 0);
  // High needs lower > tolerance·|estimate| ≥ 0. The lower bound is ≤ 0 exactly when z(0) ≤ q and
  // the search range reaches 0 (z is non-increasing): skip the root search then.
  const mayBeHigh = !(z0 - Z98 <= 0 && muMin <= 0);
  const mayBeLow = cfg.direction === 'either' && !(z0 + Z98 >= 0 && muMax >= 0);
  if (!mayBeHigh && !mayBeLow) return 'Pass';
  const estimate = findRoot(xs, ys, 0, muMin, muMax);
  const bound = cfg.tolerance * Math.abs(estimate);
  if (mayBeHigh) {
    const lower = findRoot(xs, ys, Z98, muMin, muMax);
    if (lower > bound && ratio >= cfg.allowedIncrease) return 'High';
  }
  if (mayBeLow) {
    const upper = findRoot(xs, ys, -Z98, muMin, muMax);
    if (upper < -bound && ratio <= cfg.allowedDecrease) return 'Low';
  }
  return 'Pass';
}
