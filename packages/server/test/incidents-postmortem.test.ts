import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '@failsmall/agent';
import { featureFleet } from './feature-fleet.ts';
import { call, DECLARATIONS, testServer, waitFor } from './fixtures.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

/** A policy whose one-node canary pauses (rather than rolls back) when its gate fails, so that a person decides. */
const PAUSING = `${DECLARATIONS.trimEnd()}
  pausing:
    { interval: 200ms, bake: 400ms, load_timeout: 2s, max_extension: 2s, rollback_on_failure: false, stages: [
      { name: canary, scope: 1 nodes, health_gates: [{ module: bot-management, metric: load_success_rate, threshold: 0.999, window: 2s }] },
      { name: global, scope: 100% nodes, health_gates: [] } ] }
`;

/**
 * The user's report, replayed through the API with real agents: a version reaches 1 node of
 * 4, its gate pauses it, an operator aborts it; every node fails requests at the same
 * background rate (the canary's agent keeps serving the old version, so the change fails
 * nothing). The postmortem must not blame the version for the fleet's background failures,
 * must count the 1 node it reached, and must call the abort an abort.
 */
describe('the postmortem of a recorded incident blames a version only for its excess', () => {
  let s: Server;
  let agents: Agent[] = [];
  before(async () => {
    s = await testServer({ incidentTickMs: 50 });
    agents = await featureFleet(s, { bad: ['v2', 'v3'], nodes: ['p1', 'p2', 'p3', 'p4'], declarations: PAUSING });
    const r1 = await post('/v1/rollouts', { artifact: 'features', version: 'v1' });
    await waitFor('v1', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`)).body.rollout.status === 'completed', 30_000);
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.cleanup();
  });
  const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });

  /** Starts `version` under the pausing policy while every node reports traffic (the canary `canaryErrors` failures a batch, the others 5), and aborts it once paused. */
  async function pausedThenAborted(version: string, canaryErrors: number) {
    const started = await post('/v1/rollouts', { artifact: 'features', version, policy: 'pausing' });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.rollout.id as string;
    const canary = new Set(started.body.rollout.assigned as string[]);
    const traffic = setInterval(() => { for (const a of agents) a.meter('bot-management').requests(1000, canary.has(a.nodeId) ? canaryErrors : 5, 5); }, 50);
    try {
      await waitFor(`${version} paused by its gate`, async () => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout.status === 'paused', 30_000);
      // Some traffic while it is paused, then the operator aborts it.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await post(`/v1/rollouts/${id}/abort`, { reason: 'not worth the risk' })).status, 200);
      await waitFor(`${version} aborted`, async () => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout.status === 'aborted', 30_000);
      await new Promise((r) => setTimeout(r, 300)); // the last pushes after the abort land past the exposure's end
    } finally {
      clearInterval(traffic);
    }
    const incident = await waitFor('its incident', async () => ((await call(s.url, 'GET', '/v1/incidents')).body.incidents as { id: string; rollout_id: string }[]).find((i) => i.rollout_id === id));
    await post(`/v1/incidents/${incident.id}/status`, { status: 'resolved' });
    const json = (await call(s.url, 'GET', `/v1/incidents/${incident.id}/postmortem?format=json`)).body;
    const md = (await call(s.url, 'GET', `/v1/incidents/${incident.id}/postmortem`)).body as string;
    const pub = (await call(s.url, 'GET', `/v1/incidents/${incident.id}/postmortem?audience=public`)).body as string;
    return { id, canary, json, md, pub };
  }

  it('a version that reached 1 of 4 nodes and failed nothing beyond the background: not blamed, and aborted, not rolled back', async () => {
    const { id, canary, json, md, pub } = await pausedThenAborted('v2', 5);
    assert.equal(canary.size, 1);
    const a = json.postmortem.impact.attributable;
    assert.deepEqual([a.rollout, a.nodes_reached, a.fleet_nodes, a.status, a.baseline_source, a.baseline_nodes], [id, 1, 4, 'aborted', 'other-nodes', 3]);
    // The facts the numbers come from are the store's: the canary's counters, and the other nodes' over the same time.
    const exposure = json.facts.rollouts.find((r: { id: string }) => r.id === id).exposure;
    assert.deepEqual([a.requests, a.failed_requests], [exposure.requests, exposure.errors]);
    assert.ok(exposure.requests >= 2000, `the canary reported traffic: ${JSON.stringify(exposure)}`);
    assert.equal(a.expected_failed, exposure.requests * (exposure.baseline.errors / exposure.baseline.requests));
    assert.equal(a.significant, false, JSON.stringify(a));
    assert.ok(json.postmortem.impact.failed_requests > a.failed_requests, 'the window holds every node\'s background failures');
    assert.deepEqual(json.postmortem.response.rollbacks.map((b: { outcome: string; cause: string }) => [b.outcome, b.cause]), [['aborted', 'abort']]);
    assert.equal(json.postmortem.response.mitigated_by, 'abort');

    assert.match(md, /It reached 1 of 4 nodes \(25%\) for [^.]+\. The [\d,]+ requests that failed on them are the background rate/);
    assert.match(md, /no failed requests are attributable to the change/);
    assert.doesNotMatch(md, /It failed [\d,]+ of|on 4 of 4 nodes/);
    assert.match(md, /\*\*Aborted:\*\* rollout `r-[0-9a-f]+` aborted by an operator/);
    assert.doesNotMatch(md, /rolled back automatically|an automatic rollback/);
    assert.match(pub, /^# Incident report: \d+ \w+ \d{4}\n/, 'the public title does not say "errors"');
    assert.match(pub, /reached 1 of our 4 servers\. Error rates on those servers stayed at their usual level/);
    assert.match(pub, /Our engineers stopped the change, which reverted it/);
    assert.doesNotMatch(pub, /reverted automatically|Automatic rollback/);
  });

  it('a version whose node fails ten times the background is blamed for the excess, on the node it reached', async () => {
    const { json, md } = await pausedThenAborted('v3', 50);
    const a = json.postmortem.impact.attributable;
    assert.deepEqual([a.nodes_reached, a.fleet_nodes, a.significant], [1, 4, true]);
    assert.ok(a.excess_low > 0 && a.excess_low <= a.excess_failed && a.excess_failed <= a.excess_high);
    // About 45 of every 1,000 of its requests failed beyond the background's 5.
    assert.ok(Math.abs(a.excess_failed / a.requests - 0.045) < 0.005, JSON.stringify(a));
    assert.match(md, new RegExp(`On them, ${Math.round(a.excess_failed).toLocaleString('en-US')} more requests failed than the background rate predicts`));
  });
});
