import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeContrast, type NodeRateCounts } from '../src/stats/index.ts';
import { binomialDraw, mulberry32, normalDraw } from './stats-helpers.ts';

/**
 * The node-level contrast (stats/node-contrast.ts): reference values worked by hand (and
 * matching R's quasi-Poisson glm where it applies), the one-node rule, and seeded simulations
 * of the shapes that made the per-request test roll back healthy changes: nodes whose rates
 * differ, and per-node bursts. Bounds are fixed by the seeds and could fail.
 */

const node = (events: number, trials: number, history?: { events: number; trials: number }, id?: string): NodeRateCounts =>
  ({ events, trials, ...(history ? { history } : {}), ...(id ? { node: id } : {}) });

describe('node contrast: reference values', () => {
  it('pools the quasi-Poisson dispersion from both arms as glm(events ~ arm + offset(log(trials)), quasipoisson) does', () => {
    // Baseline 10, 20, 10, 20 of 10,000 each: rate 0.0015, μ 15 per node, Pearson Σ (e − μ)²/μ =
    // 4 × 25/15 = 6.667. Canary 15, 15: around its own rate, 0. Residual df = 6 nodes − 2 arms = 4.
    // φ = 6.667 / 4 = 1.6667 (R: summary(glm(...))$dispersion).
    const r = nodeContrast({
      canary: [node(15, 10_000), node(15, 10_000)],
      baseline: [node(10, 10_000), node(20, 10_000), node(10, 10_000), node(20, 10_000)],
      allowed: { relative: 0.2 }, alpha: 0.05, tuneAtTrials: 20_000,
    });
    assert.ok(Math.abs(r.dispersion.phi - 20 / 12) < 1e-12, String(r.dispersion.phi));
    assert.ok(Math.abs((r.dispersion.phi_baseline ?? 0) - 20 / 9) < 1e-12);
    assert.equal(r.dispersion.phi_canary, 0);
    assert.equal(r.ratio, 1);
    assert.equal(r.dispersion.with_history.canary, 0);
  });

  it('shrinks each node towards the fleet by the gamma–Poisson method of moments on the baseline histories', () => {
    // Histories: 10 baseline nodes of 100,000 trials, half at 50 events, half at 150: p0 = 0.001,
    // μ = 100, Σ (e − μ)² = 10 × 2,500 = 25,000, Σ μ = 1,000, Σ μ² = 100,000:
    // τ² = (25,000 − 1,000) / 100,000 = 0.24, κ = 1 / (τ² p0) = 4,166.67 trials.
    // A canary node that had 150 of 100,000 gets (150 + κ p0) / (100,000 + κ) / p0 = 1.4800 of the fleet rate.
    const hist = (i: number) => ({ events: i % 2 === 0 ? 50 : 150, trials: 100_000 });
    const baseline = Array.from({ length: 10 }, (_, i) => node(i % 2 === 0 ? 5 : 15, 10_000, hist(i)));
    const r = nodeContrast({ canary: [node(15, 10_000, { events: 150, trials: 100_000 }), node(15, 10_000, { events: 150, trials: 100_000 })], baseline, allowed: { relative: 0.2 }, alpha: 0.05 });
    assert.ok(Math.abs(r.dispersion.history_cv - Math.sqrt(0.24)) < 1e-12);
    // Baseline: Σ e = 100, Σ x = 5 × 10,000 × f_low + 5 × 10,000 × f_high; the canary's x = 2 × 10,000 × 1.48.
    const kappa = 1 / (0.24 * 0.001);
    const f = (e: number) => (e + kappa * 0.001) / (100_000 + kappa) / 0.001;
    const rB = 100 / (50_000 * f(50) + 50_000 * f(150));
    const expected = 30 / (20_000 * f(150)) / rB;
    assert.ok(Math.abs(f(150) - 1.48) < 1e-4, String(f(150)));
    assert.ok(Math.abs((r.ratio ?? 0) - expected) < 1e-12, `${r.ratio} vs ${expected}`);
    // A canary as bad as its nodes always were is about as bad as before (shrinkage keeps it a little above 1).
    assert.ok(Math.abs((r.ratio ?? 0) - 1) < 0.03, String(r.ratio));
  });

  it('without histories compares plain rates', () => {
    const r = nodeContrast({
      canary: [node(40, 10_000), node(40, 10_000)],
      baseline: Array.from({ length: 10 }, () => node(10, 10_000)),
      allowed: { relative: 0.2 }, alpha: 0.01,
    });
    assert.equal(r.ratio, 4);
    assert.equal(r.canary_rate, 0.004);
    assert.equal(r.baseline_rate, 0.001);
  });
});

describe('node contrast: verdicts explain themselves, and no single node decides', () => {
  const quiet = Array.from({ length: 200 }, (_, i) => node(10, 10_000, { events: 180, trials: 180_000 }, `b${i}`));

  it('names the dispersion and the nodes in its verdict', () => {
    const r = nodeContrast({ canary: Array.from({ length: 20 }, (_, i) => node(40, 10_000, undefined, `c${i}`)), baseline: quiet, allowed: { relative: 0.2 }, alpha: 0.001 });
    assert.equal(r.verdict, 'regression');
    assert.match(r.reason, /dispersion φ 1 \(nodes as units: 20 canary and 200 baseline nodes\)/);
    assert.match(r.reason, /4× what its nodes would show unchanged/);
  });

  it("one node's burst does not roll back; the same excess spread over the nodes does", () => {
    const canary = [node(210, 10_000, undefined, 'burst-node'), ...Array.from({ length: 4 }, (_, i) => node(10, 10_000, undefined, `c${i}`))];
    const r = nodeContrast({ canary, baseline: quiet, allowed: { relative: 0.2 }, alpha: 0.001 });
    assert.equal(r.verdict, 'undecided');
    assert.match(r.reason, /it rests on one node: with burst-node brought in line with the next node the interval contains 0/);
    const spread = Array.from({ length: 5 }, (_, i) => node(50, 10_000, undefined, `c${i}`));
    assert.equal(nodeContrast({ canary: spread, baseline: quiet, allowed: { relative: 0.2 }, alpha: 0.001 }).verdict, 'regression');
  });

  it('a single canary node never decides, and says why', () => {
    const r = nodeContrast({ canary: [node(500, 10_000, undefined, 'only')], baseline: quiet, allowed: { relative: 0.2 }, alpha: 0.001 });
    assert.equal(r.verdict, 'undecided');
    assert.match(r.reason, /a single canary node cannot decide/);
  });

  it("one node's flood of clean requests does not pass a bad canary", () => {
    // Four nodes at 5× the baseline rate, and one claiming a billion clean requests.
    const canary = [...Array.from({ length: 4 }, (_, i) => node(50, 10_000, undefined, `c${i}`)), node(0, 1_000_000_000, undefined, 'flood')];
    const r = nodeContrast({ canary, baseline: quiet, allowed: { relative: 0.2 }, alpha: 0.001 });
    assert.notEqual(r.verdict, 'ok');
  });

  it("one baseline node's flood of clean requests does not roll back a healthy canary, nor its flood of errors pass a bad one", () => {
    const healthy = Array.from({ length: 10 }, (_, i) => node(10, 10_000, undefined, `c${i}`));
    const withFlood = [...quiet, node(0, 1_000_000_000, undefined, 'clean-flood')];
    assert.equal(nodeContrast({ canary: healthy, baseline: withFlood, allowed: { relative: 0.2 }, alpha: 0.001 }).verdict !== 'regression', true);
    const bad = Array.from({ length: 10 }, (_, i) => node(50, 10_000, undefined, `c${i}`));
    const withErrors = [...quiet, node(5_000_000, 100_000_000, undefined, 'error-flood')];
    assert.notEqual(nodeContrast({ canary: bad, baseline: withErrors, allowed: { relative: 0.2 }, alpha: 0.001 }).verdict, 'ok');
  });

  it('a regression confined to 3 of 10 canary nodes is not averaged or trimmed away', () => {
    const canary = [...Array.from({ length: 3 }, (_, i) => node(100, 10_000, undefined, `bad${i}`)), ...Array.from({ length: 7 }, (_, i) => node(10, 10_000, undefined, `c${i}`))];
    assert.equal(nodeContrast({ canary, baseline: quiet, allowed: { relative: 0.2 }, alpha: 0.001 }).verdict, 'regression');
  });

  it('says how many nodes a canary of uneven nodes would need, when waiting cannot help', () => {
    // Baseline nodes whose stage counts differ widely (and no history to explain it): φ grows with the counts.
    const rng = mulberry32(5);
    const uneven = Array.from({ length: 200 }, () => node(Math.round(1_000 * Math.exp(0.5 * normalDraw(rng))), 1_000_000));
    const r = nodeContrast({ canary: [node(1_100, 1_000_000), node(1_050, 1_000_000), node(1_150, 1_000_000)], baseline: uneven, allowed: { relative: 0.2 }, alpha: 0.001 });
    assert.equal(r.verdict, 'undecided');
    assert.ok(r.floor !== null && r.floor.relative_half_width > 0.2, JSON.stringify(r.floor));
    assert.match(r.reason, /cannot narrow below ±\d+(\.\d+)?% of the rate, wider than the 20% allowance, however long it waits \(about \d+ canary nodes would do\)/);
  });

  it('refuses bad configuration, and never throws on bad data', () => {
    assert.throws(() => nodeContrast({ canary: [], baseline: [], allowed: { relative: 0.2 }, alpha: 0 }), RangeError);
    const r = nodeContrast({ canary: [node(Number.NaN, 10), node(5, 2)], baseline: [node(1, 1e6), node(-1, 5)], allowed: {}, alpha: 0.05 });
    assert.equal(r.verdict, 'undecided');
  });
});

/**
 * Seeded fleets: m canary nodes and 100 baseline nodes at 1,000 requests per node per look,
 * 0.1% errors, each node with 180,000 requests of history; 60 looks (10 minutes at 10 s).
 */
function fleet(seed: number, o: { m: number; cv: number; burstEvery: number; mult: number; looks?: number }): number | null {
  const rng = mulberry32(seed);
  const n = o.m + 100;
  const looks = o.looks ?? 60;
  const gamma = (cv: number) => (cv === 0 ? 1 : Math.exp(cv * normalDraw(rng) - (cv * cv) / 2)); // log-normal, mean 1
  const draw = (rate: number) => binomialDraw(rng, 1_000, rate) + (o.burstEvery > 0 && rng() < 1 / o.burstEvery ? binomialDraw(rng, 1_000, 0.2) : 0);
  const rate = Array.from({ length: n }, () => 0.001 * gamma(o.cv));
  const hist = rate.map((r) => { let e = 0; for (let s = 0; s < 180; s++) e += draw(r); return e; });
  const e = new Array<number>(n).fill(0);
  for (let look = 1; look <= looks; look++) {
    for (let i = 0; i < n; i++) e[i] = (e[i] ?? 0) + draw(Math.min(1, (rate[i] ?? 0) * (i < o.m ? o.mult : 1)));
    const at = (i: number) => node(e[i] ?? 0, 1_000 * look, { events: hist[i] ?? 0, trials: 180_000 });
    const v = nodeContrast({
      canary: Array.from({ length: o.m }, (_, i) => at(i)), baseline: Array.from({ length: 100 }, (_, j) => at(o.m + j)),
      allowed: { relative: 0.2 }, alpha: 0.0005, tuneAtTrials: 600_000,
    }).verdict;
    if (v === 'regression') return look;
  }
  return null;
}

function falseRollbacks(runs: number, seed: number, o: Parameters<typeof fleet>[1]): number {
  let n = 0;
  for (let r = 0; r < runs; r++) if (fleet(seed * 100_003 + r, o) !== null) n++;
  return n;
}

describe('node contrast on uneven and bursty fleets (seeded simulation)', () => {
  it('5 canary nodes whose rates differ (CV 0.5): no false rollback in 150 healthy runs, and a 2× regression is caught', () => {
    assert.equal(falseRollbacks(150, 1, { m: 5, cv: 0.5, burstEvery: 0, mult: 1 }), 0);
    let caught = 0;
    for (let r = 0; r < 40; r++) if (fleet(900 + r, { m: 5, cv: 0.5, burstEvery: 0, mult: 2 }) !== null) caught++;
    assert.ok(caught >= 36, `caught ${caught}/40`);
  });

  it('per-node bursts (one 10-s burst of 20% errors per node every ~3 h): no false rollback in 150 runs of 5 and of 20 nodes', () => {
    assert.equal(falseRollbacks(150, 2, { m: 5, cv: 0, burstEvery: 1_080, mult: 1 }), 0);
    assert.equal(falseRollbacks(150, 3, { m: 20, cv: 0, burstEvery: 1_080, mult: 1 }), 0);
  });

  it('just inside the allowance (1.15× against 1.2×) on uneven nodes: no false rollback in 150 runs', () => {
    assert.equal(falseRollbacks(150, 4, { m: 10, cv: 0.5, burstEvery: 1_080, mult: 1.15 }), 0);
  });
});
