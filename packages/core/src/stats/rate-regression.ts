import { contrastConfidenceSequence, rateConfidenceSequence, type RateCounts, type RateInterval } from './rate-confidence-sequence.ts';

export interface AllowedDegradation {
  /** Added to the rate, e.g. 0.001 = 0.1 percentage point. */
  readonly absolute?: number;
  /** A fraction of the baseline rate, e.g. 0.5: the canary may reach 1.5 × the baseline. */
  readonly relative?: number;
}

export interface RateRegressionInput {
  readonly canary: RateCounts;
  readonly baseline: RateCounts;
  readonly allowed: AllowedDegradation;
  /** The probability of a false verdict over all looks. */
  readonly alpha: number;
  /** Canary trials at which the interval is tightest; default 10 000. */
  readonly tuneAtTrials?: number;
  /** Below this many trials in either arm the verdict is `undecided`; default 30. */
  readonly minTrials?: number;
  /** What the rate is, for the reason: "error rate", "load failure rate"; default "rate". */
  readonly label?: string;
}

export type RateVerdict = 'regression' | 'ok' | 'undecided';

export interface RateRegression {
  readonly verdict: RateVerdict;
  /** The confidence sequence of p_canary − p_baseline, for display. */
  readonly interval: RateInterval;
  /** The confidence sequence of the excess over the allowance; the verdict reads this one. */
  readonly excess: RateInterval;
  /** The allowed p_canary − p_baseline at the observed baseline rate (absolute + relative × p̂_baseline); null without a baseline rate. */
  readonly threshold_difference: number | null;
  /** One sentence a human can read. */
  readonly reason: string;
}

/**
 * Canary versus baseline on a rate, decided at any look: `regression`, `ok` or `undecided`.
 *
 * The canary may exceed the baseline by the allowed degradation: p_canary ≤ (1 + relative) ×
 * p_baseline + absolute (both default to 0; when both are given they add, so that `absolute`
 * acts as a floor for baselines near zero). The verdict reads the always-valid confidence
 * sequence of the excess, p_canary − (1 + relative) × p_baseline − absolute:
 * - `regression` when the whole interval lies above 0: the canary is worse than allowed;
 * - `ok` when the whole interval lies below 0: the canary is shown to be no worse than
 *   allowed, which is what lets a gate pass before its bake time ends;
 * - `undecided` otherwise, including whenever the counts are too few to claim anything.
 * Because the sequence covers the excess at every look with probability ≥ 1 − alpha, a canary
 * within the allowance is declared a regression at some look with probability ≤ alpha, however
 * often one looks (and likewise for declaring `ok` a canary that is worse than allowed).
 *
 * Examples
 *   rateRegression({
 *     canary: { events: 1_200, trials: 600_000 },
 *     baseline: { events: 59_400, trials: 59_400_000 },
 *     allowed: { relative: 0.5 },
 *     alpha: 0.01,
 *   }).verdict // 'regression': 0.2% is above 1.5 × 0.1%
 */
export function rateRegression(input: RateRegressionInput): RateRegression {
  const relative = input.allowed.relative ?? 0;
  const absolute = input.allowed.absolute ?? 0;
  if (!(relative >= 0 && Number.isFinite(relative))) throw new RangeError(`allowed.relative must be finite and >= 0, got ${relative}`);
  if (!(absolute >= 0 && absolute < 1)) throw new RangeError(`allowed.absolute must be in [0, 1), got ${absolute}`);
  const common = { canary: input.canary, baseline: input.baseline, alpha: input.alpha, tuneAtTrials: input.tuneAtTrials, minTrials: input.minTrials };
  const interval = rateConfidenceSequence(common);
  const excess = contrastConfidenceSequence({ ...common, baselineWeight: 1 + relative, offset: absolute });
  const pb = interval.baseline_rate;
  const pc = interval.canary_rate;
  const threshold = pb === null ? null : absolute + relative * pb;

  const label = input.label ?? 'rate';
  const confidence = `${formatNumber(100 * (1 - input.alpha))}%`;
  const allowance = describeAllowance(relative, absolute, pb);
  const counts = `${input.canary.trials} canary and ${input.baseline.trials} baseline trials`;
  let verdict: RateVerdict;
  let reason: string;
  if (!excess.sufficient) {
    verdict = 'undecided';
    reason = `${label} is undecided: ${excess.note ?? 'no interval'}`;
  } else {
    const rates = `canary ${formatRate(pc)} vs baseline ${formatRate(pb)} (${allowance})`;
    const band = `${confidence} always-valid interval for the excess over the allowance [${formatPoints(excess.lower)}, ${formatPoints(excess.upper)}]`;
    if (excess.lower > 0) {
      verdict = 'regression';
      reason = `${label} regressed: ${rates}; the ${band} lies wholly above 0, over ${counts}`;
    } else if (excess.upper < 0) {
      verdict = 'ok';
      reason = `${label} is within the allowance: ${rates}; the ${band} lies wholly below 0, over ${counts}`;
    } else {
      verdict = 'undecided';
      reason = `${label} is undecided: ${rates}; the ${band} still contains 0, over ${counts}`;
    }
  }
  return { verdict, interval, excess, threshold_difference: threshold, reason };
}

function describeAllowance(relative: number, absolute: number, pb: number | null): string {
  const limit = pb === null ? '' : `, up to ${formatRate((1 + relative) * pb + absolute)}`;
  if (relative === 0 && absolute === 0) return 'no degradation allowed';
  const parts = [relative > 0 ? `+${formatNumber(100 * relative)}%` : '', absolute > 0 ? `+${formatPoints(absolute).slice(1)}` : ''].filter((s) => s !== '');
  return `allowed ${parts.join(' and ')}${limit}`;
}

/** A rate as a percentage with three significant digits: 0.1% reads "0.100%". */
function formatRate(v: number | null): string {
  if (v === null) return 'no data';
  return v === 0 ? '0%' : `${Number((100 * v).toPrecision(3))}%`;
}

/** A difference of rates in percentage points, signed. */
function formatPoints(v: number): string {
  const s = v === 0 ? '0' : String(Number((100 * Math.abs(v)).toPrecision(3)));
  return `${v < 0 ? '−' : '+'}${s} pts`;
}

function formatNumber(v: number): string {
  return String(Number(v.toPrecision(4)));
}
