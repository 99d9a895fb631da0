import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postmortemData, renderPostmortem } from '@failsmall/core';
import { simulate, simulatedIncident, type Scenario } from '../src/index.ts';
import { shipped } from './helpers.ts';

/** "1,234", "−2": the drafts' number format. */
const fmt = (n: number): string => `${n < 0 ? '−' : ''}${Math.abs(n).toLocaleString('en-US')}`;
const rounded = (n: number | null): string => fmt(Math.round(n ?? Number.NaN));

/**
 * The same latency regression with no error of its own: the latency gate rolls it back, and
 * every request that fails on its nodes fails at the fleet's background rate.
 */
function latencyOnly(): Scenario {
  const s = shipped('latency-regression');
  return { ...s, behaviour: s.behaviour.map((r) => ({ ...r, effect: { ...r.effect, error_rate: 0 } })) };
}

const CASES: { name: string; scenario: () => Scenario; causes: boolean }[] = [
  { name: 'error-creep: a leaky build the error gate rolls back at the partial stage', scenario: () => shipped('error-creep'), causes: true },
  { name: 'latency-regression without its errors: rolled back for latency, its failures only the background', scenario: latencyOnly, causes: false },
];

/**
 * Postmortem drafts of simulated incidents, held against the simulator's truth: what the
 * control plane records (the engine's events and states, the counters split by the rollout's
 * cohort) goes into the facts; what only the simulator knows (how many failed requests the
 * change itself caused, which nodes served the version, when the last node was back on a good
 * version, its own summary of the rollout) is the answer key.
 */
describe('a postmortem of a simulated incident tells the simulator\'s truth', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      const scenario = c.scenario();
      const report = simulate(scenario, { regimes: ['staged'], record: true });
      const incident = simulatedIncident(scenario, report);
      assert.ok(incident.ok, incident.ok ? '' : incident.errors.map((e) => e.message).join('; '));
      const { facts, truth } = incident.value;
      const data = postmortemData(facts);
      const a = data.impact.attributable;
      assert.ok(a, 'the draft measures the rollout on its own nodes');

      it('names the states the simulator ended in: rolled back by its gate, at its stage', () => {
        assert.equal(truth.rollout.final_state, 'rolled_back');
        assert.equal(a.status, truth.rollout.final_state);
        assert.deepEqual(data.response.rollbacks.map((b) => [b.outcome, b.cause, b.stage]), [['rolled_back', 'gate', truth.rollout.stopped_at_stage]]);
        assert.deepEqual(data.response.paused, []);
        assert.equal(data.response.mitigated_by, 'rollback');
        assert.equal(data.detection.gate?.gate, truth.rollout.failing_gate);
        assert.equal(data.detection.gate?.reason, truth.rollout.reason);
      });

      it('counts the nodes the version reached, not the fleet', () => {
        assert.ok(truth.nodes_served > 0 && truth.nodes_served < report.nodes);
        assert.equal(a.nodes_reached, truth.nodes_served);
        assert.equal(a.fleet_nodes, report.nodes);
        assert.equal(data.response.rollbacks[0]?.nodes, truth.nodes_served, 'the widest stage\'s cohort is every node that served it');
      });

      it('gives the durations the simulator measured', () => {
        const ran = (truth.rollout.ended_seconds ?? Number.NaN) - truth.rollout.started_seconds;
        assert.equal(a.exposure_s, ran);
        assert.equal(data.response.rollbacks[0]?.exposure_s, ran);
        assert.equal(data.detection.time_to_detect_s, truth.detect_seconds);
        assert.equal(data.response.time_to_mitigate_s, (truth.detect_seconds ?? Number.NaN) + (truth.rollback_seconds ?? Number.NaN), 'mitigated when the last node was back on a good version');
      });

      it(`puts the failed requests the change caused inside the excess's 95% interval, and calls it ${c.causes ? 'significant' : 'the background'}`, () => {
        assert.equal(truth.change_errors_elsewhere, 0, 'every failure the change caused was on its nodes while it ran');
        assert.equal(truth.change_errors, report.regimes.staged?.failed_requests);
        assert.equal(truth.change_errors > 0, c.causes);
        assert.ok(a.failed_requests >= truth.change_errors, 'the failed requests on its nodes hold what it caused and their background');
        assert.ok(a.excess_low !== null && a.excess_high !== null);
        assert.ok(a.excess_low <= truth.change_errors && truth.change_errors <= a.excess_high, `truth ${truth.change_errors} in [${a.excess_low}, ${a.excess_high}]`);
        assert.equal(a.significant, c.causes);
        assert.equal(a.baseline_source, 'other-nodes');
        assert.equal(a.baseline_nodes, report.nodes - truth.nodes_served);
      });

      it('writes those numbers into both drafts, and blames the version only for what it caused', () => {
        const md = renderPostmortem(facts, { audience: 'internal' });
        assert.ok(md.includes(`It reached ${fmt(truth.nodes_served)} of ${fmt(report.nodes)} nodes`), md);
        assert.ok(md.includes(`(95% interval ${rounded(a.excess_low)} to ${rounded(a.excess_high)})`), md);
        assert.ok(md.includes(`**Failed requests on them:** ${fmt(a.failed_requests)} of ${fmt(a.requests)}`), md);
        assert.match(md, new RegExp(`rolled back automatically \\(a gate failed\\) from [^;]+; the new version reached ${fmt(truth.nodes_served)} of ${fmt(report.nodes)} nodes`));
        const pub = renderPostmortem(facts, { audience: 'public' });
        if (c.causes) {
          assert.ok(md.includes(`On them, ${rounded(a.excess_failed)} more requests failed than the background rate predicts`), md);
          assert.ok(pub.includes(`About ${rounded(a.excess_failed)} requests failed because of it (between ${rounded(a.excess_low)} and ${rounded(a.excess_high)}), on the ${fmt(truth.nodes_served)} of our ${fmt(report.nodes)} servers that received it.`), pub);
        } else {
          assert.ok(md.includes(`The ${fmt(a.failed_requests)} requests that failed on them are the background rate`), md);
          assert.ok(md.includes('no failed requests are attributable to the change'), md);
          assert.ok(pub.includes(`reached ${fmt(truth.nodes_served)} of our ${fmt(report.nodes)} servers. Error rates on those servers stayed at their usual level`), pub);
          assert.doesNotMatch(pub, /errors on|failed because of it/);
        }
        assert.ok(pub.includes('The change was reverted automatically'), pub);
      });
    });
  }

  it('refuses a run it cannot draft from, with a code and a hint', () => {
    const scenario = shipped('healthy-noisy');
    const noRecord = simulatedIncident(scenario, simulate(scenario, { regimes: ['staged'], nodes: 200 }));
    assert.deepEqual(noRecord.ok ? [] : noRecord.errors.map((e) => [e.code, typeof e.hint]), [['NO_RECORD', 'string']]);
    const healthy = simulatedIncident(scenario, simulate(scenario, { regimes: ['staged'], nodes: 200, record: true }));
    assert.deepEqual(healthy.ok ? [] : healthy.errors.map((e) => [e.code, typeof e.hint]), [['NO_FAILED_ROLLOUT', 'string']]);
  });
});
