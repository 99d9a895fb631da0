import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTriage, triage, TRIAGE_CLASSES, type Triage, type TriageInput } from '../src/triage/index.ts';
import { at, cohort, hypothesis, top, dependency, END, incident, moduleErrors, rollout, RPS, series, statusPage } from './triage-helpers.ts';

/** An attack from minute 10: 6× the rate, entropy down 6 bits, 70% never-seen sources. */
function attack(o: { entropy?: boolean; fresh?: boolean; rate?: boolean } = {}): TriageInput {
  const base = incident({ ratio: (m) => (m >= 10 ? 0.03 : 0.001) });
  return {
    ...base,
    ...(o.rate === false ? { requests: undefined } : { requests: series(RPS, (m) => (m >= 10 ? 6 * RPS : RPS)) }),
    sources: {
      ...(o.entropy === false ? {} : { entropy_bits: series(14, (m) => (m >= 10 ? 8 : 14)) }),
      ...(o.fresh === false ? {} : { never_seen_share: series(0.03, (m) => (m >= 10 ? 0.7 : 0.03)) }),
    },
  };
}

describe('triage: a pure classifier of incidents', () => {
  it('blames the rollout whose nodes carry the errors, and names it with the numbers', () => {
    const input = incident({
      ratio: (m) => (m >= 10.2 ? 0.061 : 0.001),
      changes: { rollouts: [rollout('r-7', 10, { version: 'v2' }), rollout('r-6', 2, { artifact: 'waf-rules', module: 'waf', kind: 'config', version: 'w9' })], external: [] },
      errors: {
        by_module: [moduleErrors('api', (m) => (m >= 10.2 ? 0.061 : 0.001)), moduleErrors('proxy', () => 0.001)],
        by_cohort: [
          cohort('r-7', 'v2', { from: 10, share: 0.2, withRatio: (m) => (m >= 10.2 ? 0.3 : 0.001), withoutRatio: () => 0.001 }),
          cohort('r-6', 'w9', { from: 2, share: 0.5, withRatio: (m) => (m >= 10.2 ? 0.061 : 0.001), withoutRatio: (m) => (m >= 10.2 ? 0.061 : 0.001) }),
        ],
      },
    });
    const t = triage(input, END);
    const h = top(t);
    assert.equal(h.class, 'change-regression');
    assert.deepEqual(h.target, { kind: 'rollout', id: 'r-7', artifact: 'api-server', version: 'v2' });
    assert.match(h.first_action, /^roll back rollout r-7 \(changed api 20 s before the first error; 100% of the excess errors on nodes that have v2, which serve 20% of requests\)$/);
    assert.ok(h.confidence > 0.9, `confidence ${h.confidence}`);
    assert.ok(h.evidence_for.some((e) => e.signal === 'errors_by_cohort' && e.weight === 4), 'concentration is the strongest evidence');
    // The attack, the dependency and the vendor would hit every node alike.
    for (const c of ['ddos', 'internal-degradation', 'third-party-failure'] as const) {
      assert.ok(hypothesis(t, c).evidence_against.some((e) => e.signal === 'errors_by_cohort'), c);
    }
  });

  it('does not blame a rollout whose errors spread evenly over nodes with and without it', () => {
    const input = incident({
      changes: { rollouts: [rollout('r-9', 9)], external: [] },
      errors: {
        by_module: [moduleErrors('api', (m) => (m >= 10 ? 0.05 : 0.001))],
        by_cohort: [cohort('r-9', 'v2', { from: 9, share: 0.3, withRatio: (m) => (m >= 10 ? 0.05 : 0.001), withoutRatio: (m) => (m >= 10 ? 0.05 : 0.001) })],
      },
      dependencies: [dependency('orders-db', { latency: (m) => (m >= 9.5 ? 50 : 10) })],
    });
    const t = triage(input, END);
    assert.equal(top(t).class, 'internal-degradation');
    assert.equal(top(t).target?.id, 'orders-db');
    const change = hypothesis(t, 'change-regression');
    assert.ok(change.evidence_against.some((e) => /spread evenly/.test(e.sentence)));
  });

  it('blames an external change event (PagerDuty shape) just before the errors', () => {
    const t = triage(incident({
      changes: {
        rollouts: [],
        external: [{ id: 'chg-1', summary: 'flag checkout-v2 on for 100%', timestamp: new Date(at(9.5)).toISOString(), source: 'flag-service', services: ['api'], links: [], custom_details: { flag: 'checkout-v2' } }],
      },
    }), END);
    assert.equal(top(t).class, 'change-regression');
    assert.deepEqual(top(t).target, { kind: 'change', id: 'chg-1', summary: 'flag checkout-v2 on for 100%' });
    assert.match(top(t).first_action, /^revert "flag checkout-v2 on for 100%" \(flag-service\): it touched api 30 s before the first error$/);
  });

  it('does not blame a change made after the first error', () => {
    const t = triage(incident({ changes: { rollouts: [rollout('r-late', 14)], external: [] } }), END);
    const change = hypothesis(t, 'change-regression');
    assert.ok(change.evidence_against.some((e) => e.signal === 'change_timing' && /after the first error: it cannot have started/.test(e.sentence)));
    assert.ok(change.confidence < 0.5);
  });

  describe('confounders', () => {
    it('a traffic surge with normal source diversity is a flash crowd, not an attack', () => {
      const crowd = incident({ requests: series(RPS, (m) => (m >= 10 ? 3 * RPS : RPS)) });
      const t = triage(crowd, END);
      const ddos = hypothesis(t, 'ddos');
      assert.ok(ddos.evidence_against.some((e) => /flash crowd, not an attack/.test(e.sentence)), JSON.stringify(ddos.evidence_against));
      assert.notEqual(top(t).class, 'ddos');
      assert.ok(ddos.confidence < 0.05, `ddos ${ddos.confidence}`);
      // The same surge from collapsed, never-seen sources is an attack.
      const a = triage(attack(), END);
      assert.equal(top(a).class, 'ddos');
      assert.ok(top(a).confidence > 0.9);
      assert.match(top(a).first_action, /^turn on DDoS mitigation: .*\(request rate 6\.0× expected; source entropy 8\.0 bits vs 14\.0; 70% of requests from never-seen prefixes vs 3\.0%\)$/);
    });

    it('a status page going down at the same time is weak evidence alone', () => {
      const alone = triage(incident({ vendors: [statusPage('hosted-statuspage', 10)] }), END);
      const third = hypothesis(alone, 'third-party-failure');
      const page = third.evidence_for.find((e) => e.signal === 'vendor_status');
      assert.ok(page, 'the unreachable page is listed');
      assert.ok(page.weight <= 0.5, `weight ${page.weight}`);
      assert.match(page.sentence, /weak evidence alone/);
      assert.ok(third.confidence < alone.unexplained, 'alone, it never outweighs "none of the four"');
      // With a bad rollout in the same minute, the rollout wins outright.
      const withRollout = triage(incident({
        vendors: [statusPage('hosted-statuspage', 10)],
        changes: { rollouts: [rollout('r-1', 9.9)], external: [] },
        errors: {
          by_module: [moduleErrors('api', (m) => (m >= 10 ? 0.05 : 0.001))],
          by_cohort: [cohort('r-1', 'v2', { from: 9.9, share: 0.25, withRatio: (m) => (m >= 10 ? 0.2 : 0.001), withoutRatio: () => 0.001 })],
        },
      }), END);
      assert.equal(top(withRollout).class, 'change-regression');
      assert.equal(top(withRollout).target?.id, 'r-1');
      assert.ok(top(withRollout).confidence > 0.95);
    });

    it('errors that flap every 5 minutes point at a periodic config regeneration', () => {
      const flapping = (m: number) => (m >= 10 && (m - 10) % 5 < 2 ? 0.05 : 0.001);
      const t = triage(incident({ ratio: flapping }), END);
      const change = hypothesis(t, 'change-regression');
      assert.ok(change.evidence_for.some((e) => e.signal === 'flapping' && /every 5 min/.test(e.sentence)), JSON.stringify(change.evidence_for));
      assert.ok(hypothesis(t, 'ddos').evidence_against.some((e) => /not of an attack/.test(e.sentence)));
      assert.match(change.first_action, /^find what regenerates every 5 min/);
      // A generated file pushed every 5 minutes, bad every other time: the errors switch in step with its pushes.
      const pushes = [10, 15, 20, 25, 30, 35].map((m, i) => rollout(`r-ff-${i + 1}`, m, { artifact: 'bot-features', module: 'api', kind: 'feature-file', version: `f${i + 1}` }));
      const inStep = (m: number) => (m >= 10 && Math.floor((m - 10) / 5) % 2 === 0 ? 0.05 : 0.001);
      const named = triage(incident({ ratio: inStep, changes: { rollouts: pushes, external: [] } }), END);
      assert.equal(top(named).class, 'change-regression');
      assert.equal(top(named).target?.id, 'r-ff-1');
      assert.match(top(named).first_action, /^stop pushing bot-features and roll back rollout r-ff-1/);
    });

    it('a dependency that slowed down only after one it calls is a symptom of that one', () => {
      const t = triage(incident({
        dependencies: [
          { ...dependency('payments-gateway', { latency: (m) => (m >= 11 ? 60 : 10) }), depends_on: ['stripe-api'] },
          dependency('stripe-api', { vendor: 'stripe', used_by: [], baselineLatency: 200, latency: (m) => (m >= 9.8 ? 1000 : 200) }),
        ],
      }), END);
      assert.equal(top(t).class, 'third-party-failure');
      assert.equal(top(t).target?.id, 'stripe');
      assert.ok(hypothesis(t, 'internal-degradation').evidence_against.some((e) => /a symptom of it/.test(e.sentence)));
    });
  });

  describe('missing signals', () => {
    it('lower the confidence, are listed, and never count as evidence', () => {
      const full = triage(attack(), END);
      const noEntropy = triage(attack({ entropy: false }), END);
      const noSources = triage(attack({ entropy: false, fresh: false }), END);
      const conf = (t: Triage) => hypothesis(t, 'ddos').confidence;
      assert.ok(conf(noEntropy) < conf(full), `${conf(noEntropy)} < ${conf(full)}`);
      assert.ok(conf(noSources) < conf(noEntropy), `${conf(noSources)} < ${conf(noEntropy)}`);
      assert.ok(noSources.unexplained > full.unexplained);
      const missing = hypothesis(noSources, 'ddos').missing_signals.map((m) => m.signal);
      assert.deepEqual(missing, ['source_entropy', 'never_seen_sources', 'request_mix']);
      for (const h of noSources.hypotheses) {
        assert.ok(![...h.evidence_for, ...h.evidence_against].some((e) => e.signal === 'source_entropy' || e.signal === 'never_seen_sources'), `${h.class} uses a missing signal`);
      }
    });

    it('take confidence from every hypothesis when a whole family is gone', () => {
      const full = triage(incident({ changes: { rollouts: [rollout('r-1', 9.8)], external: [] } }), END);
      const blind = triage(incident({ changes: { rollouts: [rollout('r-1', 9.8)], external: [] }, dependencies: [], vendors: [] }), END);
      assert.ok(blind.unexplained > full.unexplained);
      assert.ok(hypothesis(blind, 'internal-degradation').missing_signals.some((m) => m.signal === 'dependencies'));
      assert.ok(hypothesis(blind, 'third-party-failure').missing_signals.some((m) => m.signal === 'vendor_status'));
    });

    it('an empty input reads unknown, with every cause unlikely, and says what is missing', () => {
      const t = triage({}, END);
      assert.equal(t.hypotheses.length, 5);
      assert.equal(top(t).class, 'unknown');
      assert.ok(t.unexplained > 0.8, `unexplained ${t.unexplained}`);
      assert.equal(top(t).confidence, t.unexplained);
      for (const h of t.hypotheses.slice(1)) assert.ok(h.confidence < 0.1, `${h.class} ${h.confidence}`);
      assert.match(top(t).first_action, /^no cause has evidence enough to act on: hold changes and keep watching; missing: .*request rate/);
      assert.equal(t.first_alert_ms, null);
      assert.equal(t.first_error_ms, null);
    });
  });

  it('is deterministic and ignores every sample after now', () => {
    const input = attack();
    const now = at(20);
    assert.deepEqual(triage(input, now), triage(input, now));
    // A vendor outage and a rollout after now change nothing.
    const future = {
      ...input,
      changes: { rollouts: [rollout('r-future', 25)], external: [] },
      vendors: [statusPage('stripe', null, 22)],
      alerts: [...(input.alerts ?? []), { name: 'Later', started_at_ms: at(30) }],
    };
    assert.deepEqual(triage(future, now), triage(input, now));
  });

  it('ranks the four classes and unknown with confidences that sum to 1, and every item explains itself', () => {
    for (const input of [attack(), incident(), incident({ vendors: [statusPage('stripe', null, 10)] })]) {
      const t = triage(input, END);
      assert.deepEqual([...t.hypotheses.map((h) => h.class)].sort(), [...TRIAGE_CLASSES, 'unknown'].sort());
      assert.equal(t.hypotheses.find((h) => h.class === 'unknown')?.confidence, t.unexplained);
      const total = t.hypotheses.reduce((a, h) => a + h.confidence, 0);
      assert.ok(Math.abs(total - 1) < 1e-3, `sum ${total}`);
      for (let i = 1; i < t.hypotheses.length; i++) assert.ok((t.hypotheses[i - 1]?.confidence ?? 0) >= (t.hypotheses[i]?.confidence ?? 0));
      for (const h of t.hypotheses) {
        assert.ok(h.first_action.length > 20, h.class);
        for (const e of [...h.evidence_for, ...h.evidence_against]) {
          assert.ok(e.sentence.length > 10 && Number.isFinite(e.weight), JSON.stringify(e));
          assert.ok(e.value === null || Number.isFinite(e.value));
        }
      }
      assert.match(renderTriage(t), /^triage at /);
    }
  });
});
