import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { triage, type TriageInput } from '../src/triage/index.ts';
import { at, cohort, hypothesis, top, dependency, END, incident, moduleErrors, rollout, RPS, series, statusPage } from './triage-helpers.ts';

/**
 * The findings of issue 13, one situation each: evidence that crosses classes (a change and
 * the dependency it touched, an old rollout's cohort, an application-layer attack without
 * volume, a CDN that fails over to the origin), statistics where noise used to decide, the
 * `unknown` verdict, and rollouts that were already rolled back.
 */
const usualMix = { method_entropy_bits: series(1, () => 1), path_entropy_bits: series(4, () => 4), user_agent_entropy_bits: series(4.5, () => 4.5), expensive_share: series(0.02, () => 0.02), cost_ms_per_request: series(15, () => 15) };

describe('triage: evidence that crosses classes', () => {
  it('reads a migration that locks a table as the change that touched the database, not the database failing', () => {
    const t = triage(incident({
      changes: { rollouts: [], external: [{ id: 'chg-migrate-42', summary: 'add index to orders', timestamp: new Date(at(9.5)).toISOString(), source: 'flyway', services: ['schema'], touches: { dependencies: ['orders-db'] }, links: [], custom_details: {} }] },
      dependencies: [dependency('orders-db', { latency: (m) => (m >= 9.7 ? 80 : 10), errors: (m) => (m >= 9.7 ? 0.08 : 0.001) })],
    }), END);
    assert.equal(top(t).class, 'change-regression');
    assert.equal(top(t).target?.id, 'chg-migrate-42');
    assert.ok(top(t).evidence_for.some((e) => /touched orders-db, which began to degrade \d+ s after it/.test(e.sentence)), JSON.stringify(top(t).evidence_for));
    assert.match(top(t).first_action, /^revert "add index to orders" \(flyway\): it touched schema, orders-db/);
    const internal = hypothesis(t, 'internal-degradation');
    assert.equal(internal.target?.id, 'orders-db');
    assert.ok(internal.evidence_against.some((e) => e.signal === 'changes' && /the change is the likelier cause/.test(e.sentence)));
  });

  it('still reads an old rollout from its cohort when every error sits on its nodes, with the weight decayed for its age', () => {
    const input: TriageInput = incident({
      changes: { rollouts: [rollout('r-leak', -170, { version: 'v9' })], external: [] },
      errors: {
        by_module: [moduleErrors('api', (m) => (m >= 10 ? 0.02 : 0.001)), moduleErrors('proxy', () => 0.001)],
        by_cohort: [cohort('r-leak', 'v9', { from: 0, share: 0.3, withRatio: (m) => (m >= 10 ? 0.065 : 0.001), withoutRatio: () => 0.001 })],
      },
    });
    // The cohort samples start at minute 0 of the test window; the rollout began 3 h before it.
    const t = triage(input, END);
    assert.equal(top(t).class, 'change-regression');
    assert.equal(top(t).target?.id, 'r-leak');
    const item = top(t).evidence_for.find((e) => e.signal === 'errors_by_cohort');
    assert.ok(item && item.weight > 1 && item.weight < 4, JSON.stringify(item));
    assert.match(item.sentence, /weighed ×0\.\d\d for the rollout's age/);
  });

  it('tells an application-layer attack with a small surge by its sources and request mix, not by its volume', () => {
    const t = triage(incident({
      requests: series(RPS, (m) => (m >= 10 ? 1.3 * RPS : RPS)),
      sources: { entropy_bits: series(14, (m) => (m >= 10 ? 12.6 : 14)), never_seen_share: series(0.03, (m) => (m >= 10 ? 0.22 : 0.03)) },
      request_mix: { ...usualMix, path_entropy_bits: series(4, (m) => (m >= 10 ? 2.1 : 4)), user_agent_entropy_bits: series(4.5, (m) => (m >= 10 ? 2.2 : 4.5)), expensive_share: series(0.02, (m) => (m >= 10 ? 0.26 : 0.02)), cost_ms_per_request: series(15, (m) => (m >= 10 ? 60 : 15)) },
      dependencies: [dependency('search-db', { latency: (m) => (m >= 10.5 ? 45 : 10) })],
    }), END);
    assert.equal(top(t).class, 'ddos');
    const mix = top(t).evidence_for.find((e) => e.signal === 'request_mix');
    assert.ok(mix, JSON.stringify(top(t).evidence_for));
    assert.match(mix.sentence, /of requests to expensive paths vs 2\.0%/);
    assert.ok(!top(t).evidence_against.some((e) => /flash crowd/.test(e.sentence)), 'moderate rises in odd sources are not a flash crowd');
  });

  it('still calls a real flash crowd one: a surge with the usual sources and the usual mix', () => {
    const t = triage(incident({
      requests: series(RPS, (m) => (m >= 10 ? 3 * RPS : RPS)),
      sources: { entropy_bits: series(14, () => 14.1), never_seen_share: series(0.03, (m) => (m >= 10 ? 0.05 : 0.03)) },
      request_mix: usualMix,
    }), END);
    assert.ok(hypothesis(t, 'ddos').evidence_against.some((e) => /a flash crowd, not an attack/.test(e.sentence)));
    assert.notEqual(top(t).class, 'ddos');
  });

  it('explains a surge at the origin by the CDN in front of it that failed first, not by an attack', () => {
    const cdn = { ...dependency('edge', { vendor: 'fastcdn', errors: (m) => (m >= 9.5 ? 0.6 : 0.001), used_by: ['proxy'] }), in_request_path: true };
    const t = triage(incident({
      requests: series(RPS, (m) => (m >= 10 ? 3.5 * RPS : RPS)),
      sources: { entropy_bits: series(14, (m) => (m >= 10 ? 17 : 14)), never_seen_share: series(0.03, (m) => (m >= 10 ? 0.7 : 0.03)) },
      dependencies: [dependency('orders-db'), cdn],
      vendors: [statusPage('fastcdn', null)],
    }), END);
    assert.equal(top(t).class, 'third-party-failure');
    assert.equal(top(t).target?.id, 'fastcdn');
    assert.ok(top(t).evidence_for.some((e) => /sits in the request path and degraded \d+ s before the surge began: it explains the traffic surge/.test(e.sentence)));
    assert.ok(hypothesis(t, 'ddos').evidence_against.some((e) => /clients bypassing it come straight to the origin/.test(e.sentence)));
  });

  it('reads a surge the schedule expected as no surge', () => {
    const planned = { baseline: RPS, samples: series(RPS, (m) => (m >= 5 ? 2.5 * RPS : RPS)).samples, expected: [{ at_ms: at(5), value: 2.5 * RPS }] };
    const t = triage(incident({ requests: planned }), END);
    const rate = hypothesis(t, 'ddos').evidence_against.find((e) => e.signal === 'request_rate');
    assert.ok(rate && /no traffic surge: the request rate peaked at 1\.0× its expected at that hour/.test(rate.sentence), JSON.stringify(hypothesis(t, 'ddos')));
  });

  it('does not hold a quiet error count against a change when traffic fell: cutting traffic off is what it broke', () => {
    const routes = { id: 'netops-7734', summary: 'backbone capacity command', timestamp: new Date(at(9.5)).toISOString(), source: 'network-automation', services: ['backbone'], links: [], custom_details: {} };
    const dropped = triage(incident({ ratio: () => 0.001, requests: series(RPS, (m) => (m >= 10 ? 0.15 * RPS : RPS)), changes: { rollouts: [], external: [routes] } }), END);
    assert.ok(!hypothesis(dropped, 'change-regression').evidence_against.some((e) => /would show in its errors/.test(e.sentence)));
    assert.equal(top(dropped).target?.id, 'netops-7734');
    const calm = triage(incident({ ratio: () => 0.001, changes: { rollouts: [], external: [routes] } }), END);
    assert.ok(hypothesis(calm, 'change-regression').evidence_against.some((e) => /would show in its errors/.test(e.sentence)));
    assert.equal(top(calm).class, 'unknown');
  });

  it('counts a fall in traffic against an attack', () => {
    const t = triage(incident({ requests: series(RPS, (m) => (m >= 10 ? 0.4 * RPS : RPS)) }), END);
    assert.ok(hypothesis(t, 'ddos').evidence_against.some((e) => /the request rate fell to 40% of expected/.test(e.sentence)));
  });
});

describe('triage: statistics where noise used to decide', () => {
  it('does not read background noise on a small canary as concentrated errors', () => {
    // No incident at all: a 1% canary (10 nodes) whose errors exceed the baseline by 58 over 32
    // minutes, about 1.3 standard errors: more than the 50 the old rule asked for, and noise.
    const t = triage(incident({
      ratio: () => 0.001,
      changes: { rollouts: [rollout('r-canary', 8)], external: [] },
      errors: { by_module: [moduleErrors('api', () => 0.001)], by_cohort: [cohort('r-canary', 'v2', { from: 8, share: 0.01, withRatio: (m) => (Math.floor(m * 6) % 10 === 0 ? 0.0013 : 0.001), withoutRatio: () => 0.001 })] },
      alerts: [{ name: 'LatencyProbe', started_at_ms: at(11) }],
    }), END);
    const change = hypothesis(t, 'change-regression');
    assert.ok(!change.evidence_for.some((e) => e.signal === 'errors_by_cohort'), JSON.stringify(change.evidence_for));
    assert.notEqual(top(t).class, 'change-regression');
  });

  it('calls a canary healthy when its nodes err at the baseline and a bad version would have shown', () => {
    const t = triage(incident({
      ratio: () => 0.001,
      changes: { rollouts: [rollout('r-ok', 8)], external: [] },
      errors: { by_module: [moduleErrors('api', () => 0.001)], by_cohort: [cohort('r-ok', 'v2', { from: 8, share: 0.2, withRatio: () => 0.001, withoutRatio: () => 0.001 })] },
      alerts: [{ name: 'LatencyProbe', started_at_ms: at(11) }],
    }), END);
    assert.ok(hypothesis(t, 'change-regression').evidence_against.some((e) => /err at the fleet's baseline .* a bad version would have shown/.test(e.sentence)));
    assert.equal(top(t).class, 'unknown');
  });

  it('reads unknown, naming the missing signals, when no class has evidence: never a default winner', () => {
    // Errors rise, but no change, healthy dependencies, no surge, and no vendor signal at all.
    const t = triage(incident({ vendors: [], changes: { rollouts: [], external: [] } }), END);
    assert.equal(top(t).class, 'unknown');
    assert.ok(hypothesis(t, 'third-party-failure').confidence < top(t).confidence);
    assert.ok(top(t).missing_signals.some((m) => m.signal === 'vendor_status'));
    assert.match(top(t).first_action, /missing: .*vendor status/);
  });
});

describe('triage: changes as they were recorded', () => {
  const rolledBack = (o: { end: number; errorsStop: boolean }) => incident({
    ratio: (m) => (m >= 10 && (!o.errorsStop || m < o.end + 1) ? 0.05 : 0.001),
    changes: { rollouts: [rollout('r-old', 9.8, { state: 'rolled_back', ended_at_ms: at(o.end) })], external: [] },
    errors: {
      by_module: [moduleErrors('api', (m) => (m >= 10 && (!o.errorsStop || m < o.end + 1) ? 0.05 : 0.001)), moduleErrors('proxy', () => 0.001)],
      by_cohort: [cohort('r-old', 'v2', { from: 9.8, share: 0.2, withRatio: (m) => (m >= 10 && m < o.end ? 0.25 : 0.001), withoutRatio: (m) => (m >= 10 && !o.errorsStop && m >= o.end ? 0.05 : 0.001) })],
    },
  });

  it('never advises rolling back a rollout that was already rolled back', () => {
    const t = triage(rolledBack({ end: 14, errorsStop: true }), END);
    for (const h of t.hypotheses) assert.doesNotMatch(h.first_action, /^roll back rollout r-old/);
    const change = hypothesis(t, 'change-regression');
    assert.match(change.first_action, /^keep rollout r-old rolled back \(done at 00:14:00; errors stopped/);
  });

  it('counts errors that outlive a rollback against that rollout, and says to look past it', () => {
    const t = triage(rolledBack({ end: 14, errorsStop: false }), END);
    const change = hypothesis(t, 'change-regression');
    assert.ok(change.evidence_against.some((e) => /was rolled back at 00:14:00, and errors went on for 26 min after/.test(e.sentence)), JSON.stringify(change.evidence_against));
    assert.match(change.first_action, /^look past rollout r-old: it was already rolled back/);
  });

  it('does not see a change before it was recorded, and forgives a start stamped just after the first error', () => {
    const late = rollout('r-late', 9.8, { recorded_at_ms: at(30) });
    const early = triage(incident({ changes: { rollouts: [late], external: [] } }), at(20));
    assert.equal(hypothesis(early, 'change-regression').target, undefined);
    const skewed = triage(incident({ changes: { rollouts: [rollout('r-skew', 11)], external: [] } }), END);
    const timing = hypothesis(skewed, 'change-regression').evidence_for.find((e) => e.signal === 'change_timing');
    assert.ok(timing && /within clock-skew tolerance/.test(timing.sentence), JSON.stringify(hypothesis(skewed, 'change-regression')));
  });

  it('starts a new episode after a long quiet spell: a newer failed rollout is not "after the first error"', () => {
    // An old canary erred for a minute at minute 5 and was rolled back; at 30 a new rollout fails.
    const ratio = (m: number) => ((m >= 5 && m < 6) || m >= 30.2 ? 0.05 : 0.001);
    const t = triage(incident({
      ratio,
      changes: { rollouts: [rollout('r-old', 4.9, { artifact: 'proxy-config', module: 'api', state: 'rolled_back', ended_at_ms: at(6) }), rollout('r-new', 30, { version: 'v3' })], external: [] },
      errors: {
        by_module: [moduleErrors('api', ratio), moduleErrors('proxy', () => 0.001)],
        by_cohort: [cohort('r-new', 'v3', { from: 30, share: 0.1, withRatio: (m) => (m >= 30.2 ? 0.45 : 0.001), withoutRatio: () => 0.001 })],
      },
      alerts: [{ name: 'HighErrorRate', started_at_ms: at(31) }],
    }), END);
    assert.equal(t.first_error_ms, at(30) + 20_000, "the first step of the new episode, not minute 5");
    assert.equal(top(t).target?.id, 'r-new');
    assert.match(top(t).first_action, /^roll back rollout r-new \(changed api \d+ s before the first error/);
    for (const h of t.hypotheses) assert.doesNotMatch(h.first_action, /^roll back rollout r-old/);
  });
});
