import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { histogramQuantile, LATENCY_BUCKETS_MS } from '../src/gates/index.ts';
import { histogramCountAbove, latencyExceedance } from '../src/stats/index.ts';

const BUCKETS = LATENCY_BUCKETS_MS.length + 1;

/** A histogram with `count` observations in the bucket whose upper bound is `upperMs` (Infinity for +Inf). */
function at(upperMs: number, count: number): number[] {
  const h = new Array<number>(BUCKETS).fill(0);
  const i = upperMs === Number.POSITIVE_INFINITY ? BUCKETS - 1 : LATENCY_BUCKETS_MS.indexOf(upperMs);
  h[i] = count;
  return h;
}

describe('latency exceedance of the baseline p99', () => {
  it('interpolates linearly inside a bucket', () => {
    // By hand: 100 observations spread over (50, 100] ms; 87.5 ms is 3/4 of the way, so 25 lie above.
    assert.equal(histogramCountAbove(at(100, 100), 87.5), 25);
    assert.equal(histogramCountAbove(at(100, 100), 50), 100);
    assert.equal(histogramCountAbove(at(100, 100), 100), 0);
    assert.equal(histogramCountAbove(at(100, 100), 20), 100);
    // The first bucket starts at 0 ms: (0, 1] with threshold 0.5 leaves half above.
    assert.equal(histogramCountAbove(at(1, 10), 0.5), 5);
  });

  it('counts everything in the +Inf bucket as slow', () => {
    assert.equal(histogramCountAbove(at(Number.POSITIVE_INFINITY, 7), 10_000), 7);
    assert.equal(histogramCountAbove(at(Number.POSITIVE_INFINITY, 7), 20_000), 7);
  });

  it('leaves exactly 1 − q of the baseline above its own q-quantile, as histogramQuantile interpolates (property)', () => {
    const histogram = fc.array(fc.nat({ max: 100_000 }), { minLength: BUCKETS, maxLength: BUCKETS });
    fc.assert(fc.property(histogram, fc.double({ min: 0.01, max: 0.999, noNaN: true }), (h, q) => {
      const total = h.reduce((a, b) => a + b, 0);
      const t = histogramQuantile(q, h);
      if (t === null) return;
      const above = histogramCountAbove(h, t);
      const inInf = h[BUCKETS - 1] ?? 0;
      // When the quantile falls in the +Inf bucket, histogramQuantile reports the last bound and all of that bucket is above.
      if (q * total > total - inInf) assert.equal(above, inInf);
      else assert.ok(Math.abs(above - (1 - q) * total) <= 1e-6 * Math.max(1, total), `${above} vs ${(1 - q) * total}`);
    }), { seed: 31, numRuns: 1000 });
  });

  it('finds a slower canary a regression and an identical one within the allowance', () => {
    const baseline = [0, 0, 1000, 5000, 20_000, 40_000, 25_000, 7000, 1500, 400, 80, 15, 5, 0].map((x) => x * 100);
    const same = baseline.map((x) => x / 100);
    const slow = [0, 0, 500, 3000, 15_000, 40_000, 28_000, 9000, 3000, 1000, 300, 40, 10, 0];
    const ok = latencyExceedance({ canary: same, baseline, allowed: { relative: 0.5 }, alpha: 0.01, tuneAtTrials: 50_000 });
    assert.equal(ok.verdict, 'ok');
    assert.ok(ok.threshold_ms !== null && Math.abs(ok.threshold_ms - 416.6666666666667) < 1e-9);
    assert.ok(Math.abs(ok.baseline_exceedance.events - 0.01 * ok.baseline_exceedance.trials) < 1e-6);
    const bad = latencyExceedance({ canary: slow, baseline, allowed: { relative: 0.5 }, alpha: 0.01, tuneAtTrials: 50_000 });
    assert.equal(bad.verdict, 'regression');
    assert.match(bad.reason, /^share of canary requests slower than the baseline p99 \(416.7 ms\) regressed: canary 2.35% vs baseline 1%/);
  });

  it('is undecided without baseline data or canary data', () => {
    const empty = new Array<number>(BUCKETS).fill(0);
    const some = at(100, 1000);
    const noBaseline = latencyExceedance({ canary: some, baseline: empty, allowed: {}, alpha: 0.01 });
    assert.equal(noBaseline.verdict, 'undecided');
    assert.equal(noBaseline.threshold_ms, null);
    assert.match(noBaseline.reason, /no baseline data/);
    assert.equal(latencyExceedance({ canary: empty, baseline: some, allowed: {}, alpha: 0.01 }).verdict, 'undecided');
  });
});
