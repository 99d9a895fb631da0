/**
 * The judges of bench/judges.ts. Each takes one rollout's stream and returns the time of its
 * rollback decision in seconds since the canary started, or null if it never decides to roll
 * back within the stream. Sources of every rule and default are cited where they are used.
 */
import { evaluateGate, histogramQuantile, waldSprt, type GateSpec, type MetricAggregate } from '@failsmall/core';
import { classify, KAYENTA_DEFAULT_METRIC, type Direction } from './kayenta.ts';
import { CANARY_NODES, NB, STEP_S, bucketProbabilities, latencyCdf, windowSum, type Arm, type Stream } from './streams.ts';
import { LATENCY_BUCKETS_MS } from '@failsmall/core';

export type Judge = (s: Stream) => number | null;

function aggregate(requests: number, errors: number, buckets: readonly number[], nodes: number): MetricAggregate {
  return { requests, errors, loads_attempted: 0, loads_succeeded: 0, latency_buckets: buckets, counters: {}, nodes };
}

// ── failsmall: the real gate code ────────────────────────────────────────────────────────────

export interface FailsmallConfig {
  readonly intervalSteps: number;
  readonly allowedErrorRelative: number;
  readonly allowedLatencyRelative: number;
  readonly alpha: number;
  readonly minSamples: number;
}

export function failsmallGates(c: FailsmallConfig): { error: GateSpec; latency: GateSpec } {
  const common = {
    module: 'proxy', direction: 'max' as const, threshold: 0, window_ms: 0, min_samples: c.minSamples, min_coverage: 0.9,
    compare: 'baseline' as const, alpha: c.alpha, on_no_data: 'extend' as const,
  };
  return {
    error: { ...common, name: 'proxy/error_rate', metric: 'error_rate', allowed_degradation: { relative: c.allowedErrorRelative } },
    latency: { ...common, name: 'proxy/latency_p99', metric: 'latency_p99', allowed_degradation: { relative: c.allowedLatencyRelative } },
  };
}

/**
 * failsmall's gates through `evaluateGate` (packages/core/src/gates/evaluate.ts), fed what the
 * engine feeds them for compare: baseline: the counters since the stage started, canary and
 * baseline. Either gate failing rolls back.
 */
export function failsmallJudge(c: FailsmallConfig): Judge {
  const gates = failsmallGates(c);
  return (s) => {
    const cb = new Array<number>(NB).fill(0);
    const bb = new Array<number>(NB).fill(0);
    let cr = 0, ce = 0, br = 0, be = 0;
    for (let step = 0; step < s.steps; step++) {
      cr += s.canary.requests[step] ?? 0; ce += s.canary.errors[step] ?? 0;
      br += s.baseline.requests[step] ?? 0; be += s.baseline.errors[step] ?? 0;
      for (let k = 0; k < NB; k++) {
        cb[k] = (cb[k] ?? 0) + (s.canary.buckets[step * NB + k] ?? 0);
        bb[k] = (bb[k] ?? 0) + (s.baseline.buckets[step * NB + k] ?? 0);
      }
      const e = step + 1;
      if (e % c.intervalSteps !== 0) continue;
      const windowMs = e * STEP_S * 1000;
      const obs = {
        cohort: aggregate(cr, ce, [...cb], CANARY_NODES), cohortNodes: CANARY_NODES,
        baseline: aggregate(br, be, [...bb], 9_900), windowMs,
      };
      for (const g of [gates.error, gates.latency]) {
        if (evaluateGate(g, 'canary', obs, windowMs).status === 'fail') return e * STEP_S;
      }
    }
    return null;
  };
}

// ── threshold judges: Flagger and Argo Rollouts ──────────────────────────────────────────────

export interface ThresholdConfig {
  /** Evaluation cadence, in steps. */
  readonly intervalSteps: number;
  /** The metric query's window, in steps (Flagger's metric `interval`, the range of Argo's PromQL). */
  readonly windowSteps: number;
  /** Largest passing error rate (Flagger: 1 − thresholdRange.min/100; Argo: 1 − the successCondition bound). */
  readonly maxErrorRate: number;
  /** Largest passing p99 in ms, read with histogram_quantile over the window. */
  readonly maxP99Ms: number;
}

interface Reading { readonly errorRate: number | null; readonly p99: number | null }

function read(arm: Arm, from: number, to: number): Reading {
  const w = windowSum(arm, from, to);
  return { errorRate: w.requests > 0 ? w.errors / w.requests : null, p99: histogramQuantile(0.99, w.buckets) };
}

/**
 * Flagger's analysis loop (fluxcd/flagger pkg/controller/scheduler.go, advanceCanary): each
 * `analysis.interval` the scheduler first rolls back if `canary.Status.FailedChecks >=
 * analysis.threshold`, then runs the metric checks; the first metric out of its thresholdRange
 * (or returning no data: "no values found" is an error, counted as a failed check) increments
 * FailedChecks once. Failed checks are not reset by later successful ones. So the rollback
 * happens at the run after the threshold-th failed check.
 */
export function flaggerJudge(c: ThresholdConfig & { readonly threshold: number }): Judge {
  return (s) => {
    let failed = 0;
    for (let e = c.intervalSteps; e <= s.steps; e += c.intervalSteps) {
      if (failed >= c.threshold) return e * STEP_S;
      const r = read(s.canary, e - c.windowSteps, e);
      const bad = r.errorRate === null || r.p99 === null || r.errorRate > c.maxErrorRate || r.p99 > c.maxP99Ms;
      if (bad) failed++;
    }
    return null;
  };
}

/**
 * An Argo Rollouts AnalysisRun with two metrics (success rate and p99), each measured every
 * `interval` with only a successCondition: a measurement that does not meet it is Failed
 * (docs/features/analysis.md: "If the metric is measured to be less than 95% ... the analysis
 * is considered Failed"). A metric fails when failed measurements > failureLimit (default 0,
 * so the first failed measurement aborts); inconclusiveLimit (default 0) and
 * consecutiveErrorLimit (default 4) never trigger here: with only a successCondition no
 * measurement is Inconclusive, and the streams have no provider errors.
 */
export function argoJudge(c: ThresholdConfig & { readonly failureLimit: number }): Judge {
  return (s) => {
    let failedErr = 0;
    let failedLat = 0;
    for (let e = c.intervalSteps; e <= s.steps; e += c.intervalSteps) {
      const r = read(s.canary, e - c.windowSteps, e);
      // A NaN or empty result fails a `result >= x` condition too.
      if (r.errorRate === null || r.errorRate > c.maxErrorRate) failedErr++;
      if (r.p99 === null || r.p99 > c.maxP99Ms) failedLat++;
      if (failedErr > c.failureLimit || failedLat > c.failureLimit) return e * STEP_S;
    }
    return null;
  };
}

// ── Kayenta ──────────────────────────────────────────────────────────────────────────────────

export interface KayentaConfig {
  /** How often an analysis runs (canaryAnalysisIntervalMins), in steps; null: once, at the end of the lifetime. */
  readonly intervalSteps: number | null;
  /** The metrics' resolution (`step`), in stream steps. */
  readonly pointSteps: number;
  /** The lifetime, in steps (the canary stage's lifetime). */
  readonly lifetimeSteps: number;
  readonly direction: Direction;
  readonly marginal: number;
  readonly pass: number;
}

/**
 * Spinnaker's canary stage driving Kayenta (orca KayentaCanaryStage / Kayenta docs "How canary
 * judgment works"): every `canaryAnalysisInterval` it judges all points since the start
 * (lookbackMins 0: a growing window); a score below `marginal` fails the canary at once; the
 * final analysis must reach `pass`. Two metrics (error rate, p99 per point) in one group.
 */
export function kayentaJudge(c: KayentaConfig): Judge {
  const cfg = { ...KAYENTA_DEFAULT_METRIC, direction: c.direction };
  return (s) => {
    const pts = Math.floor(Math.min(s.steps, c.lifetimeSteps) / c.pointSteps);
    const ce: number[] = [], be: number[] = [], cl: number[] = [], bl: number[] = [];
    for (let i = 0; i < pts; i++) {
      const from = i * c.pointSteps, to = from + c.pointSteps;
      const cr = read(s.canary, from, to), br = read(s.baseline, from, to);
      ce.push(cr.errorRate ?? Number.NaN); be.push(br.errorRate ?? Number.NaN);
      cl.push(cr.p99 ?? Number.NaN); bl.push(br.p99 ?? Number.NaN);
    }
    const last = Math.min(s.steps, c.lifetimeSteps);
    const times = c.intervalSteps === null ? [last] : Array.from({ length: Math.floor(last / c.intervalSteps) }, (_, i) => (i + 1) * c.intervalSteps!);
    for (const e of times) {
      const n = Math.floor(e / c.pointSteps);
      if (n < 1) continue;
      let passing = 0;
      if (classify(ce.slice(0, n), be.slice(0, n), cfg) === 'Pass') passing++;
      if (classify(cl.slice(0, n), bl.slice(0, n), cfg) === 'Pass') passing++;
      const score = (100 * passing) / 2;
      const isLast = e >= c.lifetimeSteps;
      if (score < c.marginal || (isLast && score < c.pass)) return e * STEP_S;
    }
    return null;
  };
}

// ── the oracle ───────────────────────────────────────────────────────────────────────────────

/** The latency bucket bound whose exceedance best separates healthy from `scale` (largest KL per request). */
export function oracleLatencyBound(scale: number): { bound: number; index: number; p0: number; p1: number } {
  let best = { bound: 0, index: 0, p0: 0, p1: 0, kl: -1 };
  LATENCY_BUCKETS_MS.forEach((bound, index) => {
    const p0 = 1 - latencyCdf(bound, 1);
    const p1 = 1 - latencyCdf(bound, scale);
    if (!(p0 > 0 && p1 > p0 && p1 < 1)) return;
    const kl = p1 * Math.log(p1 / p0) + (1 - p1) * Math.log((1 - p1) / (1 - p0));
    if (kl > best.kl) best = { bound, index, p0, p1, kl };
  });
  return { bound: best.bound, index: best.index, p0: best.p0, p1: best.p1 };
}

/**
 * Wald's SPRT (waldSprt in core) with the true rates, on the canary's cumulative counts, looked
 * at on the same cadence as the other judges: errors against p0 = the baseline rate, p1 = the
 * true regressed rate; latency on the share of requests above the bucket bound that best
 * separates the healthy and regressed distributions, with both true shares. Each test stops at
 * its first boundary: accepting H0 ends that test (no later alarm).
 */
export function oracleJudge(c: { intervalSteps: number; alpha: number; p0: number; p1Error: number; latencyScale: number }): Judge {
  const err = waldSprt({ p0: c.p0, p1: c.p1Error, alpha: c.alpha, beta: c.alpha });
  const lb = oracleLatencyBound(c.latencyScale);
  const lat = waldSprt({ p0: lb.p0, p1: lb.p1, alpha: c.alpha, beta: c.alpha });
  return (s) => {
    let req = 0, errors = 0, above = 0;
    let errOpen = true, latOpen = true;
    for (let step = 0; step < s.steps; step++) {
      req += s.canary.requests[step] ?? 0;
      errors += s.canary.errors[step] ?? 0;
      for (let k = lb.index + 1; k < NB; k++) above += s.canary.buckets[step * NB + k] ?? 0;
      const e = step + 1;
      if (e % c.intervalSteps !== 0) continue;
      if (errOpen) {
        const d = err.decide(errors, req);
        if (d === 'regression') return e * STEP_S;
        if (d === 'ok') errOpen = false;
      }
      if (latOpen) {
        const d = lat.decide(above, req);
        if (d === 'regression') return e * STEP_S;
        if (d === 'ok') latOpen = false;
      }
      if (!errOpen && !latOpen) return null;
    }
    return null;
  };
}

/** The p99 histogram_quantile reads on a healthy window (expected bucket shares). */
export function healthyP99Reading(scale = 1): number {
  return histogramQuantile(0.99, bucketProbabilities(scale)) ?? Number.NaN;
}
