import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LATENCY_BUCKETS_MS } from '../src/gates/index.ts';
import { latencyExceedance, normalCdf, rateRegression, type AllowedDegradation, type RateVerdict } from '../src/stats/index.ts';
import { binomialDraw, binomialSe, cumulativeLooks, mulberry32, type Arm } from './stats-helpers.ts';

/**
 * Seeded simulations of whole rollouts, looking at the gate after every interval. They check
 * the promise the gates rely on: with the canary exactly at the edge of what is allowed (the
 * hardest null hypothesis), the chance of ever declaring a regression over all the looks stays
 * at or below alpha, and likewise for ever declaring `ok` a canary that is exactly at the edge.
 *
 * Tolerance: an observed rate over N runs has binomial standard error sqrt(α(1 − α)/N); we
 * allow alpha + 3 standard errors, so a correct test fails this check with probability about
 * 0.1% per scenario, and with fixed seeds the outcome is the same on every run anyway.
 */

// The fleet: a 1% canary of 10,000 nodes at 100 rps, one look per 60 s interval.
const CANARY_PER_LOOK = 100 * 100 * 60; // 600,000 requests
const BASELINE_PER_LOOK = 9_900 * 100 * 60; // 59,400,000 requests
const LOOKS = 30;

interface Outcome {
  /** Share of runs that declared a regression at some look. */
  readonly regression: number;
  /** Share of runs that declared `ok` at some look. */
  readonly ok: number;
  /** The look of the first regression, in the runs that had one, sorted. */
  readonly detectLooks: readonly number[];
}

function simulate(canary: Arm, baseline: Arm, runs: number, seed: number, decide: (c: { events: number; trials: number }, b: { events: number; trials: number }) => RateVerdict, looks = LOOKS): Outcome {
  let regressions = 0;
  let oks = 0;
  const detectLooks: number[] = [];
  for (let run = 0; run < runs; run++) {
    const rng = mulberry32(seed * 1_000_003 + run);
    let regressed = false;
    let passed = false;
    for (const s of cumulativeLooks(rng, canary, baseline, looks)) {
      const v = decide(s.canary, s.baseline);
      if (v === 'regression' && !regressed) {
        regressed = true;
        detectLooks.push(s.look);
      }
      if (v === 'ok') passed = true;
    }
    if (regressed) regressions++;
    if (passed) oks++;
  }
  return { regression: regressions / runs, ok: oks / runs, detectLooks: detectLooks.sort((a, b) => a - b) };
}

function gate(allowed: AllowedDegradation, alpha: number, tuneAtTrials: number) {
  return (canary: { events: number; trials: number }, baseline: { events: number; trials: number }) =>
    rateRegression({ canary, baseline, allowed, alpha, tuneAtTrials }).verdict;
}

function limit(alpha: number, runs: number): number {
  return alpha + 3 * binomialSe(alpha, runs);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

describe('sequential rate test under the null hypothesis (seeded simulation)', () => {
  it('keeps false alarms at or below alpha over 30 looks when canary and baseline share a 0.1% error rate', (t) => {
    const runs = 2000;
    const alpha = 0.05;
    const r = simulate({ trialsPerLook: CANARY_PER_LOOK, rate: 0.001 }, { trialsPerLook: BASELINE_PER_LOOK, rate: 0.001 }, runs, 1, gate({}, alpha, CANARY_PER_LOOK));
    t.diagnostic(`no allowance, alpha ${alpha}: false regression ${r.regression}, false ok ${r.ok} over ${runs} runs (limit ${limit(alpha, runs).toFixed(4)})`);
    assert.ok(r.regression <= limit(alpha, runs), `false regression rate ${r.regression}`);
    assert.ok(r.ok <= limit(alpha, runs), `false ok rate ${r.ok}`);
  });

  it('keeps false alarms at or below alpha when the canary sits exactly on a +50% allowance', (t) => {
    const runs = 2000;
    const alpha = 0.05;
    const r = simulate({ trialsPerLook: CANARY_PER_LOOK, rate: 0.0015 }, { trialsPerLook: BASELINE_PER_LOOK, rate: 0.001 }, runs, 2, gate({ relative: 0.5 }, alpha, CANARY_PER_LOOK));
    t.diagnostic(`canary 1.5 × baseline, allowed +50%, alpha ${alpha}: false regression ${r.regression}, false ok ${r.ok}`);
    assert.ok(r.regression <= limit(alpha, runs));
    assert.ok(r.ok <= limit(alpha, runs));
  });

  it('keeps false alarms and false passes at or below alpha with only 5 events per look', (t) => {
    // The regime where a plug-in variance fails: before the boundary-variance guard, 6% of these
    // runs declared `ok` at alpha 0.05.
    const runs = 2000;
    const alpha = 0.05;
    const r = simulate({ trialsPerLook: 1000, rate: 0.005 }, { trialsPerLook: 99_000, rate: 0.005 }, runs, 3, gate({}, alpha, 1000));
    t.diagnostic(`1,000 canary trials per look at 0.5%: false regression ${r.regression}, false ok ${r.ok}`);
    assert.ok(r.regression <= limit(alpha, runs));
    assert.ok(r.ok <= limit(alpha, runs));
  });

  it('keeps both error rates at or below alpha across traffic, rates, allowances and tunings (property)', () => {
    const regime = fc.record({
      rate: fc.double({ min: 1e-4, max: 0.3, noNaN: true }),
      canaryTrials: fc.integer({ min: 30, max: 100_000 }),
      baselineRatio: fc.integer({ min: 1, max: 100 }),
      alpha: fc.constantFrom(0.01, 0.05, 0.1),
      relative: fc.constantFrom(0, 0.5, 1),
      absolute: fc.constantFrom(0, 0.001),
      tuneAtTrials: fc.constantFrom(1000, 10_000, 100_000),
      seed: fc.nat(),
    });
    const runs = 300;
    fc.assert(fc.property(regime, (g) => {
      const edge = Math.min(1, (1 + g.relative) * g.rate + g.absolute);
      const r = simulate({ trialsPerLook: g.canaryTrials, rate: edge }, { trialsPerLook: g.canaryTrials * g.baselineRatio, rate: g.rate }, runs, g.seed,
        gate({ relative: g.relative, absolute: g.absolute }, g.alpha, g.tuneAtTrials), 20);
      assert.ok(r.regression <= limit(g.alpha, runs), `false regression ${r.regression} in ${JSON.stringify(g)}`);
      assert.ok(r.ok <= limit(g.alpha, runs), `false ok ${r.ok} in ${JSON.stringify(g)}`);
    }), { seed: 41, numRuns: 20 });
  });
});

describe('sequential rate test under regressions (seeded simulation)', () => {
  // alpha 0.001 is the target false-rollback rate (at most 1 in 1,000 healthy rollouts).
  const alpha = 0.001;
  const runs = 1000;

  it('detects a 2× error rate regression against a +50% allowance at the first look, and passes a healthy canary', (t) => {
    const bad = simulate({ trialsPerLook: CANARY_PER_LOOK, rate: 0.002 }, { trialsPerLook: BASELINE_PER_LOOK, rate: 0.001 }, runs, 5, gate({ relative: 0.5 }, alpha, CANARY_PER_LOOK), 10);
    const healthy = simulate({ trialsPerLook: CANARY_PER_LOOK, rate: 0.001 }, { trialsPerLook: BASELINE_PER_LOOK, rate: 0.001 }, runs, 6, gate({ relative: 0.5 }, alpha, CANARY_PER_LOOK), 10);
    t.diagnostic(`2×: detected ${bad.regression} within 10 looks, median look ${quantile(bad.detectLooks, 0.5)}, p95 ${quantile(bad.detectLooks, 0.95)}; healthy: false regression ${healthy.regression}, ok ${healthy.ok}`);
    assert.ok(bad.regression >= 0.99);
    assert.ok(bad.ok === 0);
    assert.equal(healthy.regression, 0);
    assert.ok(healthy.ok >= 0.99, 'a healthy canary is shown within the allowance, so the gate may pass early');
  });

  it('detects 1.5× and 10× regressions with a +20% allowance', (t) => {
    for (const factor of [1.5, 10]) {
      const r = simulate({ trialsPerLook: CANARY_PER_LOOK, rate: 0.001 * factor }, { trialsPerLook: BASELINE_PER_LOOK, rate: 0.001 }, runs, 7, gate({ relative: 0.2 }, alpha, CANARY_PER_LOOK), 10);
      t.diagnostic(`${factor}×: detected ${r.regression} within 10 looks, median look ${quantile(r.detectLooks, 0.5)}, p95 ${quantile(r.detectLooks, 0.95)}`);
      assert.ok(r.regression >= 0.99, `${factor}×: ${r.regression}`);
    }
  });
});

describe('latency exceedance of the baseline p99 (seeded simulation)', () => {
  // Latency is log-normal, median 50 ms and σ = 0.6 (p99 ≈ 202 ms); a regression multiplies
  // every latency by 1.2. Each look draws each bucket's count from its binomial (an
  // approximation of the multinomial that is exact in the limit of many buckets of small mass).
  const bucketProbabilities = (scale: number): number[] => {
    const cdf = (ms: number) => normalCdf(Math.log(ms / (50 * scale)) / 0.6);
    return Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => {
      const hi = LATENCY_BUCKETS_MS[i];
      const lo = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
      return (hi === undefined ? 1 : cdf(hi)) - (lo === 0 ? 0 : cdf(lo));
    });
  };
  const run = (scale: number, runs: number, seed: number, allowed: AllowedDegradation, alpha: number, looks: number) => {
    const canaryP = bucketProbabilities(scale);
    const baselineP = bucketProbabilities(1);
    let regressions = 0;
    let oks = 0;
    const detect: number[] = [];
    for (let i = 0; i < runs; i++) {
      const rng = mulberry32(seed * 1_000_003 + i);
      const canary = new Array<number>(canaryP.length).fill(0);
      const baseline = new Array<number>(baselineP.length).fill(0);
      let regressed = false;
      let passed = false;
      for (let look = 1; look <= looks; look++) {
        canaryP.forEach((p, j) => { canary[j] = (canary[j] ?? 0) + binomialDraw(rng, CANARY_PER_LOOK, p); });
        baselineP.forEach((p, j) => { baseline[j] = (baseline[j] ?? 0) + binomialDraw(rng, BASELINE_PER_LOOK, p); });
        const v = latencyExceedance({ canary, baseline, allowed, alpha, tuneAtTrials: CANARY_PER_LOOK }).verdict;
        if (v === 'regression' && !regressed) {
          regressed = true;
          detect.push(look);
        }
        if (v === 'ok') passed = true;
      }
      if (regressed) regressions++;
      if (passed) oks++;
    }
    return { regression: regressions / runs, ok: oks / runs, detect: detect.sort((a, b) => a - b) };
  };

  it('keeps false alarms at or below alpha when the canary is as fast as the baseline', (t) => {
    const runs = 1000;
    const alpha = 0.05;
    const r = run(1, runs, 8, {}, alpha, LOOKS);
    t.diagnostic(`same latency, no allowance, alpha ${alpha}: false regression ${r.regression}, false ok ${r.ok} over ${runs} runs`);
    assert.ok(r.regression <= limit(alpha, runs));
    assert.ok(r.ok <= limit(alpha, runs));
  });

  it('detects a +20% latency regression against a +50% allowance on the exceedance share', (t) => {
    const r = run(1.2, 500, 9, { relative: 0.5 }, 0.001, 10);
    const healthy = run(1, 500, 10, { relative: 0.5 }, 0.001, 10);
    t.diagnostic(`+20% latency: detected ${r.regression} within 10 looks, median look ${quantile(r.detect, 0.5)}; healthy: false regression ${healthy.regression}, ok ${healthy.ok}`);
    assert.ok(r.regression >= 0.99);
    assert.equal(healthy.regression, 0);
  });
});
