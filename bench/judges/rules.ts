/**
 * The peers' judges and the oracle for bench/judges.ts. Each takes one rollout (streams.ts
 * RunData) and returns the time of its rollback decision in seconds since the canary started, or
 * null if it never rolls back within the stream. The rules are reproduced from the peers' source;
 * the file and line of each is cited where it is used (commits in docs/benchmarks.md, figure 5).
 * Their configurations (docs and tuned) are in peers.ts; failsmall's judge is in failsmall.ts.
 */
import { histogramQuantile, LATENCY_BUCKETS_MS, waldSprt } from '@failsmall/core';
import { classify, KAYENTA_DEFAULT_METRIC, type Direction } from './kayenta.ts';
import { K, LUMP_BOUND_MS, LUMP_INDEX, NB, STEP_S, latencyCdf, type RunData } from './streams.ts';

export type Judge = (d: RunData) => number | null;

/** Arms of RunData's sums. */
export const CANARY = 0, BASELINE = 1, SAME_SIZE_BASELINE = 2;

/** p99 readings that fell into the lumped ≤ 25 ms bucket (the sampling shortcut would show there; it stays 0). */
export const lumped = { reads: 0 };

export interface Reading { readonly requests: number; readonly errorRate: number | null; readonly p99: number | null }

const bucketScratch = new Array<number>(NB).fill(0);

/** An arm's counters over steps [from, to), read as a Prometheus query over that window would. */
export function read(d: RunData, arm: number, from: number, to: number): Reading {
  const S1 = d.steps + 1;
  const a = Math.max(0, from), b = Math.min(d.steps, to);
  if (b <= a) return { requests: 0, errorRate: null, p99: null };
  const requests = (d.aggReq[arm * S1 + b] ?? 0) - (d.aggReq[arm * S1 + a] ?? 0);
  const errors = (d.aggErr[arm * S1 + b] ?? 0) - (d.aggErr[arm * S1 + a] ?? 0);
  const ob = (arm * S1 + b) * K, oa = (arm * S1 + a) * K;
  for (let i = 0; i < LUMP_INDEX; i++) bucketScratch[i] = 0;
  for (let k = 0; k < K; k++) bucketScratch[LUMP_INDEX + k] = (d.aggLat[ob + k] ?? 0) - (d.aggLat[oa + k] ?? 0);
  const p99 = histogramQuantile(0.99, bucketScratch);
  if (p99 !== null && p99 <= LUMP_BOUND_MS) lumped.reads++;
  return { requests, errorRate: requests > 0 ? errors / requests : null, p99 };
}

// ── Flagger ──────────────────────────────────────────────────────────────────────────────────

export interface FlaggerConfig {
  /** analysis.interval, in steps. */
  readonly intervalSteps: number;
  /** The metrics' `interval` (the PromQL range), in steps. */
  readonly windowSteps: number;
  /** request-success-rate thresholdRange.min, as the largest passing error rate (1 − min/100). */
  readonly maxErrorRate: number;
  /** request-duration thresholdRange.max, ms (the P99 of the window). */
  readonly maxP99Ms: number;
  /** analysis.threshold. */
  readonly threshold: number;
}

/**
 * Flagger's analysis loop (fluxcd/flagger pkg/controller/scheduler.go, advanceCanary):
 * - every `analysis.interval` the scheduler first rolls back when `FailedChecks >=
 *   GetAnalysisThreshold()` (scheduler.go:429-439);
 * - on the first tick the canary has weight 0 and 0 iterations: it runs the pre-rollout hooks and
 *   shifts the first traffic step, with no metric check (scheduler.go:447-458);
 * - on later ticks runAnalysis (scheduler.go:461, 752-774) runs the builtin metric checks; the
 *   first metric out of its thresholdRange, or with no data ("no values found" is an error),
 *   fails the tick and FailedChecks goes up by one (scheduler.go:462). Passing ticks do not reset it.
 * So the rollback comes one interval after the threshold-th failed check.
 */
export function flaggerJudge(c: FlaggerConfig): Judge {
  return (d) => {
    let failed = 0;
    for (let tick = 1, e = c.intervalSteps; e <= d.steps; tick++, e += c.intervalSteps) {
      if (failed >= c.threshold) return e * STEP_S;
      if (tick === 1) continue;
      const r = read(d, CANARY, e - c.windowSteps, e);
      if (r.errorRate === null || r.p99 === null || r.errorRate > c.maxErrorRate || r.p99 > c.maxP99Ms) failed++;
    }
    return null;
  };
}

// ── Argo Rollouts ────────────────────────────────────────────────────────────────────────────

export interface ArgoConfig {
  /** The metrics' `interval`, in steps. */
  readonly intervalSteps: number;
  /** The range the query reads, in steps. */
  readonly windowSteps: number;
  /** successCondition `result[0] >= x` on the success rate, as the largest passing error rate (1 − x). */
  readonly maxErrorRate: number;
  /** The latency metric's successCondition, `result[0] <= maxP99Ms`. */
  readonly maxP99Ms: number;
  readonly failureLimit: number;
  readonly consecutiveErrorLimit: number;
}

/**
 * An Argo Rollouts AnalysisRun with two metrics (success rate and p99), each measured when the
 * run starts and then every `interval` (argoproj/argo-rollouts analysis/analysis.go). A
 * measurement that misses its successCondition is Failed; the metric, and the run, fail when
 * Failed > failureLimit (analysis.go:662-670). A query with no data returns an empty vector and
 * `result[0]` cannot be evaluated: the measurement is an Error, and the run errors only when
 * consecutive errors exceed consecutiveErrorLimit (default 4: utils/defaults/defaults.go:37;
 * analysis.go:681-685). A failed or errored AnalysisRun aborts the rollout.
 */
export function argoJudge(c: ArgoConfig): Judge {
  return (d) => {
    let failedErr = 0, failedLat = 0, consecutiveErrors = 0;
    for (let e = 0; e <= d.steps; e += c.intervalSteps) {
      const r = read(d, CANARY, e - c.windowSteps, e);
      if (r.errorRate === null || r.p99 === null) {
        if (++consecutiveErrors > c.consecutiveErrorLimit) return e * STEP_S;
        continue;
      }
      consecutiveErrors = 0;
      if (r.errorRate > c.maxErrorRate) failedErr++;
      if (r.p99 > c.maxP99Ms) failedLat++;
      if (failedErr > c.failureLimit || failedLat > c.failureLimit) return e * STEP_S;
    }
    return null;
  };
}

// ── Kayenta ──────────────────────────────────────────────────────────────────────────────────

export interface KayentaConfig {
  /** The steps (stage time) at which an analysis runs; each judges all points since the start. */
  readonly analysisSteps: readonly number[];
  /** The metrics' resolution (`step`), in stream steps. */
  readonly pointSteps: number;
  /** The arm the canary is compared with: the same-size baseline, or the whole baseline. */
  readonly baselineArm: number;
  readonly direction: Direction;
  /** effectSize.allowedIncrease per metric (mean ratio canary/baseline). */
  readonly allowedIncreaseError: number;
  readonly allowedIncreaseLatency: number;
  readonly marginal: number;
  readonly pass: number;
}

/**
 * Spinnaker's canary stage driving Kayenta: every canary analysis interval it judges all points
 * since the start (lookbackMins 0), two metrics in one group (error rate per point, p99 per
 * point); a score below `marginal` fails the canary at once, and the last analysis must reach
 * `pass` (Spinnaker "Best practices for configuring canary": "If a canary run has a score below
 * ... marginal, then the whole canary fails"; "The last canary run ... must score higher than
 * [pass]"). The judge is NetflixACAJudge's (kayenta.ts).
 */
export function kayentaJudge(c: KayentaConfig): Judge {
  const errCfg = { ...KAYENTA_DEFAULT_METRIC, direction: c.direction, allowedIncrease: c.allowedIncreaseError };
  const latCfg = { ...KAYENTA_DEFAULT_METRIC, direction: c.direction, allowedIncrease: c.allowedIncreaseLatency };
  const last = c.analysisSteps[c.analysisSteps.length - 1] ?? 0;
  return (d) => {
    const pts = Math.floor(Math.min(d.steps, last) / c.pointSteps);
    const ce: number[] = [], be: number[] = [], cl: number[] = [], bl: number[] = [];
    for (let i = 0; i < pts; i++) {
      const from = i * c.pointSteps, to = from + c.pointSteps;
      const cr = read(d, CANARY, from, to), br = read(d, c.baselineArm, from, to);
      ce.push(cr.errorRate ?? Number.NaN); be.push(br.errorRate ?? Number.NaN);
      cl.push(cr.p99 ?? Number.NaN); bl.push(br.p99 ?? Number.NaN);
    }
    for (const e of c.analysisSteps) {
      if (e > d.steps) break;
      const n = Math.floor(e / c.pointSteps);
      if (n < 1) continue;
      let passing = 0;
      if (classify(ce.slice(0, n), be.slice(0, n), errCfg) === 'Pass') passing++;
      if (classify(cl.slice(0, n), bl.slice(0, n), latCfg) === 'Pass') passing++;
      const score = (100 * passing) / 2;
      if (score < c.marginal || (e === last && score < c.pass)) return e * STEP_S;
    }
    return null;
  };
}

// ── the oracle ───────────────────────────────────────────────────────────────────────────────

/**
 * The latency bucket bound whose exceedance best separates scale `s0` from `s1` (largest KL per
 * request), among the bounds the streams sample exactly (≥ 25 ms).
 */
export function oracleLatencyBound(s0: number, s1: number): { bound: number; index: number; p0: number; p1: number } {
  let best = { bound: 0, index: 0, p0: 0, p1: 0, kl: -1 };
  LATENCY_BUCKETS_MS.forEach((bound, index) => {
    if (bound < LUMP_BOUND_MS) return;
    const p0 = 1 - latencyCdf(bound, s0);
    const p1 = 1 - latencyCdf(bound, s1);
    if (!(p0 > 0 && p1 > p0 && p1 < 1)) return;
    const kl = p1 * Math.log(p1 / p0) + (1 - p1) * Math.log((1 - p1) / (1 - p0));
    if (kl > best.kl) best = { bound, index, p0, p1, kl };
  });
  return { bound: best.bound, index: best.index, p0: best.p0, p1: best.p1 };
}

/**
 * Wald's SPRT (waldSprt in core) knowing the true rates, on the canary's cumulative counts,
 * looked at every interval. It tests the same question as failsmall's gates, within the
 * allowance or not: errors p0 = 1.2 × the baseline rate against p1 = the true regressed rate;
 * latency on the share of requests above the bound that best separates the allowance's edge
 * (×1.071: 1.2% above the healthy p99) from the true regressed scale. On healthy runs (and for
 * the metric a scenario leaves alone) p1 is the benchmark's smallest regression (1.5×, ×1.2).
 * Each test stops at its first boundary: accepting H0 ends that test.
 */
export function oracleJudge(c: { intervalSteps: number; alpha: number; p0: number; p1Error: number; latency0: number; latency1: number }): Judge {
  const err = waldSprt({ p0: c.p0, p1: c.p1Error, alpha: c.alpha, beta: c.alpha });
  const lb = oracleLatencyBound(c.latency0, c.latency1);
  const lat = waldSprt({ p0: lb.p0, p1: lb.p1, alpha: c.alpha, beta: c.alpha });
  const fromK = lb.index - LUMP_INDEX + 1; // sampled buckets strictly above the bound
  return (d) => {
    const S1 = d.steps + 1;
    let errOpen = true, latOpen = true;
    for (let e = c.intervalSteps; e <= d.steps; e += c.intervalSteps) {
      const req = d.aggReq[CANARY * S1 + e] ?? 0;
      if (errOpen) {
        const v = err.decide(d.aggErr[CANARY * S1 + e] ?? 0, req);
        if (v === 'regression') return e * STEP_S;
        if (v === 'ok') errOpen = false;
      }
      if (latOpen) {
        let above = 0;
        for (let k = fromK; k < K; k++) above += d.aggLat[(CANARY * S1 + e) * K + k] ?? 0;
        const v = lat.decide(above, req);
        if (v === 'regression') return e * STEP_S;
        if (v === 'ok') latOpen = false;
      }
      if (!errOpen && !latOpen) return null;
    }
    return null;
  };
}

/** The p99 histogram_quantile reads on a window with the expected bucket shares at `scale`. */
export function p99Reading(bucketProbs: readonly number[]): number {
  return histogramQuantile(0.99, bucketProbs) ?? Number.NaN;
}
