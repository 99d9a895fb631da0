import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  contrastConfidenceSequence, mixtureRadius, mixtureRho2, normalCdf, normalQuantile, normalSf,
  rateConfidenceSequence, rateRegression, waldSprt,
} from '../src/stats/index.ts';
import { mulberry32 } from './stats-helpers.ts';

/** |actual − expected| ≤ tol · max(1, |expected|): relative for large values, absolute near 0. */
function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what} ${actual} != ${expected} (tol ${tol})`);
}
function relClose(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.abs(expected), `${what} ${actual} != ${expected} (rel tol ${tol})`);
}

describe('normal distribution', () => {
  // Reference values: scipy 1.17.1 (Python 3.11), norm.cdf and norm.ppf, which use Cephes' ndtr
  // and ndtri, an implementation independent of ours. Φ⁻¹(0.975) = 1.959963984540054 is the
  // textbook constant.
  const CDF: Array<[number, number]> = [
    [-20, 2.7536241186061556e-89], [-8, 6.22096057427174e-16], [-5, 2.866515718791933e-7],
    [-3, 0.0013498980316300933], [-1, 0.15865525393145707], [0.5, 0.6914624612740131], [1.96, 0.9750021048517795], [2, 0.9772498680518208],
  ];
  const QUANTILE: Array<[number, number]> = [
    [1e-300, -37.0470962993612], [1e-12, -7.034483825301131], [1e-6, -4.753424308822899], [0.001, -3.090232306167813],
    [0.025, -1.9599639845400545], [0.84, 0.994457883209753], [0.975, 1.959963984540054], [0.995, 2.5758293035489004],
    [1 - 1e-9, 5.997807019601637],
  ];

  it('gives the CDF to 1e-13 relative error, tails included', () => {
    for (const [x, p] of CDF) relClose(normalCdf(x), p, 1e-13, `Φ(${x})`);
    for (const [x, p] of CDF) relClose(normalSf(-x), p, 1e-13, `1 − Φ(${-x})`);
    assert.equal(normalCdf(0), 0.5);
  });

  it('gives the quantile to 1e-12 relative error, Φ⁻¹(0.975) = 1.959964 among them', () => {
    for (const [p, z] of QUANTILE) close(normalQuantile(p), z, 1e-12, `Φ⁻¹(${p})`);
    close(normalQuantile(0.975), 1.959964, 1e-6);
    assert.equal(normalQuantile(0.5), 0);
  });

  it('maps the edges of [0, 1] to infinities and anything else to NaN', () => {
    assert.equal(normalQuantile(0), Number.NEGATIVE_INFINITY);
    assert.equal(normalQuantile(1), Number.POSITIVE_INFINITY);
    assert.ok(Number.isNaN(normalQuantile(-0.1)));
    assert.ok(Number.isNaN(normalQuantile(Number.NaN)));
    assert.ok(Number.isNaN(normalCdf(Number.NaN)));
  });

  it('inverts the CDF for any probability (property)', () => {
    fc.assert(fc.property(fc.double({ min: 1e-15, max: 1 - 1e-15, noNaN: true }), (p) => {
      const z = normalQuantile(p);
      const back = p < 0.5 ? normalCdf(z) : normalSf(z);
      relClose(back, p < 0.5 ? p : 1 - p, 1e-12);
    }), { seed: 4, numRuns: 500 });
  });
});

describe('rate confidence sequence', () => {
  it('matches the normal-mixture boundary worked out independently', () => {
    // Reference, by hand (checked with a Python transcription of the formulas):
    //   p̃_c = 1200.5/600001, p̃_b = 59400.5/59400001 (add-half smoothing);
    //   SE² = p̃_c(1 − p̃_c)/600000 + p̃_b(1 − p̃_b)/59400000  (the boundary variance is smaller here);
    //   ρ² = (−2 ln 0.05 + ln(1 − 2 ln 0.05))/10000; r = 600000 ρ²;
    //   radius = sqrt((1 + 1/r) ln((r + 1)/0.05²)) = 3.490683542476393;
    //   0.001 ± radius · SE = [0.000798117054835637, 0.001201882945164363].
    const cs = rateConfidenceSequence({ canary: { events: 1200, trials: 600_000 }, baseline: { events: 59_400, trials: 59_400_000 }, alpha: 0.05, tuneAtTrials: 10_000 });
    close(cs.estimate, 0.001, 1e-15);
    close(cs.lower, 0.000798117054835637, 1e-12);
    close(cs.upper, 0.001201882945164363, 1e-12);
    close(mixtureRadius(600_000, 0.05, 10_000), 3.490683542476393, 1e-12);
    assert.equal(cs.sufficient, true);
    assert.match(cs.method, /normal-mixture confidence sequence/);
  });

  it('uses the variance on the boundary when the canary saw no events, so a lucky canary is not proven better', () => {
    // By hand: the boundary variance p̃_b(1 − p̃_b)/1000 exceeds the plug-in one of a canary
    // with 0 events; radius 3.035208990376253 at t = t*; reference [−0.0038243483296337664, 0.002006166511451948].
    const cs = rateConfidenceSequence({ canary: { events: 0, trials: 1000 }, baseline: { events: 90, trials: 99_000 }, alpha: 0.05, tuneAtTrials: 1000 });
    close(cs.lower, -0.0038243483296337664, 1e-12);
    close(cs.upper, 0.002006166511451948, 1e-12);
    assert.ok(cs.lower < 0 && cs.upper > 0, 'no claim that the canary is better');
  });

  it('has a radius at which the mixture martingale of Robbins reaches exactly 1/alpha (Ville\'s threshold)', () => {
    // Independent check of the closed form: integrate M = ∫ exp(λS − λ²t/2) N(λ; 0, ρ²) dλ
    // numerically at S = √t · radius; Ville's inequality makes P(∃t: M_t ≥ 1/α) ≤ α.
    for (const [t, alpha, tune] of [[500, 0.05, 10_000], [10_000, 0.01, 10_000], [1e6, 0.001, 600_000]] as const) {
      const rho2 = mixtureRho2(tune, alpha);
      const s = Math.sqrt(t) * mixtureRadius(t, alpha, tune);
      const sd = Math.sqrt(rho2);
      let m = 0;
      const steps = 200_000;
      const lo = -12 * sd;
      const h = (24 * sd) / steps;
      for (let i = 0; i <= steps; i++) {
        const l = lo + i * h;
        const w = i === 0 || i === steps ? 0.5 : 1;
        m += w * Math.exp(l * s - (l * l * t) / 2 - (l * l) / (2 * rho2)) / (sd * Math.sqrt(2 * Math.PI));
      }
      relClose(m * h, 1 / alpha, 1e-6, `M at t=${t}`);
    }
  });

  it('is tightest near the trial count it is tuned at', () => {
    // The closed-form ρ of Waudby-Smith et al. is an approximation: within 0.1% of the best radius.
    for (const alpha of [0.001, 0.01, 0.05, 0.2]) {
      const tune = 5000;
      const chosen = mixtureRadius(tune, alpha, tune);
      let best = Number.POSITIVE_INFINITY;
      for (let f = 0.01; f < 100; f *= 1.01) best = Math.min(best, mixtureRadius(tune, alpha, tune * f));
      assert.ok(chosen <= best * 1.001, `alpha ${alpha}: ${chosen} vs best ${best}`);
      assert.ok(chosen > normalQuantile(1 - alpha / 2), 'wider than a fixed-sample interval: the price of looking often');
    }
  });

  it('claims nothing from too few trials, zero trials, or inconsistent counts', () => {
    const cases = [
      { canary: { events: 0, trials: 0 }, baseline: { events: 0, trials: 0 } },
      { canary: { events: 1, trials: 10 }, baseline: { events: 5, trials: 10_000 } },
      { canary: { events: 5, trials: 1000 }, baseline: { events: 0, trials: 0 } },
      { canary: { events: 11, trials: 10 }, baseline: { events: 5, trials: 10_000 } },
      { canary: { events: -1, trials: 100 }, baseline: { events: 5, trials: 10_000 } },
      { canary: { events: Number.NaN, trials: 100 }, baseline: { events: 5, trials: 10_000 } },
    ];
    for (const c of cases) {
      const cs = rateConfidenceSequence({ ...c, alpha: 0.05 });
      assert.equal(cs.sufficient, false);
      assert.equal(cs.lower, -1);
      assert.equal(cs.upper, 1);
      assert.ok(cs.note !== null && cs.note.length > 0);
      assert.ok(Number.isFinite(cs.estimate));
    }
  });

  it('rejects invalid configuration with a RangeError', () => {
    const counts = { canary: { events: 1, trials: 100 }, baseline: { events: 1, trials: 100 } };
    for (const alpha of [0, 1, -0.1, Number.NaN]) assert.throws(() => rateConfidenceSequence({ ...counts, alpha }), RangeError);
    assert.throws(() => rateConfidenceSequence({ ...counts, alpha: 0.05, tuneAtTrials: 0 }), RangeError);
    assert.throws(() => rateRegression({ ...counts, alpha: 0.05, allowed: { relative: -1 } }), RangeError);
  });

  const countsArb = fc.tuple(fc.integer({ min: 0, max: 5_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }))
    .map(([trials, rate]) => ({ events: Math.round(trials * rate), trials }));

  it('is always finite and ordered, lower ≤ estimate ≤ upper, within the feasible range (property)', () => {
    fc.assert(fc.property(countsArb, countsArb, fc.double({ min: 1e-6, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }),
      (canary, baseline, alpha, relative) => {
        const cs = contrastConfidenceSequence({ canary, baseline, alpha, baselineWeight: 1 + relative });
        for (const v of [cs.estimate, cs.lower, cs.upper, cs.width]) assert.ok(Number.isFinite(v));
        assert.ok(cs.lower <= cs.upper);
        if (cs.sufficient) assert.ok(cs.lower <= cs.estimate && cs.estimate <= cs.upper);
        assert.ok(cs.lower >= -(1 + relative) - 1e-12 && cs.upper <= 1 + 1e-12);
      }), { seed: 11, numRuns: 1000 });
  });

  it('widens as alpha shrinks (property)', () => {
    fc.assert(fc.property(countsArb, countsArb, fc.double({ min: 1e-6, max: 0.2, noNaN: true }), (canary, baseline, alpha) => {
      const strict = rateConfidenceSequence({ canary, baseline, alpha: alpha / 10 });
      const loose = rateConfidenceSequence({ canary, baseline, alpha });
      assert.ok(strict.lower <= loose.lower + 1e-15 && strict.upper >= loose.upper - 1e-15);
    }), { seed: 12, numRuns: 500 });
  });

  it('narrows as the same rates are observed over more trials (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 100, max: 100_000 }), fc.double({ min: 0.0001, max: 0.5, noNaN: true }), (trials, rate) => {
      const events = Math.round(trials * rate);
      const at = (m: number) => rateConfidenceSequence({ canary: { events: events * m, trials: trials * m }, baseline: { events: events * 10 * m, trials: trials * 10 * m }, alpha: 0.01, tuneAtTrials: trials });
      assert.ok(at(4).width < at(1).width);
    }), { seed: 13, numRuns: 300 });
  });
});

describe('rate regression verdict', () => {
  const baseline = { events: 59_400, trials: 59_400_000 }; // 0.1% over one minute of 9,900 nodes at 100 rps

  it('declares a regression when the canary doubles the error rate and only +50% is allowed', () => {
    const r = rateRegression({ canary: { events: 1200, trials: 600_000 }, baseline, allowed: { relative: 0.5 }, alpha: 0.01, label: 'error rate' });
    assert.equal(r.verdict, 'regression');
    assert.ok(r.excess.lower > 0);
    close(r.threshold_difference ?? Number.NaN, 0.0005, 1e-12);
    assert.match(r.reason, /^error rate regressed: canary 0.2% vs baseline 0.1% \(allowed \+50%, up to 0.15%\); the 99% always-valid interval/);
    assert.match(r.reason, /lies wholly above 0, over 600000 canary and 59400000 baseline trials$/);
  });

  it('passes early (ok) when the canary matches the baseline with room to spare', () => {
    const r = rateRegression({ canary: { events: 600, trials: 600_000 }, baseline, allowed: { relative: 0.5 }, alpha: 0.01 });
    assert.equal(r.verdict, 'ok');
    assert.ok(r.excess.upper < 0);
    assert.match(r.reason, /within the allowance/);
  });

  it('stays undecided when the canary sits on the allowance', () => {
    const r = rateRegression({ canary: { events: 900, trials: 600_000 }, baseline, allowed: { relative: 0.5 }, alpha: 0.01 });
    assert.equal(r.verdict, 'undecided');
    assert.match(r.reason, /still contains 0/);
  });

  it('adds absolute and relative allowances', () => {
    // 0.2% vs 0.1%: over +50% alone, but within +50% plus 0.1 point (up to 0.25%).
    const r = rateRegression({ canary: { events: 1200, trials: 600_000 }, baseline, allowed: { relative: 0.5, absolute: 0.001 }, alpha: 0.01 });
    assert.equal(r.verdict, 'ok');
    close(r.threshold_difference ?? Number.NaN, 0.0015, 1e-12);
  });

  it('catches failed loads against a baseline with zero failures, and never calls a clean small canary ok with no allowance', () => {
    const bad = rateRegression({ canary: { events: 30, trials: 100 }, baseline: { events: 0, trials: 9900 }, allowed: { relative: 0.5 }, alpha: 0.01, tuneAtTrials: 100, label: 'load failure rate' });
    assert.equal(bad.verdict, 'regression');
    const clean = rateRegression({ canary: { events: 0, trials: 100 }, baseline: { events: 0, trials: 9900 }, allowed: { relative: 0.5 }, alpha: 0.01, tuneAtTrials: 100 });
    assert.equal(clean.verdict, 'undecided');
    const allowed = rateRegression({ canary: { events: 0, trials: 2000 }, baseline: { events: 0, trials: 9900 }, allowed: { absolute: 0.01 }, alpha: 0.01, tuneAtTrials: 2000 });
    assert.equal(allowed.verdict, 'ok', 'zero failures in 2,000 loads is within a 1-point allowance');
  });

  it('is undecided, never NaN, on tiny samples', () => {
    const r = rateRegression({ canary: { events: 3, trials: 10 }, baseline: { events: 0, trials: 9900 }, allowed: { relative: 0.5 }, alpha: 0.01 });
    assert.equal(r.verdict, 'undecided');
    assert.match(r.reason, /too few trials for an interval: 10 canary and 9900 baseline, 30 needed in each/);
  });

  it('returns a verdict and a reason for any counts (property)', () => {
    const counts = fc.tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.double({ min: 0, max: 1, noNaN: true })).map(([trials, rate]) => ({ events: Math.round(trials * rate), trials }));
    fc.assert(fc.property(counts, counts, fc.record({ relative: fc.double({ min: 0, max: 2, noNaN: true }), absolute: fc.double({ min: 0, max: 0.1, noNaN: true }) }), (canary, base, allowed) => {
      const r = rateRegression({ canary, baseline: base, allowed, alpha: 0.05 });
      assert.ok(['regression', 'ok', 'undecided'].includes(r.verdict));
      assert.ok(r.reason.length > 0 && !r.reason.includes('NaN'));
      if (r.verdict === 'regression') assert.ok(r.excess.lower > 0);
      if (r.verdict === 'ok') assert.ok(r.excess.upper < 0);
    }), { seed: 14, numRuns: 1000 });
  });
});

describe('Wald SPRT (the oracle)', () => {
  it('has Wald\'s boundaries: ±ln 19 for alpha = beta = 0.05', () => {
    const s = waldSprt({ p0: 0.001, p1: 0.002, alpha: 0.05, beta: 0.05 });
    close(s.upper, Math.log(19), 1e-15);
    close(s.upper, 2.9444389791664403, 1e-15);
    close(s.lower, -2.9444389791664403, 1e-15);
    const t = waldSprt({ p0: 0.001, p1: 0.002, alpha: 0.001, beta: 0.1 });
    close(t.upper, Math.log(0.9 / 0.001), 1e-15); // 6.80239476332431
    close(t.lower, Math.log(0.1 / 0.999), 1e-15); // −2.30158459...
  });

  it('adds ln(p1/p0) per event and ln((1 − p1)/(1 − p0)) per trial without one', () => {
    const s = waldSprt({ p0: 0.001, p1: 0.002, alpha: 0.05, beta: 0.05 });
    // By hand: 1200 ln 2 + 598800 ln(0.998/0.999) = 831.7766 − 599.6996 = 232.0770.
    close(s.llr(1200, 600_000), 1200 * Math.log(2) + 598_800 * Math.log(0.998 / 0.999), 1e-12);
    close(s.llr(1200, 600_000), 232.077, 1e-5);
    assert.equal(s.decide(1200, 600_000), 'regression');
    assert.equal(s.decide(600, 600_000), 'ok');
    assert.equal(s.decide(1, 1000), 'undecided');
  });

  it('keeps its error rates near alpha and beta, trial by trial (seeded simulation)', () => {
    // One trial at a time, so the overshoot is small; Wald: realised α ≤ α/(1 − β) ≈ 0.0526.
    const s = waldSprt({ p0: 0.1, p1: 0.2, alpha: 0.05, beta: 0.05 });
    const runs = 2000;
    const rng = mulberry32(99);
    const run = (p: number) => {
      let events = 0;
      for (let trials = 1; ; trials++) {
        if (rng() < p) events++;
        const d = s.decide(events, trials);
        if (d !== 'undecided') return d;
      }
    };
    let falseAlarms = 0;
    let misses = 0;
    for (let i = 0; i < runs; i++) if (run(0.1) === 'regression') falseAlarms++;
    for (let i = 0; i < runs; i++) if (run(0.2) === 'ok') misses++;
    const tol = 3 * Math.sqrt((0.05 * 0.95) / runs);
    assert.ok(falseAlarms / runs <= 0.05 / 0.95 + tol, `false alarms ${falseAlarms / runs}`);
    assert.ok(misses / runs <= 0.05 / 0.95 + tol, `misses ${misses / runs}`);
  });

  it('refuses parameters that define no test', () => {
    assert.throws(() => waldSprt({ p0: 0.1, p1: 0.1, alpha: 0.05, beta: 0.05 }), RangeError);
    assert.throws(() => waldSprt({ p0: 0, p1: 0.1, alpha: 0.05, beta: 0.05 }), RangeError);
    assert.throws(() => waldSprt({ p0: 0.1, p1: 0.2, alpha: 0.6, beta: 0.5 }), RangeError);
  });
});
