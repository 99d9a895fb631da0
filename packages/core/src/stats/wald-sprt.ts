export interface WaldSprtOptions {
  /** The healthy rate. */
  readonly p0: number;
  /** The regressed rate. */
  readonly p1: number;
  /** The probability of declaring a regression under p0. */
  readonly alpha: number;
  /** The probability of accepting p0 under p1. */
  readonly beta: number;
}

export type SprtDecision = 'regression' | 'ok' | 'undecided';

export interface WaldSprt {
  /** A = ln((1 − β)/α): at or above it, accept H1 (regression). */
  readonly upper: number;
  /** B = ln(β/(1 − α)): at or below it, accept H0 (ok). */
  readonly lower: number;
  /** The LLR added by one event, ln(p1/p0). */
  readonly eventWeight: number;
  /** The LLR added by one trial without an event, ln((1 − p1)/(1 − p0)). */
  readonly trialWeight: number;
  /** The cumulative log-likelihood ratio ln(L1/L0) of the counts. */
  llr(events: number, trials: number): number;
  /** The decision on cumulative counts. The test stops at its first crossing: the caller keeps that decision. */
  decide(events: number, trials: number): SprtDecision;
}

/**
 * Wald's sequential probability ratio test for one rate with both hypotheses known:
 * H0: p = p0 (healthy) against H1: p = p1 (regressed). It is the oracle of the judges'
 * benchmark: by the Wald–Wolfowitz theorem (1948) no test with the same error rates needs
 * fewer trials on average under either hypothesis, so no judge that must estimate the rates
 * can detect faster on average.
 *
 * The log-likelihood ratio after `events` out of `trials` is
 *   events · ln(p1/p0) + (trials − events) · ln((1 − p1)/(1 − p0)),
 * and the test stops at Wald's (1945) boundaries A = ln((1 − β)/α) (accept H1) and
 * B = ln(β/(1 − α)) (accept H0). Wald's bounds are approximations that ignore the overshoot:
 * the realised error rates are at most about α/(1 − β) and β/(1 − α).
 *
 * The returned functions are pure: feed them cumulative counts. Parameters are
 * configuration, not data: invalid ones throw a RangeError.
 *
 * Examples
 *   const sprt = waldSprt({ p0: 0.001, p1: 0.002, alpha: 0.05, beta: 0.05 });
 *   sprt.upper                    // 2.944438979 (= ln 19)
 *   sprt.decide(1_200, 600_000)   // 'regression'
 *   sprt.decide(600, 600_000)     // 'ok'
 */
export function waldSprt(options: WaldSprtOptions): WaldSprt {
  const { p0, p1, alpha, beta } = options;
  for (const [name, v] of [['p0', p0], ['p1', p1], ['alpha', alpha], ['beta', beta]] as const) {
    if (!(v > 0 && v < 1)) throw new RangeError(`${name} must be in (0, 1), got ${v}`);
  }
  if (p0 === p1) throw new RangeError('p0 and p1 must differ');
  if (alpha + beta >= 1) throw new RangeError(`alpha + beta must be < 1, got ${alpha + beta}`);
  const upper = Math.log((1 - beta) / alpha);
  const lower = Math.log(beta / (1 - alpha));
  const eventWeight = Math.log(p1 / p0);
  const trialWeight = Math.log((1 - p1) / (1 - p0));
  const llr = (events: number, trials: number): number => events * eventWeight + (trials - events) * trialWeight;
  return {
    upper, lower, eventWeight, trialWeight, llr,
    decide(events, trials) {
      const l = llr(events, trials);
      return l >= upper ? 'regression' : l <= lower ? 'ok' : 'undecided';
    },
  };
}
