import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReport, simulate } from '../src/index.ts';
import { shipped } from './helpers.ts';

describe('determinism', () => {
  const s = shipped('nov18-oversized-feature-file', { duration_ms: 20 * 60_000 });

  it('gives byte-identical JSON for the same scenario and seed', () => {
    const a = JSON.stringify(simulate(s, { nodes: 1000 }));
    const b = JSON.stringify(simulate(s, { nodes: 1000 }));
    assert.equal(a, b);
  });

  it('gives different numbers for a different seed', () => {
    const a = simulate(s, { nodes: 1000, seed: 1 });
    const b = simulate(s, { nodes: 1000, seed: 2 });
    assert.equal(a.seed, 1);
    assert.notEqual(a.regimes['global-push']?.total_requests, b.regimes['global-push']?.total_requests);
    assert.notEqual(JSON.stringify(a.regimes), JSON.stringify(b.regimes));
  });

  it('runs only the regimes asked for, and --nodes overrides the fleet size', () => {
    const r = simulate(s, { nodes: 300, regimes: ['staged'] });
    assert.deepEqual(Object.keys(r.regimes), ['staged']);
    assert.equal(r.nodes, 300);
    assert.equal(r.ratios.staged_vs_global, null);
  });
});

describe('the 18 November replay (1,000 nodes, 20 minutes)', () => {
  const r = simulate(shipped('nov18-oversized-feature-file', { duration_ms: 20 * 60_000 }), { nodes: 1000 });
  const global = r.regimes['global-push'];
  const staged = r.regimes.staged;
  const safe = r.regimes['staged-safe-loader'];

  it('fails fewer requests with the safe loader than staged, and staged fewer than a global push', () => {
    assert.ok(global && staged && safe);
    assert.ok(global.failed_requests > 0);
    assert.ok(staged.failed_requests < global.failed_requests / 50, `staged ${staged.failed_requests} vs global ${global.failed_requests}`);
    assert.ok(safe.failed_requests < staged.failed_requests, `safe ${safe.failed_requests} vs staged ${staged.failed_requests}`);
    assert.ok((r.ratios.safe_vs_global ?? 1) < 0.001);
  });

  it('rolls every bad version back at the canary in both staged regimes', () => {
    for (const regime of [staged, safe]) {
      assert.ok(regime);
      const bad = regime.rollouts.filter((x) => x.bad);
      assert.ok(bad.length >= 1);
      for (const x of bad) {
        assert.equal(x.final_state, 'rolled_back');
        assert.equal(x.stopped_at_stage, 'canary');
      }
      assert.ok(regime.detect_seconds !== null && regime.detect_seconds <= 30, `detected after ${regime.detect_seconds}`);
      assert.ok(regime.rollback_seconds !== null && regime.rollback_seconds <= 30);
      assert.equal(regime.final_state, 'v0');
    }
  });

  it('names the gate that stopped it: the load gate with the safe loader, the error-rate gate without', () => {
    assert.equal(safe?.rollouts[0]?.failing_gate, 'bot-management/load_success_rate');
    assert.equal(staged?.rollouts[0]?.failing_gate, 'proxy/error_rate');
  });

  it('never lets the safe loader apply the oversized file, so no node is exposed', () => {
    assert.equal(safe?.nodes_exposed, 0);
    assert.equal(safe?.degraded_requests, 0);
    assert.equal(global?.nodes_exposed, 1000);
  });

  it('shows both failure modes under a global push: FL2 5xx and FL1 degraded', () => {
    assert.ok((global?.failed_requests ?? 0) > 0);
    assert.ok((global?.degraded_requests ?? 0) > 0);
    assert.ok((global?.failed_requests ?? 0) > (global?.degraded_requests ?? 0)); // 70% FL2, 30% FL1
  });

  it('reports the human detection of a global push (26 min), and no rollback within the hour', () => {
    const full = simulate(shipped('nov18-oversized-feature-file', { duration_ms: 40 * 60_000 }), { nodes: 300, regimes: ['global-push'] });
    assert.equal(full.regimes['global-push']?.detect_seconds, 26 * 60);
    assert.equal(full.regimes['global-push']?.rollback_seconds, null);
    assert.equal(global?.detect_seconds, null); // 20 minutes: the humans have not noticed yet
  });

  it('formats a side-by-side table', () => {
    const text = formatReport(r);
    for (const name of ['global-push', 'staged', 'staged-safe-loader', 'failed requests', 'nodes exposed', 'failed vs global-push']) assert.ok(text.includes(name), name);
  });
});

describe('the 5 December kill-switch', () => {
  const r = simulate(shipped('dec05-killswitch'), { nodes: 2000 });
  const global = r.regimes['global-push'];

  it('crashes the legacy proxy on about 28% of nodes under a global push', () => {
    assert.ok(global);
    assert.equal(global.nodes_exposed, 560);
    // 28% of traffic fails from the push (5m) until the manual revert 24 minutes later, in a 40 minute run.
    const share = global.failed_requests / global.total_requests / (24 / 40);
    assert.ok(Math.abs(share - 0.28) < 0.01, `share ${share}`);
    assert.equal(global.detect_seconds, 180);
    assert.ok(global.rollback_seconds !== null && global.rollback_seconds >= 21 * 60 && global.rollback_seconds < 21 * 60 + 10);
    assert.equal(global.final_state, 'v0');
  });

  it('is stopped at the canary when staged; the safe loader cannot catch a failure at request time, and the figures say so', () => {
    const staged = r.regimes.staged;
    const safe = r.regimes['staged-safe-loader'];
    assert.equal(staged?.rollouts[0]?.stopped_at_stage, 'canary');
    // The flip loads cleanly (request_errors): the error-rate gate, not the load gate, catches it.
    assert.equal(safe?.rollouts[0]?.failing_gate, 'proxy/error_rate');
    assert.ok((staged?.failed_requests ?? 0) > 0);
    assert.equal(safe?.failed_requests, staged?.failed_requests);
    assert.equal(safe?.nodes_exposed, staged?.nodes_exposed);
    assert.ok((global?.failed_requests ?? 0) / (safe?.failed_requests ?? 1) > 1000, 'staging still turns the global push into a canary-sized incident');
  });

  it('written as a crash at load (the old, flattering model), the safe loader would show no failed request', () => {
    const s = shipped('dec05-killswitch');
    const atLoad = { ...s, behaviour: s.behaviour.map((b) => ({ ...b, effect: { ...b.effect, at_load: true } })) };
    const safe = simulate(atLoad, { nodes: 2000, regimes: ['staged-safe-loader'] }).regimes['staged-safe-loader'];
    assert.equal(safe?.failed_requests, 0);
    assert.equal(safe?.rollouts[0]?.failing_gate, 'waf/load_success_rate');
  });
});

describe('gates that catch what the validator cannot', () => {
  it('rolls a latency regression back on its latency_p99 gate', () => {
    const r = simulate(shipped('latency-regression'), { nodes: 500, regimes: ['staged', 'staged-safe-loader'] });
    for (const regime of [r.regimes.staged, r.regimes['staged-safe-loader']]) {
      assert.equal(regime?.rollouts[0]?.failing_gate, 'proxy/latency_p99');
      assert.equal(regime?.rollouts[0]?.final_state, 'rolled_back');
    }
  });

  it('catches a slow error creep with the error_rate gate at a stage after the canary', () => {
    const r = simulate(shipped('error-creep'), { nodes: 2000, regimes: ['staged'] });
    const x = r.regimes.staged?.rollouts[0];
    assert.equal(x?.failing_gate, 'api/error_rate');
    assert.equal(x?.final_state, 'rolled_back');
    assert.notEqual(x?.stopped_at_stage, 'canary');
  });
});

describe('a healthy change under noisy metrics', () => {
  const s = shipped('healthy-noisy');
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`completes every rollout in both staged regimes (seed ${seed})`, () => {
      const r = simulate(s, { seed, regimes: ['staged', 'staged-safe-loader'] });
      for (const regime of [r.regimes.staged, r.regimes['staged-safe-loader']]) {
        assert.ok(regime);
        assert.equal(regime.rollouts.length, 2);
        assert.deepEqual(regime.rollouts.map((x) => x.final_state), ['completed', 'completed'], regime.rollouts.map((x) => x.reason).join('\n'));
        assert.equal(regime.final_state, 'v2');
        assert.equal(regime.failed_requests, 0);
      }
    });
  }
});
