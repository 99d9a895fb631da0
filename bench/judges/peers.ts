/**
 * Every peer twice (issue 10 part 2): as its documentation shows it (`flagger`, `argo`,
 * `kayenta`), and tuned to failsmall's tolerance at the common interval (`*_tuned`). Tuned keeps
 * each peer's documented structure (Flagger's threshold, Argo's failureLimit, Kayenta's same-size
 * baseline and minimum of points) and changes only the cadence and the tolerance:
 *   errors ≤ 1.2 × the baseline rate (0.12%), the same relative allowance as failsmall's gate;
 *   p99 ≤ the p99 reading when 1.2% of requests are above the healthy p99 (every latency ×1.071),
 *   the same allowance as failsmall's latency gate. Fixed thresholds are set from the service's
 *   healthy baseline (0.1%, p99 reading 235 ms), as a user would; they do not follow the live baseline.
 *
 * Upstream sources (commit read for each; line numbers at that commit):
 * - Flagger fluxcd/flagger @ 15bd6ad5 (2026-07-21):
 *   docs/gitbook/usage/how-it-works.md:25-38: `analysis: interval: 1m, threshold: 10`;
 *     `request-success-rate thresholdRange.min: 99, interval: 1m`; `request-duration
 *     thresholdRange.max: 500, interval: 1m`;
 *   pkg/apis/flagger/v1beta1/canary.go:654-660: GetAnalysisThreshold, default 1 when unset;
 *   pkg/controller/scheduler.go:429-439 (rollback when FailedChecks >= threshold, checked first at
 *     every tick), 447-458 (first tick: weight 0 and 0 iterations, pre-rollout hooks only, no
 *     metric check), 461-467 and 752-774 (runAnalysis: a failed metric adds one failed check).
 * - Argo Rollouts argoproj/argo-rollouts @ 9f8d111d (2026-08-17):
 *   docs/features/analysis.md:74-96: the `success-rate` AnalysisTemplate, `interval: 5m`,
 *     `successCondition: result[0] >= 0.95`, `failureLimit: 3`, query `sum(irate(...[5m]))`;
 *     docs/features/analysis.md:26-30: "If the metric is measured to be less than 95%, and there
 *     are three such measurements, the analysis is considered Failed" (the code fails at the
 *     fourth: Failed > failureLimit);
 *   analysis/analysis.go:662-670 (Failed > failureLimit), 681-685 (consecutive errors >
 *     consecutiveErrorLimit); utils/defaults/defaults.go:37 (DefaultConsecutiveErrorLimit 4);
 *   metricproviders/prometheus/prometheus.go:156-183 (a vector result is evaluated as an array:
 *     an empty one cannot satisfy `result[0] >= 0.95` and errors).
 * - Kayenta spinnaker/kayenta @ a69573be (2025-04-08):
 *   kayenta-judge/.../NetflixACAJudge.scala:104 (direction default "either"), 122-124
 *     (effectSize allowedIncrease/allowedDecrease, default 1.0), 146 (MannWhitneyClassifier
 *     tolerance 0.25, confLevel 0.98);
 *   kayenta-judge/.../classifiers/metric/MannWhitneyClassifier.scala:108-141 (High: lower
 *     confidence bound > 0.25 × |estimate| and effect size ≥ allowedIncrease), 150-175 (no data,
 *     identical data, one distinct value: Pass);
 *   kayenta-mannwhitney/.../MannWhitney.scala:58-78 (the statistic, with tie correction), 80-103
 *     (the interval's root search).
 * - Spinnaker, "Best practices for configuring canary"
 *   (https://spinnaker.io/docs/guides/user/canary/best-practices/): "always compare the canary
 *   against an equivalent baseline, deployed at the same time ... Same size of deployment";
 *   "You need at least 50 pieces of time series data per metric"; "a canary lifetime of 3 hours,
 *   an interval of 1 hour" (3 runs); marginal: "If a canary run has a score below ... the whole
 *   canary fails", pass: "The last canary run ... must score higher". The values: marginal 75, pass 90, as in
 *   argoproj/argo-rollouts docs/analysis/kayenta.md:66-68 (the best practices give none). With
 *   two metrics in one group a score is 0, 50 or 100, so any pass in (50, 100] and marginal in
 *   (50, 100] behave alike: one metric not passing fails the canary.
 */
import { argoJudge, flaggerJudge, kayentaJudge, oracleJudge, p99Reading, SAME_SIZE_BASELINE, type Judge } from './rules.ts';
import { ALLOWED_LATENCY_SCALE, ALLOWED_RELATIVE, BASELINE_ERROR_RATE, bucketProbabilities, STEP_S, type Scenario } from './streams.ts';

/** What histogram_quantile(0.99) reads on a healthy window (≈ 235 ms), and at failsmall's latency allowance. */
export const P99_HEALTHY_MS = p99Reading(bucketProbabilities(1));
export const P99_TUNED_MS = p99Reading(bucketProbabilities(ALLOWED_LATENCY_SCALE));
export const MAX_ERROR_TUNED = (1 + ALLOWED_RELATIVE) * BASELINE_ERROR_RATE;

const MIN = 60 / STEP_S; // steps per minute

export const FLAGGER_DOCS = { intervalSteps: MIN, windowSteps: MIN, maxErrorRate: 1 - 99 / 100, maxP99Ms: 500, threshold: 10 } as const;
export const ARGO_DOCS = {
  // interval 5m; irate(...[5m]) uses the last two samples, one minute apart at Prometheus' default
  // scrape_interval (1m): each measurement sees the last minute. The docs have no latency metric:
  // it gets Flagger's documented 500 ms.
  intervalSteps: 5 * MIN, windowSteps: MIN, maxErrorRate: 1 - 0.95, maxP99Ms: 500, failureLimit: 3, consecutiveErrorLimit: 4,
} as const;
export const KAYENTA_DOCS = {
  // step 10 s (the streams' resolution) and an analysis every 10 minutes over the 30-minute stage:
  // the best practice's 3 runs, each with at least 50 points (60, 120, 180); Spinnaker's default
  // step of 60 s would give 10 points in the first run. direction "either", effect sizes 1.0.
  pointSteps: 1, intervalSteps: 10 * MIN, minPoints: 50, direction: 'either' as const, allowedIncreaseError: 1, allowedIncreaseLatency: 1, marginal: 75, pass: 90,
} as const;

/** Analysis times: every `every` steps from the first with `minPoints` points, and the end of the lifetime. */
function analysisTimes(every: number, first: number, lifetime: number): number[] {
  const out: number[] = [];
  for (let e = Math.ceil(first / every) * every; e <= lifetime; e += every) out.push(e);
  if (out[out.length - 1] !== lifetime) out.push(lifetime);
  return out;
}

export type JudgeName = 'failsmall' | 'oracle' | 'flagger' | 'flagger_tuned' | 'argo' | 'argo_tuned' | 'kayenta' | 'kayenta_tuned';
export const PEERS: readonly JudgeName[] = ['flagger', 'flagger_tuned', 'argo', 'argo_tuned', 'kayenta', 'kayenta_tuned'];

/** The peers' judges for a stage of `steps`, tuned ones at the common interval `intervalSteps`. */
export function peerJudges(intervalSteps: number, steps: number): Record<string, Judge> {
  return {
    flagger: flaggerJudge(FLAGGER_DOCS),
    flagger_tuned: flaggerJudge({ ...FLAGGER_DOCS, intervalSteps, maxErrorRate: MAX_ERROR_TUNED, maxP99Ms: P99_TUNED_MS }),
    argo: argoJudge(ARGO_DOCS),
    argo_tuned: argoJudge({ ...ARGO_DOCS, intervalSteps, maxErrorRate: MAX_ERROR_TUNED, maxP99Ms: P99_TUNED_MS }),
    kayenta: kayentaJudge({ ...KAYENTA_DOCS, baselineArm: SAME_SIZE_BASELINE, analysisSteps: analysisTimes(KAYENTA_DOCS.intervalSteps, KAYENTA_DOCS.intervalSteps, steps) }),
    kayenta_tuned: kayentaJudge({
      ...KAYENTA_DOCS, baselineArm: SAME_SIZE_BASELINE, direction: 'increase',
      allowedIncreaseError: 1 + ALLOWED_RELATIVE, allowedIncreaseLatency: P99_TUNED_MS / P99_HEALTHY_MS,
      analysisSteps: analysisTimes(intervalSteps, KAYENTA_DOCS.minPoints * KAYENTA_DOCS.pointSteps, steps),
    }),
  };
}

/** The oracle on a scenario: p1 the truth, p0 the allowance's edge (see rules.ts oracleJudge). */
export function oracleFor(sc: Scenario, intervalSteps: number, alpha: number): Judge {
  const allowedError = 1 + ALLOWED_RELATIVE;
  return oracleJudge({
    intervalSteps, alpha, p0: allowedError * BASELINE_ERROR_RATE,
    p1Error: (sc.errorMultiplier > allowedError ? sc.errorMultiplier : 1.5) * BASELINE_ERROR_RATE,
    latency0: ALLOWED_LATENCY_SCALE, latency1: sc.latencyScale > ALLOWED_LATENCY_SCALE ? sc.latencyScale : 1.2,
  });
}
