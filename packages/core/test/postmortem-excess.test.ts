import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { badRolloutFacts, NOV18_CANARY } from '../../sim/src/postmortem-facts.ts';
import type { PostmortemExposure, PostmortemFacts, PostmortemRollout } from '../src/postmortem/index.ts';
import { postmortemData, renderPostmortem, Z95 } from '../src/postmortem/index.ts';
import { section } from './postmortem-helpers.ts';

/** The 18 November canary's facts with its rollout changed. */
function withRollout(change: (r: PostmortemRollout) => PostmortemRollout): PostmortemFacts {
  const f = badRolloutFacts(NOV18_CANARY);
  return { ...f, rollouts: f.rollouts.map(change) };
}

/**
 * The user's report: a version reached 1 node of 4; the 54 failed requests of the window were
 * the fleet's background rate (14 of them on that node, as many as its traffic predicts).
 */
const BACKGROUND_ONLY: PostmortemExposure = {
  from: NOV18_CANARY.start_ms, to: NOV18_CANARY.start_ms + 300_000, nodes: 1, requests: 10_000, errors: 14,
  baseline: { source: 'other-nodes', nodes: 3, requests: 30_000, errors: 40 },
};

describe('the failed requests a change caused: the excess over the background', () => {
  it('is the failed requests on the version\'s nodes minus what they fail at the background rate, with a 95% interval', () => {
    const facts = withRollout((r) => ({ ...r, fleet_nodes: 4, exposure: { ...BACKGROUND_ONLY, errors: 60 } }));
    const a = postmortemData(facts).impact.attributable;
    assert.ok(a);
    const expected = 10_000 * (40 / 30_000);
    const half = Z95 * Math.sqrt(60 + (10_000 ** 2 * 40) / 30_000 ** 2);
    assert.deepEqual([a.nodes_reached, a.fleet_nodes, a.failed_requests, a.requests, a.exposure_s], [1, 4, 60, 10_000, 300]);
    assert.equal(a.expected_failed, expected);
    assert.equal(a.excess_failed, 60 - expected);
    assert.equal(a.excess_low, 60 - expected - half);
    assert.equal(a.excess_high, 60 - expected + half);
    assert.equal(a.significant, true);
    assert.equal(a.baseline_source, 'other-nodes');
  });

  it('says so, and blames nothing, when the failures are the background rate', () => {
    const facts = withRollout((r) => ({ ...r, fleet_nodes: 4, exposure: BACKGROUND_ONLY }));
    const data = postmortemData(facts);
    assert.equal(data.impact.attributable?.significant, false);
    assert.ok(!data.findings.some((f) => f.code === 'fail-closed-widened'), 'no finding claims requests failed because of it');
    const md = renderPostmortem(facts, { audience: 'internal' });
    const summary = section(md, 'Summary');
    assert.match(summary, /It reached 1 of 4 nodes \(25%\) for 5 min\. The 14 requests that failed on them are the background rate \(13 expected at 0\.133%; excess −\d+ to \d+ at 95%\): no failed requests are attributable to the change\./);
    assert.doesNotMatch(summary, /It failed \d|on \d+ of 4 nodes/, 'the window\'s failures are not laid on the version');
    assert.match(section(md, 'Impact'), /\*\*Failed because of the change \(excess\):\*\* none measurable: 1 \(95% interval −\d+ to \d+\) is within the background rate/);
    const pub = renderPostmortem(facts, { audience: 'public' });
    assert.match(pub, /^# Incident report: 18 November 2025\n/, 'the public title does not say "errors"');
    assert.match(section(pub, 'Summary'), /reached 1 of our 4 servers\. Error rates on those servers stayed at their usual level: we found no failed requests caused by it\./);
    assert.match(section(pub, 'Impact'), /\*\*Requests that failed because of the change:\*\* none beyond the usual error rate of those servers/);
  });

  it('does not guess when no background was recorded', () => {
    const facts = withRollout((r) => ({ ...r, exposure: { ...BACKGROUND_ONLY, baseline: null } }));
    const a = postmortemData(facts).impact.attributable;
    assert.deepEqual([a?.expected_failed, a?.excess_failed, a?.significant], [null, null, null]);
    assert.match(section(renderPostmortem(facts, { audience: 'internal' }), 'Summary'), /the background error rate is not recorded, so how many of them the change caused is not known/);
  });
});

describe('rolled back, aborted and paused are told apart', () => {
  const gateAt = NOV18_CANARY.start_ms + NOV18_CANARY.gate_after_ms;
  const aborted = withRollout((r) => ({ ...r, status: 'aborted', rollback_cause: 'abort', failed_gate: null, rolled_back_at: null, aborted_at: gateAt + 30_000 }));
  const paused = withRollout((r) => ({ ...r, status: 'paused', rollback_cause: null, rollback_started_at: null, rolled_back_at: null, paused_at: gateAt }));

  it('a gate\'s rollback is automatic', () => {
    const data = postmortemData(badRolloutFacts(NOV18_CANARY));
    assert.deepEqual(data.response.rollbacks.map((b) => [b.outcome, b.cause]), [['rolled_back', 'gate']]);
    assert.equal(data.response.mitigated_by, 'rollback');
    assert.match(section(renderPostmortem(badRolloutFacts(NOV18_CANARY), { audience: 'internal' }), 'Response and recovery'), /\*\*Rollback:\*\* rollout `ro-7f3a9c` rolled back automatically \(a gate failed\)/);
  });

  it('an operator\'s abort is an abort in both drafts, not an automatic rollback', () => {
    const data = postmortemData(aborted);
    assert.deepEqual(data.response.rollbacks.map((b) => [b.outcome, b.cause, b.completed_at]), [['aborted', 'abort', new Date(gateAt + 30_000).toISOString()]]);
    assert.deepEqual([data.response.mitigated_by, data.response.time_to_mitigate_s], ['abort', (NOV18_CANARY.gate_after_ms + 30_000) / 1000]);
    const md = renderPostmortem(aborted, { audience: 'internal' });
    assert.match(section(md, 'Response and recovery'), /\*\*Aborted:\*\* rollout `ro-7f3a9c` aborted by an operator at .*, which reverted it \(no gate rolled it back\)/);
    assert.doesNotMatch(md, /rolled back automatically|an automatic rollback/);
    const pub = renderPostmortem(aborted, { audience: 'public' });
    assert.match(pub, /Our engineers stopped the change, which reverted it, 48 s after it began\./);
    assert.match(pub, /Our engineers stopped the change; it was reverted on every server that had received it by/);
    assert.doesNotMatch(pub, /reverted automatically|Automatic rollback/);
  });

  it('a pause is a pause: nothing was reverted, and nothing is called mitigated', () => {
    const data = postmortemData(paused);
    assert.deepEqual(data.response.rollbacks, []);
    assert.deepEqual(data.response.paused.map((p) => [p.rollout, p.nodes, p.paused_at]), [['ro-7f3a9c', 10, new Date(gateAt).toISOString()]]);
    assert.equal(data.response.mitigated_by, null);
    const md = renderPostmortem(paused, { audience: 'internal' });
    assert.match(section(md, 'Response and recovery'), /\*\*Paused:\*\* rollout `ro-7f3a9c` paused at .* in stage `canary`, not reverted: the new version stays on 10 of 1,000 nodes/);
    assert.match(section(md, 'Summary'), /It was paused, not reverted/);
    const pub = renderPostmortem(paused, { audience: 'public' });
    assert.match(pub, /The rollout of the change was paused; it was not reverted\./);
    assert.match(pub, /it was paused, not reverted, at that stage/);
    assert.doesNotMatch(pub, /reverted automatically|Automatic rollback|reverted on every server/);
  });
});
