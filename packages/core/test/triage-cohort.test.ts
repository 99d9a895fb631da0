import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cohortConcentration, twoProportionZ } from '../src/triage/cohort.ts';
import type { CohortErrors } from '../src/triage/index.ts';

/** One window of cohort counts: `with` and `without` as [nodes, requests, errors]. */
function split(w: [number, number, number], o: [number, number, number], baseline = 0.001): CohortErrors {
  return {
    rollout: 'r-1', version: 'v2', baseline,
    samples: [{ at_ms: 1000, with_version: { nodes: w[0], requests: w[1], errors: w[2] }, without_version: { nodes: o[0], requests: o[1], errors: o[2] } }],
  };
}
const read = (c: CohortErrors) => {
  const r = cohortConcentration(c, 0, 2000);
  assert.ok(r.ok, r.ok ? '' : r.why);
  return r.reading;
};

describe('cohorts, tested', () => {
  it('computes the two-proportion z of textbook counts', () => {
    // 60/1000 against 40/1000: pooled p = 0.05, se = √(0.05·0.95·0.002) ≈ 0.009747, z ≈ 2.052.
    assert.ok(Math.abs(twoProportionZ(60, 1000, 40, 1000) - 2.052) < 0.001);
    assert.equal(twoProportionZ(0, 1000, 0, 1000), 0);
    assert.equal(twoProportionZ(5, 0, 5, 100), 0);
  });

  it('calls errors concentrated only when the difference is significant', () => {
    const bad = read(split([10, 100_000, 3_000], [990, 9_900_000, 9_900]));
    assert.equal(bad.verdict, 'concentrated');
    assert.ok(bad.concentration > 0.9 && bad.z > 3);
    // 12 errors where 10 were expected on a 1% canary: more than zero excess, far from significant.
    const noise = read(split([10, 10_000, 12], [990, 990_000, 990]));
    assert.notEqual(noise.verdict, 'concentrated');
    assert.equal(noise.concentration, 0);
  });

  it('calls errors even when the fleet errs alike and a concentration would have shown', () => {
    const even = read(split([100, 1_000_000, 20_000], [900, 9_000_000, 180_000]));
    assert.equal(even.verdict, 'even');
  });

  it('calls a canary healthy at the baseline only with the power to see a bad version', () => {
    const healthy = read(split([50, 500_000, 500], [950, 9_500_000, 9_500]));
    assert.equal(healthy.verdict, 'healthy');
    // Three requests on the canary: it could not have shown anything.
    const tiny = read(split([1, 3, 0], [999, 9_999_997, 9_999]));
    assert.equal(tiny.verdict, 'inconclusive');
  });

  it('says why when there is nothing to compare', () => {
    const all = cohortConcentration(split([1000, 1_000_000, 50], [0, 0, 0]), 0, 2000);
    assert.ok(!all.ok && /reached every node/.test(all.why));
    const none = cohortConcentration(split([0, 0, 0], [1000, 1_000_000, 1000]), 0, 2000);
    assert.ok(!none.ok && /no node served v2/.test(none.why));
  });
});
