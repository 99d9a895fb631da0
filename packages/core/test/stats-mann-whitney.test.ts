import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mannWhitneyU } from '../src/stats/index.ts';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} != ${expected} (tol ${tol})`);
}

/** Independent reference: enumerate every way to split the pooled values into groups of n_a and n_b. */
function bruteForceTwoSided(a: readonly number[], b: readonly number[]): { u: number; p: number } {
  const pooled = [...a, ...b];
  const uOf = (mask: number) => {
    let u = 0;
    for (let i = 0; i < pooled.length; i++) {
      if (!(mask & (1 << i))) continue;
      for (let j = 0; j < pooled.length; j++) {
        if (mask & (1 << j)) continue;
        const x = pooled[i] ?? 0;
        const y = pooled[j] ?? 0;
        u += x > y ? 1 : x === y ? 0.5 : 0;
      }
    }
    return u;
  };
  const observed = uOf((1 << a.length) - 1);
  let below = 0;
  let above = 0;
  let total = 0;
  for (let mask = 0; mask < 1 << pooled.length; mask++) {
    let bits = 0;
    for (let m = mask; m; m &= m - 1) bits++;
    if (bits !== a.length) continue;
    const u = uOf(mask);
    total++;
    if (u <= observed) below++;
    if (u >= observed) above++;
  }
  return { u: observed, p: Math.min(1, (2 * Math.min(below, above)) / total) };
}

describe('Mann-Whitney U', () => {
  it('gives p = 0.1 for two separated samples of three (worked by hand)', () => {
    // By hand: U of a = 0; of the C(6, 3) = 20 equally likely splits, one gives U = 0 and
    // one U = 9, so the exact two-sided p = 2/20 = 0.1. Normal approximation: mean 4.5,
    // variance 3·3·7/12 = 5.25, z = (0 + 0.5 − 4.5)/√5.25 = −1.745743, p = 2Φ(−1.745743) =
    // 0.0808556 (scipy 1.17.1 mannwhitneyu(method='asymptotic'): 0.08085559837005224).
    const r = mannWhitneyU([1, 2, 3], [4, 5, 6]);
    assert.equal(r.u, 0);
    assert.equal(r.method, 'exact');
    close(r.p, 0.1, 1e-15);
    close(r.z, -1.7457431218879391, 1e-12);
    close(mannWhitneyU([1, 2, 3], [4, 5, 6], { exact: 'never' }).p, 0.08085559837005224, 1e-12);
  });

  it('reproduces the textbook example of Hollander & Wolfe (1973, p. 69), as in R\'s ?wilcox.test', () => {
    // R: wilcox.test(x, y, alternative = "greater") gives W = 35, p-value = 0.1272, so the
    // two-sided exact p is 0.2544; scipy 1.17.1 gives 0.2544122544122544 (exact) and
    // 0.24462360512698333 (asymptotic, continuity-corrected).
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    const exact = mannWhitneyU(x, y);
    assert.equal(exact.u, 35);
    assert.equal(exact.method, 'exact');
    close(exact.p, 0.2544122544122544, 1e-12);
    const normal = mannWhitneyU(x, y, { exact: 'never' });
    close(normal.p, 0.24462360512698333, 1e-12);
    assert.ok(normal.z > 0, 'x tends to be larger');
  });

  it('corrects the variance for ties and uses the normal approximation', () => {
    // Pooled ranks: 1 | 2,2,2 → 3 | 3,3,3,3 → 6.5 | 4,4 → 9.5 | 5 → 11. R_a = 1 + 2·3 + 3·6.5 = 26.5,
    // U = 26.5 − 21 = 5.5; Σ(t³ − t) = 24 + 60 + 6 = 90; variance = 30/12 · (12 − 90/110) = 27.954545;
    // z = (5.5 − 15 + 0.5)/√27.954545 = −1.702222, p = 0.0887137
    // (scipy 1.17.1 asymptotic: 0.08871369199677616).
    const r = mannWhitneyU([1, 2, 2, 3, 3, 3], [2, 3, 4, 4, 5]);
    assert.equal(r.u, 5.5);
    assert.equal(r.method, 'normal');
    close(r.z, -1.7022223637379919, 1e-12);
    close(r.p, 0.08871369199677616, 1e-12);
  });

  it('counts the exact distribution for samples up to 49 each', () => {
    // scipy 1.17.1 mannwhitneyu(method='exact') on the same data: U = 1176, p = 0.8652103571528106.
    const a = Array.from({ length: 49 }, (_, i) => 2 * i + 0.5);
    const b = Array.from({ length: 49 }, (_, i) => 2 * i + 1.7);
    const r = mannWhitneyU(a, b);
    assert.equal(r.method, 'exact');
    assert.equal(r.u, 1176);
    close(r.p, 0.8652103571528106, 1e-12);
    assert.equal(mannWhitneyU([...a, 200], b).method, 'normal', '50 values: normal approximation');
  });

  it('agrees with brute-force enumeration on small samples, ties or not (property)', () => {
    const sample = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(sample, sample, (a, b) => {
      const r = mannWhitneyU(a, b);
      const ref = bruteForceTwoSided(a, b);
      assert.equal(r.u, ref.u);
      // With ties we use the normal approximation, as R and scipy do; without, the exact p.
      if (r.method === 'exact') close(r.p, ref.p, 1e-12);
    }), { seed: 21, numRuns: 300 });
  });

  it('is symmetric and always gives p in [0, 1] (property)', () => {
    const sample = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 80 });
    fc.assert(fc.property(sample, sample, (a, b) => {
      const ab = mannWhitneyU(a, b);
      const ba = mannWhitneyU(b, a);
      assert.equal(ab.u + ba.u, a.length * b.length);
      close(ab.p, ba.p, 1e-12);
      assert.ok(ab.p >= 0 && ab.p <= 1 && Number.isFinite(ab.z));
    }), { seed: 22, numRuns: 300 });
  });

  it('treats an empty sample or all-equal values as no evidence, and drops NaN', () => {
    assert.equal(mannWhitneyU([], [1, 2]).p, 1);
    const tied = mannWhitneyU([5, 5, 5], [5, 5]);
    assert.equal(tied.p, 1);
    assert.equal(tied.z, 0);
    const withNaN = mannWhitneyU([1, 2, Number.NaN, 3], [4, 5, 6]);
    assert.equal(withNaN.n_a, 3);
    close(withNaN.p, 0.1, 1e-15);
  });
});
