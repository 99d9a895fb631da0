/**
 * Seeded metric streams for bench/judges.ts: what a 1% canary of 10,000 nodes and the 9,900
 * baseline nodes report, one step (10 s) at a time, for one rollout.
 *
 * Model (one step, each arm):
 * - requests ~ Poisson(nodes × rps × step), sampled by its normal approximation (mean = variance
 *   = 100,000 for the canary, 9.9 million for the baseline: the approximation error is far below
 *   anything a judge can see);
 * - errors ~ Binomial(requests, p) through Rng.binomial: the normal approximation with mean n·p
 *   and variance n·p·(1 − p) (n·p = 100 canary errors per step at 0.1%; Poisson inversion below 20);
 * - latency: log-normal with the simulator's defaults (median 20 ms, p99 200 ms), binned on
 *   LATENCY_BUCKETS_MS as a multinomial (sequential binomials, as the simulator does). A
 *   latency regression multiplies every latency by `latencyScale` (1.2: the true p99 moves from
 *   200 ms to 240 ms).
 * The baseline is always healthy; the canary carries the change from the first step. Nothing
 * else varies: no diurnal drift, no per-node overdispersion, no scrape gaps (see the document's
 * "limits" for what that favours).
 */
import { LATENCY_BUCKETS_MS, normalCdf } from '@failsmall/core';
import { Rng } from '@failsmall/sim';

export const STEP_S = 10;
export const FLEET_NODES = 10_000;
export const CANARY_NODES = 100; // 1% of 10,000
export const BASELINE_NODES = FLEET_NODES - CANARY_NODES;
export const RPS_PER_NODE = 100;
export const BASELINE_ERROR_RATE = 0.001;
export const LATENCY_MEDIAN_MS = 20; // packages/sim SCENARIO_DEFAULTS.traffic
export const LATENCY_P99_MS = 200;
export const NB = LATENCY_BUCKETS_MS.length + 1; // buckets incl. +Inf

const SIGMA = Math.log(LATENCY_P99_MS / LATENCY_MEDIAN_MS) / 2.3263478740408408;

export interface Scenario {
  readonly key: string;
  readonly errorRate: number;
  readonly latencyScale: number;
}

export const HEALTHY: Scenario = { key: 'healthy', errorRate: BASELINE_ERROR_RATE, latencyScale: 1 };
export const REGRESSIONS: readonly Scenario[] = [
  { key: 'error_1.5x', errorRate: 1.5 * BASELINE_ERROR_RATE, latencyScale: 1 },
  { key: 'error_2x', errorRate: 2 * BASELINE_ERROR_RATE, latencyScale: 1 },
  { key: 'error_10x', errorRate: 10 * BASELINE_ERROR_RATE, latencyScale: 1 },
  { key: 'latency_p99_+20pct', errorRate: BASELINE_ERROR_RATE, latencyScale: 1.2 },
];

/** P(latency ≤ x ms) for the log-normal scaled by `scale`. */
export function latencyCdf(x: number, scale: number): number {
  if (x <= 0) return 0;
  return normalCdf((Math.log(x / scale) - Math.log(LATENCY_MEDIAN_MS)) / SIGMA);
}

/** The probability of each bucket (LATENCY_BUCKETS_MS, then +Inf). */
export function bucketProbabilities(scale: number): number[] {
  const out: number[] = [];
  let below = 0;
  for (const bound of LATENCY_BUCKETS_MS) {
    const c = latencyCdf(bound, scale);
    out.push(c - below);
    below = c;
  }
  out.push(1 - below);
  return out;
}

/** One arm's counters per step: requests, errors, and NB latency bucket counts per step. */
export interface Arm {
  readonly requests: Float64Array; // [step]
  readonly errors: Float64Array; // [step]
  readonly buckets: Float64Array; // [step * NB + bucket]
}

export interface Stream {
  readonly steps: number;
  readonly canary: Arm;
  readonly baseline: Arm;
}

function sampleArm(rng: Rng, steps: number, nodes: number, errorRate: number, probs: readonly number[]): Arm {
  const requests = new Float64Array(steps);
  const errors = new Float64Array(steps);
  const buckets = new Float64Array(steps * NB);
  const mean = nodes * RPS_PER_NODE * STEP_S;
  for (let s = 0; s < steps; s++) {
    const n = rng.count(mean, mean);
    requests[s] = n;
    errors[s] = rng.binomial(n, errorRate);
    // Multinomial by sequential binomials: bucket k gets Binomial(remaining, p_k / P(not yet placed)).
    let remaining = n;
    let rest = 1;
    for (let k = 0; k < NB - 1 && remaining > 0; k++) {
      const p = probs[k] ?? 0;
      const c = p <= 0 ? 0 : rng.binomial(remaining, Math.min(1, p / rest));
      buckets[s * NB + k] = c;
      remaining -= c;
      rest -= p;
    }
    buckets[s * NB + NB - 1] = remaining;
  }
  return { requests, errors, buckets };
}

/**
 * The stream of one rollout. Every judge reads the same arrays; the seed, the scenario's index
 * and the run number fix them.
 */
export function makeStream(seed: number, scenarioIndex: number, run: number, steps: number, scenario: Scenario): Stream {
  const rng = new Rng(seed, scenarioIndex * 1_000_003 + run);
  const canary = sampleArm(rng, steps, CANARY_NODES, scenario.errorRate, bucketProbabilities(scenario.latencyScale));
  const baseline = sampleArm(rng, steps, BASELINE_NODES, BASELINE_ERROR_RATE, bucketProbabilities(1));
  return { steps, canary, baseline };
}

/** Sums of an arm over steps [from, to). */
export interface Window {
  requests: number;
  errors: number;
  buckets: number[];
}

export function windowSum(arm: Arm, from: number, to: number): Window {
  const w: Window = { requests: 0, errors: 0, buckets: new Array<number>(NB).fill(0) };
  for (let s = Math.max(0, from); s < to; s++) {
    w.requests += arm.requests[s] ?? 0;
    w.errors += arm.errors[s] ?? 0;
    for (let k = 0; k < NB; k++) w.buckets[k] = (w.buckets[k] ?? 0) + (arm.buckets[s * NB + k] ?? 0);
  }
  return w;
}
