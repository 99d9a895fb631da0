import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '@failsmall/agent';
import { featureFleet } from './feature-fleet.ts';
import { call, DECLARATIONS, testServer } from './fixtures.ts';

/**
 * Issue 14 (found by a new user): on 4 nodes a "10% nodes" stage after a 1% canary added nobody,
 * silently. Starting such a rollout now says so in `warnings`, and still starts it.
 */
describe('a rollout whose stage adds no node on this fleet', () => {
  let s: Awaited<ReturnType<typeof testServer>>;
  const agents: Agent[] = [];
  const steps = `${DECLARATIONS}  steps:
    stages:
      - { name: canary, scope: 1% nodes, health_gates: [] }
      - { name: ten, scope: 10% nodes, health_gates: [] }
      - { name: all, scope: 100% nodes, health_gates: [] }
`;
  before(async () => {
    s = await testServer();
    agents.push(...await featureFleet(s, { bad: [], nodes: ['s1', 's2', 's3', 's4'], declarations: steps }));
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.cleanup();
  });

  it('answers 201 with a STAGE_ADDS_NO_NODE warning naming the stage, and none for a policy whose stages grow', async () => {
    await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: '["two"]' });
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v2', policy: 'steps' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.warnings.map((w: { code: string; stage: string }) => [w.code, w.stage]), [['STAGE_ADDS_NO_NODE', 'ten']]);
    assert.match(r.body.warnings[0].message, /^stage ten reaches 1 of 4 nodes, no more than stage canary \(1\)/);
    await call(s.url, 'POST', `/v1/rollouts/${r.body.rollout.id}/abort`, { token: s.admin, json: { reason: 'test' } });
    await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v3', { token: s.admin, body: '["three"]' });
    const quick = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v3', policy: 'quick' } });
    assert.equal(quick.status, 201, JSON.stringify(quick.body));
    assert.deepEqual(quick.body.warnings, []);
  });
});
