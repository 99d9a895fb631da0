/**
 * Notices read as sentences: the rollback sentence from a rollout's state and its failing
 * gate's verdict, and the Slack message built on it, with fields labelled in words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RolloutState, Verdict } from '@failsmall/core';
import { gateNumber, rollbackSentence } from '../src/incidents/rollback-sentence.ts';
import { slackPayload } from '../src/notify/index.ts';

const verdict = { gate: 'error_rate', metric: 'error_rate', status: 'fail', value: 0.023, threshold: 0.01, reason: 'error_rate 0.023 > 0.01 over 2 of 2 cohort nodes' } as const;
// Only what the sentence reads: a full RolloutState has some forty fields it does not.
const rollout = { id: 'r-12', artifact: 'api-server', to_version: '2.41.0', outcome: { stage: 'canary', reason: 'gate error_rate failed', verdict: verdict as unknown as Verdict } } as unknown as RolloutState;
// What the rollout.rolled_back event carries (core/src/rollout/step.ts).
const payload = { stage: 'canary', to_version: '2.40.3', nodes: 2, confirmed: 2, unconfirmed: [], unconfirmed_count: 0, reason: 'all 2 nodes that received 2.41.0 serve 2.40.3 again' };

describe('notices as sentences', () => {
  it('says which rollout of what came back, where, and by how much the gate missed', () => {
    assert.equal(rollbackSentence('r-12', rollout, payload), 'Rollout r-12 of api-server 2.41.0 rolled back at stage canary: gate error_rate failed (2.3% vs 1% threshold).');
    assert.equal(rollbackSentence('r-12', undefined, payload), 'Rollout r-12 rolled back at stage canary: all 2 nodes that received 2.41.0 serve 2.40.3 again.', 'without the rollout, the event alone');
    const noData = { ...rollout, outcome: { stage: 'canary', reason: 'no data', verdict: { ...verdict, value: null, status: 'inconclusive' } } } as unknown as RolloutState;
    assert.equal(rollbackSentence('r-12', noData, payload), 'Rollout r-12 of api-server 2.41.0 rolled back at stage canary: gate error_rate stayed inconclusive (no data; threshold 1%).');
    assert.deepEqual([gateNumber('load_success_rate', 0.999), gateNumber('p99_latency_ms', 123.456), gateNumber('error_rate', 3)], ['99.9%', '123.5', '3']);
  });

  it('gives Slack the sentence and the incident, and fields in words without raw JSON', () => {
    const p = slackPayload({
      kind: 'rollout.rolled_back', id: 'event:7', at: Date.UTC(2026, 11, 6, 3),
      incident: { id: 'inc-4', title: 'api-server 2.41.0: gate error_rate failed at stage canary', severity: 'sev3', status: 'open' },
      summary: rollbackSentence('r-12', rollout, payload), details: { rollout: 'r-12', ...payload, unconfirmed: ['n-1', 'n-2'], verdict },
    });
    assert.equal(p.text, 'Rollout r-12 of api-server 2.41.0 rolled back at stage canary: gate error_rate failed (2.3% vs 1% threshold). Incident inc-4 (sev3, open): api-server 2.41.0: gate error_rate failed at stage canary.');
    const fields = p.blocks.flatMap((b) => ('fields' in b ? b.fields.map((f) => f.text) : []));
    assert.ok(fields.includes('*To version*\n2.40.3'), fields.join(' | '));
    assert.ok(fields.includes('*Unconfirmed*\nn-1, n-2'), fields.join(' | '));
    assert.ok(fields.includes('*Unconfirmed count*\n0'), fields.join(' | '));
    assert.equal(fields.length, 10, 'Block Kit allows ten fields');
    assert.ok(!fields.some((f) => /_/.test(f.split('\n')[0] ?? '') || /[{}[\]"]/.test(f)), `no raw keys or JSON: ${fields.join(' | ')}`);
    const opened = slackPayload({ kind: 'incident.opened', id: 'incident:inc-4', at: 0, incident: { id: 'inc-4', title: 'checkout 5xx', severity: 'sev2', status: 'open' }, summary: 'Incident inc-4 (sev2) opened by an alert: checkout 5xx', details: {} });
    assert.equal(opened.text, 'Incident inc-4 (sev2) opened by an alert: checkout 5xx.', 'a summary that names its incident is not followed by it again');
    const other = slackPayload({ kind: 'incident.resolved', id: 'r', at: 0, incident: { id: 'inc-4', title: 't', severity: 'sev2', status: 'resolved' }, summary: 'incident inc-42 resolved', details: {} });
    assert.equal(other.text, 'Incident inc-42 resolved. Incident inc-4 (sev2, resolved): t.', 'inc-42 is not inc-4');
    const few = slackPayload({ kind: 'rollout.rolled_back', id: 'event:8', at: 0, summary: 'x', details: { verdict, evidence: { nested: [1] }, flag: true } });
    const shown = few.blocks.flatMap((b) => ('fields' in b ? b.fields.map((f) => f.text) : []));
    assert.deepEqual(shown, [`*Verdict*\n${verdict.reason.replace(">", "&gt;")}`, '*Flag*\nyes'], 'an object reads by its reason; one without is left to the webhook');
  });
});
