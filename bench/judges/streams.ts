/**
 * Seeded metric streams for bench/judges.ts, simulated node by node (issue 10, part 2).
 *
 * Every node (m canary nodes, then M baseline nodes) is simulated on its own, one 10-second step
 * at a time, for the stage (30 minutes by default), and also over the 30 minutes before the
 * rollout began (its `history`, on the old version). Per step and node:
 * - requests ~ Poisson(rps × 10 s × the node's traffic weight × the diurnal traffic factor), by
 *   its normal approximation (mean 1,000: the approximation error is far below what any judge sees);
 * - errors ~ Binomial(requests, p) through Rng.binomial (Poisson inversion at these means), with
 *   p = 0.1% × the node's own error multiplier (its persistent heterogeneity, in its history too)
 *   × the diurnal error factor × the change's multiplier (canary nodes only); during one of the
 *   node's 10-second bursts p = 20%;
 * - latency: log-normal (median 20 ms, p99 200 ms) × the node's own latency scale × the diurnal
 *   factor × the change's scale, binned on LATENCY_BUCKETS_MS as a multinomial (sequential
 *   binomials). To save time only the buckets above 25 ms are sampled exactly; every request at
 *   or below 25 ms is counted in the 25 ms bucket (the lower buckets are 0). No judge reads
 *   below 25 ms: histogram_quantile(0.99) needs only the buckets around the 99th percentile
 *   (100–250 ms, and at least 40% of requests lie above 25 ms), failsmall's latency gate counts
 *   requests above the baseline p99, and the oracle's exceedance bound is searched among the
 *   bounds ≥ 25 ms (it picks 25 ms). `lumpedQuantileReads` counts any p99 read in the lumped
 *   bucket, and the benchmark reports it (it has been 0).
 * The history is sampled as totals over its 30 minutes (a node's history is one ModuleCounters),
 * from the same node-level rate, latency scale, bursts and diurnal shape as the node has.
 *
 * A run's counters are kept cumulative, node by node, so that a judge reads any node's counters
 * since the stage began at any step, any window as a difference, and any subset of nodes
 * (Kayenta's same-size baseline is the first m baseline nodes: the nodes are exchangeable).
 */
import { LATENCY_BUCKETS_MS, normalCdf, normalQuantile } from '@failsmall/core';
import { Rng } from '@failsmall/sim';

export const STEP_S = 10;
export const RPS_PER_NODE = 100;
export const BASELINE_ERROR_RATE = 0.001;
export const LATENCY_MEDIAN_MS = 20; // packages/sim SCENARIO_DEFAULTS.traffic
export const LATENCY_P99_MS = 200;
export const NB = LATENCY_BUCKETS_MS.length + 1; // buckets incl. +Inf
export const HISTORY_STEPS = 180; // 30 minutes before the rollout
/** Buckets at or below this bound are lumped into it (see the header). */
export const LUMP_BOUND_MS = 25;
export const LUMP_INDEX = LATENCY_BUCKETS_MS.indexOf(LUMP_BOUND_MS);
/** The buckets sampled per node-step: the lumped ≤ 25 ms one, then every bucket above it, +Inf last. */
export const K = NB - LUMP_INDEX;
/** 10-second error bursts: a node's error rate during one. */
export const BURST_ERROR_RATE = 0.2;
/** The delayed stream: per-node delay 10–40 s, per-step jitter 0–20 s, 2% of node-steps lost. */
export const DELAY = { minSteps: 1, maxSteps: 4, jitterSteps: 2, lossShare: 0.02 } as const;

const SIGMA = Math.log(LATENCY_P99_MS / LATENCY_MEDIAN_MS) / 2.3263478740408408;

if (LUMP_INDEX < 0) throw new Error('LATENCY_BUCKETS_MS has no 25 ms bound');

/** One stream's shape: what kind of real data it stands for. */
export interface StreamSpec {
  readonly key: string;
  readonly description: string;
  readonly canaryNodes: number;
  /** Persistent per-node error-rate heterogeneity (mean 1). */
  readonly errorSpread?: { readonly dist: 'gamma' | 'lognormal'; readonly cv: number };
  /** Persistent per-node latency scale: exp(N(0, sd²)). */
  readonly latencyLogSd?: number;
  /** Each node has a 10-second burst of 20% errors, at random, once every this many hours on average. */
  readonly burstEveryHours?: number;
  /** Traffic follows a daily curve (both arms, and the history), and the error rate and latency with it. */
  readonly diurnal?: boolean;
  /** Data arrives late and unevenly per node; some node-steps never arrive (DELAY). */
  readonly delayed?: boolean;
  /** Share of nodes silent for the whole stage (their history is there). */
  readonly silentShare?: number;
  /** Share of nodes serving 10× the rps. */
  readonly heavyShare?: number;
  /** Per-node drift of the error rate and latency scale between the history and the stage (both arms). */
  readonly drift?: { readonly errorLogSd: number; readonly latencyLogSd: number };
  /** The SPRT oracle runs on this stream (it knows the true rates: only on the binomial stream). */
  readonly oracle?: boolean;
}

/** The change the canary carries. Healthy scenarios are inside the policy's allowance. */
export interface Scenario {
  readonly key: string;
  readonly errorMultiplier: number;
  readonly latencyScale: number;
  readonly healthy: boolean;
}

/**
 * The latency scale at which `share` of requests are slower than the healthy p99 (1% at scale 1):
 * 1.15% → ×1.054, 1.2% → ×1.071.
 */
export function scaleForShareAboveP99(share: number): number {
  return Math.exp(SIGMA * (2.3263478740408408 - normalQuantile(1 - share)));
}

/** failsmall's allowance, relative: 1.2× the baseline's errors, 1.2% of requests above its p99. */
export const ALLOWED_RELATIVE = 0.2;
export const EDGE_ERROR = 1.15;
export const EDGE_LATENCY_SCALE = scaleForShareAboveP99(0.0115);
export const ALLOWED_LATENCY_SCALE = scaleForShareAboveP99(0.01 * (1 + ALLOWED_RELATIVE));

export const HEALTHY: readonly Scenario[] = [
  { key: 'healthy_1x', errorMultiplier: 1, latencyScale: 1, healthy: true },
  { key: 'healthy_edge', errorMultiplier: EDGE_ERROR, latencyScale: EDGE_LATENCY_SCALE, healthy: true },
];
export const REGRESSIONS: readonly Scenario[] = [
  { key: 'error_1.5x', errorMultiplier: 1.5, latencyScale: 1, healthy: false },
  { key: 'error_2x', errorMultiplier: 2, latencyScale: 1, healthy: false },
  { key: 'error_10x', errorMultiplier: 10, latencyScale: 1, healthy: false },
  { key: 'latency_p99_+20pct', errorMultiplier: 1, latencyScale: 1.2, healthy: false },
];
export const SCENARIOS: readonly Scenario[] = [...HEALTHY, ...REGRESSIONS];

/** The benchmark's streams (the held-out ones are in held-out.ts). */
export const STREAMS: readonly StreamSpec[] = [
  { key: 'binomial', description: 'pure binomial/multinomial noise, identical nodes', canaryNodes: 5, oracle: true },
  { key: 'bursty', description: 'per-node 10 s bursts of 20% errors, one per node every ~14 h', canaryNodes: 5, burstEveryHours: 14 },
  { key: 'node-spread', description: '5 canary nodes; per-node error rates with CV 0.5 (gamma), in their history too', canaryNodes: 5, errorSpread: { dist: 'gamma', cv: 0.5 } },
  { key: 'node-spread-20', description: '20 canary nodes; per-node error rates with CV 0.5 (gamma)', canaryNodes: 20, errorSpread: { dist: 'gamma', cv: 0.5 } },
  { key: 'latency-spread', description: '5 canary nodes; per-node latency scale, log sd 0.1', canaryNodes: 5, latencyLogSd: 0.1 },
  { key: 'diurnal', description: 'daily traffic curve (×0.5–×1.5) on both arms and in the history; errors ∝ load, latency ∝ load^0.25', canaryNodes: 5, diurnal: true },
  { key: 'delayed', description: 'metrics pipeline delay: each node 10–40 s late, 0–20 s jitter per step, 2% of node-steps lost', canaryNodes: 5, delayed: true },
];

// ── latency bucket probabilities ─────────────────────────────────────────────────────────────

/** P(latency ≤ x ms) for the log-normal scaled by `scale`. */
export function latencyCdf(x: number, scale: number): number {
  if (x <= 0) return 0;
  return normalCdf((Math.log(x / scale) - Math.log(LATENCY_MEDIAN_MS)) / SIGMA);
}

/** The probability of each of the NB buckets (LATENCY_BUCKETS_MS, then +Inf). */
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

/**
 * Conditional probabilities for sequential binomial sampling of the K sampled buckets: entry k is
 * P(bucket k | not in buckets < k). Cached by scale (0.025% resolution on log scale).
 */
const condCache = new Map<number, Float64Array>();
function conditionalProbs(scale: number): Float64Array {
  const key = Math.round(Math.log(scale) * 4000);
  let c = condCache.get(key);
  if (c) return c;
  const s = Math.exp(key / 4000);
  const p = bucketProbabilities(s);
  const q = new Array<number>(K).fill(0);
  for (let i = 0; i <= LUMP_INDEX; i++) q[0] = (q[0] ?? 0) + (p[i] ?? 0);
  for (let k = 1; k < K; k++) q[k] = p[LUMP_INDEX + k] ?? 0;
  c = new Float64Array(K);
  let rest = 1;
  for (let k = 0; k < K; k++) {
    const qk = q[k] ?? 0;
    c[k] = rest > 0 ? Math.min(1, Math.max(0, qk / rest)) : 0;
    rest -= qk;
  }
  condCache.set(key, c);
  return c;
}

/** Expands K sampled buckets into the NB buckets of LATENCY_BUCKETS_MS (lower ones 0). */
export function expandBuckets(src: Float64Array, offset: number, out: number[]): number[] {
  for (let i = 0; i < LUMP_INDEX; i++) out[i] = 0;
  for (let k = 0; k < K; k++) out[LUMP_INDEX + k] = src[offset + k] ?? 0;
  return out;
}

// ── one run ──────────────────────────────────────────────────────────────────────────────────

/**
 * One rollout: every node's counters, cumulative since the stage began (index node × (S+1) + t
 * holds the sum over steps [0, t)), their histories, and the sums over three node sets:
 * arm 0 the canary, arm 1 the whole baseline, arm 2 the first m baseline nodes (Kayenta's
 * same-size baseline).
 */
export interface RunData {
  readonly steps: number;
  readonly m: number;
  readonly M: number;
  readonly req: Float64Array;
  readonly err: Float64Array;
  /** ((node × (S+1)) + t) × K + k */
  readonly lat: Float64Array;
  readonly histReq: Float64Array;
  readonly histErr: Float64Array;
  readonly histLat: Float64Array;
  /** arm × (S+1) + t; lat: (arm × (S+1) + t) × K + k */
  readonly aggReq: Float64Array;
  readonly aggErr: Float64Array;
  readonly aggLat: Float64Array;
}

function gamma(rng: Rng, shape: number): number {
  // Marsaglia and Tsang (shape ≥ 1 here: CV ≤ 1).
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do { x = rng.normal(); v = 1 + c * x; } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function poisson(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  if (mean >= 30) return rng.count(mean, mean);
  const l = Math.exp(-mean);
  let k = 0;
  let prod = rng.next();
  while (prod > l) { k++; prod *= rng.next(); }
  return k;
}

function errorMultiplier(rng: Rng, spread: StreamSpec['errorSpread']): number {
  if (!spread) return 1;
  if (spread.dist === 'gamma') { const shape = 1 / (spread.cv * spread.cv); return gamma(rng, shape) / shape; }
  const s2 = Math.log(1 + spread.cv * spread.cv);
  return Math.exp(Math.sqrt(s2) * rng.normal() - s2 / 2);
}

const DAY_S = 86_400;

/** Scratch buffers, reused across runs of one worker. */
let scratch: { n: number; s: number; data: RunData; stepReq: Float64Array; stepErr: Float64Array; stepLat: Float64Array } | null = null;

function buffers(nodes: number, steps: number, m: number, M: number): RunData & { stepReq: Float64Array; stepErr: Float64Array; stepLat: Float64Array } {
  if (!scratch || scratch.n !== nodes || scratch.s !== steps || scratch.data.m !== m) {
    const S1 = steps + 1;
    scratch = {
      n: nodes, s: steps,
      data: {
        steps, m, M,
        req: new Float64Array(nodes * S1), err: new Float64Array(nodes * S1), lat: new Float64Array(nodes * S1 * K),
        histReq: new Float64Array(nodes), histErr: new Float64Array(nodes), histLat: new Float64Array(nodes * K),
        aggReq: new Float64Array(3 * S1), aggErr: new Float64Array(3 * S1), aggLat: new Float64Array(3 * S1 * K),
      },
      stepReq: new Float64Array(steps), stepErr: new Float64Array(steps), stepLat: new Float64Array(steps * K),
    };
  }
  return { ...scratch.data, stepReq: scratch.stepReq, stepErr: scratch.stepErr, stepLat: scratch.stepLat };
}

/**
 * Simulates one rollout of `spec` with the canary carrying `scenario`. The same (seed, stream,
 * scenario, run) gives the same counters. The returned arrays are reused by the next call.
 */
export function simulateRun(spec: StreamSpec, scenario: Scenario, seed: number, streamIndex: number, scenarioIndex: number, run: number, steps: number, baselineNodes: number): RunData {
  const rng = new Rng(seed, ((streamIndex * 97 + scenarioIndex) * 1_000_003 + run) >>> 0);
  const m = spec.canaryNodes;
  const M = baselineNodes;
  const N = m + M;
  const S = steps;
  const S1 = S + 1;
  const b = buffers(N, S, m, M);
  const { req, err, lat, histReq, histErr, histLat, stepReq, stepErr, stepLat } = b;

  // Diurnal factors, by step, for the stage (0..S-1) and the history (-H..-1).
  const H = HISTORY_STEPS;
  const phase = spec.diurnal ? rng.next() * DAY_S : 0;
  const traffic = (s: number) => (spec.diurnal ? 1 + 0.5 * Math.sin((2 * Math.PI * (s * STEP_S + phase)) / DAY_S) : 1);
  const trafficAt = new Float64Array(S);
  const latAt = new Float64Array(S);
  for (let s = 0; s < S; s++) { trafficAt[s] = traffic(s); latAt[s] = Math.pow(trafficAt[s] ?? 1, 0.25); }
  let histTraffic = 0, histErrWeight = 0, histLatScale = 0;
  for (let s = -H; s < 0; s++) { const t = traffic(s); histTraffic += t; histErrWeight += t * t; histLatScale += Math.pow(t, 0.25); }
  histLatScale /= H;
  const burstP = spec.burstEveryHours ? (STEP_S / (spec.burstEveryHours * 3600)) : 0;
  const tmpBuckets = new Float64Array(K);

  for (let n = 0; n < N; n++) {
    const canary = n < m;
    const w = spec.heavyShare && rng.next() < spec.heavyShare ? 10 : 1;
    const r0 = errorMultiplier(rng, spec.errorSpread);
    const l0 = spec.latencyLogSd ? Math.exp(spec.latencyLogSd * rng.normal()) : 1;
    let r = r0, l = l0;
    if (spec.drift) {
      const e = spec.drift.errorLogSd, d = spec.drift.latencyLogSd;
      r *= Math.exp(e * rng.normal() - (e * e) / 2);
      l *= Math.exp(d * rng.normal());
    }
    if (canary) { r *= scenario.errorMultiplier; l *= scenario.latencyScale; }
    const silent = spec.silentShare !== undefined && rng.next() < spec.silentShare;
    const mu0 = RPS_PER_NODE * STEP_S * w;

    // History: totals over 30 minutes on the old version (r0, l0; no drift, no change).
    {
      const mu = mu0 * histTraffic;
      const hn = rng.count(mu, mu);
      const pBar = Math.min(1, (BASELINE_ERROR_RATE * r0 * histErrWeight) / histTraffic);
      let he = rng.binomial(hn, pBar);
      const bursts = burstP > 0 ? poisson(rng, burstP * H) : 0;
      for (let i = 0; i < bursts; i++) he += rng.binomial(Math.round(mu0), BURST_ERROR_RATE);
      histReq[n] = hn;
      histErr[n] = Math.min(hn, he);
      sampleBuckets(rng, hn, conditionalProbs(l0 * histLatScale), histLat, n * K);
    }

    // Stage, step by step.
    const base = n * S1;
    const burstSteps = new Set<number>();
    if (burstP > 0) { const k = poisson(rng, burstP * S); for (let i = 0; i < k; i++) burstSteps.add(Math.floor(rng.next() * S)); }
    const fixedCond = spec.diurnal ? null : conditionalProbs(l);
    const into = spec.delayed ? { r: stepReq, e: stepErr, l: stepLat } : null;
    if (into) { into.r.fill(0); into.e.fill(0); into.l.fill(0); }
    let cr = 0, ce = 0;
    const cl = tmpBuckets.fill(0);
    req[base] = 0; err[base] = 0;
    for (let k = 0; k < K; k++) lat[base * K + k] = 0;
    for (let s = 0; s < S; s++) {
      let sr = 0, se = 0;
      const off = s * K;
      if (!silent) {
        const mu = mu0 * (trafficAt[s] ?? 1);
        sr = rng.count(mu, mu);
        const p = burstSteps.has(s) ? BURST_ERROR_RATE : Math.min(1, BASELINE_ERROR_RATE * r * (trafficAt[s] ?? 1));
        se = rng.binomial(sr, p);
        sampleBuckets(rng, sr, fixedCond ?? conditionalProbs(l * (latAt[s] ?? 1)), stepLat, off);
      } else {
        for (let k = 0; k < K; k++) stepLat[off + k] = 0;
      }
      if (into) { stepReq[s] = sr; stepErr[s] = se; continue; }
      cr += sr; ce += se;
      req[base + s + 1] = cr; err[base + s + 1] = ce;
      const o = (base + s + 1) * K;
      for (let k = 0; k < K; k++) { cl[k] = (cl[k] ?? 0) + (stepLat[off + k] ?? 0); lat[o + k] = cl[k] ?? 0; }
    }
    if (into) {
      // Re-time each step's counts to when they arrive; lost ones never do.
      const vr = new Float64Array(S), ve = new Float64Array(S), vl = new Float64Array(S * K);
      const delay = DELAY.minSteps + Math.floor(rng.next() * (DELAY.maxSteps - DELAY.minSteps + 1));
      for (let s = 0; s < S; s++) {
        if (rng.next() < DELAY.lossShare) continue;
        const at = s + delay + Math.floor(rng.next() * (DELAY.jitterSteps + 1));
        if (at >= S) continue;
        vr[at] = (vr[at] ?? 0) + (stepReq[s] ?? 0); ve[at] = (ve[at] ?? 0) + (stepErr[s] ?? 0);
        for (let k = 0; k < K; k++) vl[at * K + k] = (vl[at * K + k] ?? 0) + (stepLat[s * K + k] ?? 0);
      }
      for (let s = 0; s < S; s++) {
        cr += vr[s] ?? 0; ce += ve[s] ?? 0;
        req[base + s + 1] = cr; err[base + s + 1] = ce;
        const o = (base + s + 1) * K;
        for (let k = 0; k < K; k++) { cl[k] = (cl[k] ?? 0) + (vl[s * K + k] ?? 0); lat[o + k] = cl[k] ?? 0; }
      }
    }
  }

  // Sums over the three node sets.
  const { aggReq, aggErr, aggLat } = b;
  aggReq.fill(0); aggErr.fill(0); aggLat.fill(0);
  const arms: [number, number, number][] = [[0, 0, m], [1, m, N], [2, m, Math.min(N, 2 * m)]];
  for (const [a, from, to] of arms) {
    for (let n = from; n < to; n++) {
      const base = n * S1;
      for (let t = 0; t < S1; t++) {
        aggReq[a * S1 + t] = (aggReq[a * S1 + t] ?? 0) + (req[base + t] ?? 0);
        aggErr[a * S1 + t] = (aggErr[a * S1 + t] ?? 0) + (err[base + t] ?? 0);
        const o = (a * S1 + t) * K, i = (base + t) * K;
        for (let k = 0; k < K; k++) aggLat[o + k] = (aggLat[o + k] ?? 0) + (lat[i + k] ?? 0);
      }
    }
  }
  return b;
}

/** Multinomial over the K sampled buckets by sequential binomials, into out[offset ..]. */
function sampleBuckets(rng: Rng, n: number, cond: Float64Array, out: Float64Array, offset: number): void {
  let remaining = n;
  for (let k = 0; k < K - 1; k++) {
    const c = remaining > 0 ? rng.binomial(remaining, cond[k] ?? 0) : 0;
    out[offset + k] = c;
    remaining -= c;
  }
  out[offset + K - 1] = remaining;
}
