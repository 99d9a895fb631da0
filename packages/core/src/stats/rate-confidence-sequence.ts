/**
 * An always-valid confidence sequence for the difference of two rates, canary minus baseline
 * (or, more generally, canary − k × baseline), from cumulative counts.
 *
 * Why a confidence sequence: a gate looks at every interval. A fixed-sample 95% interval
 * checked 30 times misses the truth far more often than 5% of the time; a confidence
 * sequence covers the true difference at every look at once, with probability ≥ 1 − alpha,
 * so the gate may stop at the first look where the interval is decisive.
 *
 * Method: the two-sided normal-mixture boundary of Robbins (1970), in the form of Howard,
 * Ramdas, McAuliffe & Sekhon (2021), "Time-uniform, nonparametric, nonasymptotic confidence
 * sequences", Ann. Statist. 49(2) (the normal mixture), with the variance estimated from the
 * data as in the Gaussian-mixture asymptotic confidence sequence of Waudby-Smith, Arbour,
 * Sinha, Kennedy & Ramdas (2021), "Time-uniform central limit theory and asymptotic confidence
 * sequences", arXiv:2103.06476. It is the interval form of the mSPRT of Johari, Koomen, Pekelis & Walsh (2017),
 * "Peeking at A/B tests", KDD. With t canary trials and SE the standard error of the contrast,
 *
 *   estimate ± SE · sqrt((1 + 1/(tρ²)) · ln((tρ² + 1) / alpha²)),
 *   ρ² = (−2 ln alpha + ln(1 − 2 ln alpha)) / t*,
 *
 * which is tightest when t = t* (`tuneAtTrials`). SE is the larger of the plug-in standard
 * error and the one the canary would have on the boundary p_c = k·p_b + offset (a score-test
 * guard for small counts). The guarantee is asymptotic (it relies on the central limit
 * theorem, as every plug-in-variance test does), holds for counts accumulated since the test
 * started (not a sliding window), and assumes the canary's share of the traffic stays roughly
 * constant between looks: restart it when a stage widens.
 *
 * Data never throws: zero counts, tiny samples, and inconsistent counts give the whole
 * feasible range, flagged `sufficient: false`. Configuration (alpha, tuneAtTrials) must be
 * valid, or a RangeError is thrown.
 *
 * Examples
 *   rateConfidenceSequence({
 *     canary: { events: 1_200, trials: 600_000 },      // 0.2% errors
 *     baseline: { events: 59_400, trials: 59_400_000 }, // 0.1% errors
 *     alpha: 0.05,
 *   })
 *   // { estimate: 0.001, lower: ≈0.00080, upper: ≈0.00120, sufficient: true, ... }
 */

/** Events out of trials: errors out of requests, or failed out of attempted loads. */
export interface RateCounts {
  readonly events: number;
  readonly trials: number;
}

export interface RateConfidenceSequenceInput {
  readonly canary: RateCounts;
  readonly baseline: RateCounts;
  /** The probability that the interval ever misses the true difference, over all looks. */
  readonly alpha: number;
  /** Canary trials at which the interval should be tightest; default 10 000. */
  readonly tuneAtTrials?: number;
  /** Below this many trials in either arm, no interval is claimed; default 30. */
  readonly minTrials?: number;
}

export interface RateInterval {
  /** The point estimate of the contrast (p_canary − p_baseline for a difference). */
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  readonly width: number;
  readonly canary_rate: number | null;
  readonly baseline_rate: number | null;
  /** False when the counts were too few or inconsistent: the interval is then the whole feasible range. */
  readonly sufficient: boolean;
  /** The test used, for the verdict's evidence. */
  readonly method: string;
  /** Why the interval is not informative, when it is not; null otherwise. */
  readonly note: string | null;
}

export const DEFAULT_TUNE_AT_TRIALS = 10_000;
export const DEFAULT_MIN_TRIALS = 30;

/**
 * The confidence sequence for p_canary − p_baseline.
 *
 * Examples
 *   const cs = rateConfidenceSequence({ canary: { events: 3, trials: 1000 }, baseline: { events: 90, trials: 99_000 }, alpha: 0.01 });
 *   cs.lower <= cs.estimate && cs.estimate <= cs.upper // true
 */
export function rateConfidenceSequence(input: RateConfidenceSequenceInput): RateInterval {
  return contrastConfidenceSequence({ ...input, baselineWeight: 1 });
}

export interface ContrastInput extends RateConfidenceSequenceInput {
  /** k in p_canary − k × p_baseline − offset: 1 + the relative allowed degradation. */
  readonly baselineWeight: number;
  /** The absolute allowed degradation; default 0. */
  readonly offset?: number;
}

/**
 * The confidence sequence for p_canary − k × p_baseline − offset, k ≥ 0. A gate that allows
 * the canary up to 1.5 × the baseline plus 0.1 point asks for the sign of this contrast with
 * k = 1.5 and offset 0.001; testing it directly accounts for the baseline's own noise instead
 * of treating 1.5 × p̂_baseline as exact.
 *
 * Examples
 *   contrastConfidenceSequence({ canary, baseline, alpha: 0.05, baselineWeight: 1.5 }).upper < 0
 *   // true when the canary is shown to stay below 1.5 × the baseline rate
 */
export function contrastConfidenceSequence(input: ContrastInput): RateInterval {
  const alpha = input.alpha;
  const k = input.baselineWeight;
  const offset = input.offset ?? 0;
  const tuneAt = input.tuneAtTrials ?? DEFAULT_TUNE_AT_TRIALS;
  const minTrials = input.minTrials ?? DEFAULT_MIN_TRIALS;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(k >= 0 && Number.isFinite(k))) throw new RangeError(`baselineWeight must be finite and >= 0, got ${k}`);
  if (!(offset >= 0 && offset < 1)) throw new RangeError(`offset must be in [0, 1), got ${offset}`);
  if (!(tuneAt > 0 && Number.isFinite(tuneAt))) throw new RangeError(`tuneAtTrials must be finite and > 0, got ${tuneAt}`);
  if (!(minTrials >= 1 && Number.isFinite(minTrials))) throw new RangeError(`minTrials must be finite and >= 1, got ${minTrials}`);

  const contrast = `p_canary − ${k === 1 ? '' : `${formatNumber(k)} × `}p_baseline${offset > 0 ? ` − ${formatNumber(offset)}` : ''}`;
  const method = `normal-mixture confidence sequence on ${contrast} ` +
    `(Howard et al. 2021; Waudby-Smith et al. 2021), alpha ${formatNumber(alpha)} over all looks, tuned at ${formatNumber(tuneAt)} canary trials`;
  const c = input.canary;
  const b = input.baseline;
  const invalid = invalidCounts(c, 'canary') ?? invalidCounts(b, 'baseline');
  const pc = invalidCounts(c, 'canary') === null && c.trials > 0 ? c.events / c.trials : null;
  const pb = invalidCounts(b, 'baseline') === null && b.trials > 0 ? b.events / b.trials : null;
  // The contrast can only take values in [−k − offset, 1 − offset]; an uninformative answer is that whole range.
  const whole = (note: string): RateInterval => {
    const estimate = pc !== null && pb !== null ? pc - k * pb - offset : 0;
    return { estimate, lower: -k - offset, upper: 1 - offset, width: 1 + k, canary_rate: pc, baseline_rate: pb, sufficient: false, method, note };
  };
  if (invalid !== null) return whole(invalid);
  if (pc === null || pb === null || c.trials < minTrials || b.trials < minTrials) {
    return whole(`too few trials for an interval: ${c.trials} canary and ${b.trials} baseline, ${minTrials} needed in each`);
  }

  // Add-half smoothing keeps the variance positive when an arm saw no events (or only
  // events), so a clean canary gets a narrow but honest interval instead of a zero-width one.
  const sc = (c.events + 0.5) / (c.trials + 1);
  const sb = (b.events + 0.5) / (b.trials + 1);
  const baselineVar = (k * k * sb * (1 - sb)) / b.trials;
  const plugIn = (sc * (1 - sc)) / c.trials + baselineVar;
  // With few events, a canary that happened to see none has a far too small plug-in variance,
  // and the interval then "proves" it no worse than the baseline (a false `ok` in 6% of null
  // runs at alpha 0.05 with 5 events per look). As a score test does, also take the variance
  // the canary would have on the boundary p_c = k·p_b + offset, and keep the larger.
  const onBoundary = Math.min(1 - 1e-12, Math.max(1e-12, k * sb + offset));
  const boundary = (onBoundary * (1 - onBoundary)) / c.trials + baselineVar;
  const se = Math.sqrt(Math.max(plugIn, boundary));
  const half = se * mixtureRadius(c.trials, alpha, tuneAt);
  const estimate = pc - k * pb - offset;
  const lower = Math.max(-k - offset, estimate - half);
  const upper = Math.min(1 - offset, estimate + half);
  return { estimate, lower, upper, width: upper - lower, canary_rate: pc, baseline_rate: pb, sufficient: true, method, note: null };
}

/**
 * The mixing precision ρ² (per canary trial) that makes the boundary tightest at `tuneAtTrials`
 * (the closed form of Waudby-Smith et al. 2021; within 0.1% of the best radius, see the tests).
 *
 * Examples
 *   mixtureRho2(10_000, 0.05) // ≈ 0.000794
 */
export function mixtureRho2(tuneAtTrials: number, alpha: number): number {
  const l = -2 * Math.log(alpha);
  return (l + Math.log(1 + l)) / tuneAtTrials;
}

/**
 * The half-width of the confidence sequence in units of the standard error after t trials:
 * sqrt((1 + 1/(tρ²)) · ln((tρ² + 1)/alpha²)). A fixed-sample interval would use z_{1−alpha/2};
 * this is wider (about 3.04 instead of 1.96 at t = t*, alpha 0.05), the price of looking often.
 *
 * Examples
 *   mixtureRadius(10_000, 0.05, 10_000) // ≈ 3.04
 */
export function mixtureRadius(trials: number, alpha: number, tuneAtTrials: number): number {
  const r = trials * mixtureRho2(tuneAtTrials, alpha);
  return Math.sqrt((1 + 1 / r) * Math.log((r + 1) / (alpha * alpha)));
}

function invalidCounts(r: RateCounts, arm: string): string | null {
  const ok = Number.isFinite(r.events) && Number.isFinite(r.trials) && r.events >= 0 && r.trials >= 0 && r.events <= r.trials;
  return ok ? null : `inconsistent ${arm} counts: ${r.events} events out of ${r.trials} trials`;
}

function formatNumber(v: number): string {
  return String(Number(v.toPrecision(4)));
}
