import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../packages/agent/src/index.ts';
import { call, testServer, waitFor } from '../packages/server/test/fixtures.ts';

/**
 * A gate split by a node label, through a real control plane and 100 real agents (HTTP): a
 * change that breaks only hardware generation g2 (2 nodes, 2% of the fleet) is rolled back at
 * the canary, by the g2 group's verdict; a healthy change completes; a by: label no node has
 * is refused at rollout start.
 */
const DECLARATIONS = `
modules:
  proxy: { on_load_failure: serve-stale }
artifacts:
  proxy-config: { kind: config, module: proxy, policy: split }
  other-config: { kind: config, module: proxy, policy: by-rack }
policies:
  split:
    interval: 500ms
    bake: 2s
    load_timeout: 10s
    max_extension: 60s
    stages:
      - name: canary
        scope: 5% nodes
        health_gates:
          - { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 50%, alpha: 0.001, min_samples: 20000, by: hardware_generation, require_each_group: true }
      - { name: global, scope: 100% nodes, health_gates: [ { module: proxy, metric: error_rate, threshold: 0.01 } ] }
  by-rack:
    stages:
      - name: canary
        scope: 5% nodes
        health_gates:
          - { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 50%, by: rack }
`;

const NODES = 100;
const g2 = (i: number) => i % 50 === 0; // n0 and n50

test('a gate split by hardware_generation rolls back a change that breaks only the 2% of nodes on g2, and completes a healthy one', { timeout: 240_000 }, async (t) => {
  const s = await testServer();
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  for (let i = 0; i < NODES; i++) {
    agents.push(new Agent({
      server: s.url, token, publicKey: s.publicKey, nodeId: `n${i}`, labels: { hardware_generation: g2(i) ? 'g2' : 'g1' }, modules: ['proxy'],
      dir: join(s.dir, `agent-${i}`), metricsIntervalMs: 500, pollWaitMs: 5000,
      // 20,000 requests a push at 0.1% errors; a "bad" config fails 1% of them, on g2 only.
      onInterval: (a) => a.meter('proxy').requests(20_000, g2(i) && a.serving()['proxy-config']?.startsWith('bad') ? 200 : 20, 12),
    }));
  }
  await Promise.all(agents.map((a) => a.start()));
  await waitFor(`${NODES} nodes`, async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === NODES);
  for (const v of ['good-0', 'good-1', 'bad-2']) await call(s.url, 'POST', `/v1/artifacts/proxy-config/versions?version=${v}`, { token: s.admin, body: `{"v":"${v}"}` });
  const run = async (version: string) => {
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'proxy-config', version } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return waitFor(`rollout of ${version}`, async () => {
      const st = (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout;
      return ['completed', 'rolled_back', 'paused', 'aborted'].includes(st.status) ? st : undefined;
    }, 180_000);
  };
  // Every node's pushes must be on record before the first rollout starts: both g2 nodes go to the
  // canary (stratified), so with no g2 node left outside it, g2 is judged against its nodes' own
  // history. On a busy machine the first push of a node could otherwise land after the start.
  await waitFor('every node\'s first metrics', async () => (await s.store.metricsByNode('proxy', 0, Date.now())).size === NODES || undefined, 60_000);
  // Every node first serves good-0: the history and the baseline of the next rollouts.
  const first = await run('good-0');
  assert.equal(first.status, 'completed', JSON.stringify(first.last_verdicts ?? first.pause_reason));

  const healthy = await run('good-1');
  assert.equal(healthy.status, 'completed', JSON.stringify(healthy.last_verdicts ?? healthy.pause_reason));

  const bad = await run('bad-2');
  assert.equal(bad.status, 'rolled_back', JSON.stringify(bad.last_verdicts ?? bad.pause_reason));
  assert.equal(bad.outcome.stage, 'canary');
  assert.match(bad.outcome.verdict.reason, /failed in hardware_generation=g2/);
  const groups = bad.outcome.verdict.groups as { value: string; status: string; cohort_nodes: number }[];
  assert.deepEqual(groups.map((g) => [g.value, g.status, g.cohort_nodes]).find((g) => g[0] === 'g2'), ['g2', 'fail', 2]);
  // The canary held both g2 nodes (stratified) and only its share of g1: 5 + 2 of 100.
  assert.equal(bad.assigned.length, 7);

  // A by: label no node has is refused before anything moves.
  await call(s.url, 'POST', '/v1/artifacts/other-config/versions?version=v1', { token: s.admin, body: '{"v":1}' });
  const refused = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'other-config', version: 'v1' } });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.code, 'UNKNOWN_LABEL');
  assert.match(refused.body.error.hint, /hardware_generation/);
});
