import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../packages/agent/src/index.ts';
import { call, testServer, waitFor } from '../packages/server/test/fixtures.ts';

/**
 * The holdback through a real control plane and 20 real agents (HTTP): a healthy change
 * completes once the holdback window ends and the held-back nodes take it; a change whose
 * errors start to climb only after the last stage passed is caught by the holdback's gate
 * against the held-back nodes, and the whole fleet is rolled back.
 */
const DECLARATIONS = `
modules:
  proxy: { on_load_failure: serve-stale }
artifacts:
  proxy-config: { kind: config, module: proxy, policy: with-holdback }
policies:
  with-holdback:
    interval: 500ms
    bake: 2s
    load_timeout: 10s
    max_extension: 60s
    stages:
      - { name: canary, scope: 10% nodes, health_gates: [ { module: proxy, metric: error_rate, threshold: 0.01, window: 2s, min_samples: 1000 } ] }
      - { name: global, scope: 100% nodes, health_gates: [ { module: proxy, metric: error_rate, threshold: 0.01, window: 2s, min_samples: 1000 } ] }
    holdback:
      scope: 10% nodes
      for: 15s
      health_gates:
        - { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 50%, alpha: 0.001, min_samples: 20000 }
`;

const NODES = 20;

test('a holdback completes a healthy change after its window, and rolls back a slow burn that starts after the last stage', { timeout: 240_000 }, async (t) => {
  const s = await testServer();
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  // The slow burn: once `burning` is set, nodes serving a "burn" version fail more of their requests every push.
  let burning = false;
  for (let i = 0; i < NODES; i++) {
    let pushes = 0;
    agents.push(new Agent({
      server: s.url, token, publicKey: s.publicKey, nodeId: `h${i}`, labels: {}, modules: ['proxy'], dir: join(s.dir, `agent-${i}`), metricsIntervalMs: 250, pollWaitMs: 5000,
      onInterval: (a) => {
        const burn = burning && (a.serving()['proxy-config'] ?? '').startsWith('burn');
        if (burn) pushes++;
        a.meter('proxy').requests(20_000, burn ? 20 + Math.min(400, 20 * pushes) : 20, 12);
      },
    }));
  }
  await Promise.all(agents.map((a) => a.start()));
  await waitFor(`${NODES} nodes`, async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === NODES);
  for (const v of ['good-0', 'good-1', 'burn-2']) await call(s.url, 'POST', `/v1/artifacts/proxy-config/versions?version=${v}`, { token: s.admin, body: `{"v":"${v}"}` });
  const start = async (version: string) => {
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'proxy-config', version } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.rollout.id as string;
  };
  const status = async (id: string) => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout;
  const finished = (id: string) => waitFor(`rollout ${id}`, async () => {
    const st = await status(id);
    return ['completed', 'rolled_back', 'paused', 'aborted'].includes(st.status) ? st : undefined;
  }, 180_000);

  const first = await finished(await start('good-0'));
  assert.equal(first.status, 'completed', JSON.stringify(first.last_verdicts ?? first.pause_reason));

  // Healthy: while the holdback runs, 2 nodes stay on good-0; at the end every node serves good-1.
  const healthyId = await start('good-1');
  const during = await waitFor('the holdback stage', async () => { const st = await status(healthyId); return st.policy_spec.stages[st.stage_index]?.name === 'holdback' ? st : undefined; }, 120_000);
  assert.equal(during.assigned.length, NODES - 2);
  const healthy = await finished(healthyId);
  assert.equal(healthy.status, 'completed', JSON.stringify(healthy.last_verdicts ?? healthy.pause_reason));
  await waitFor('every node on good-1', async () => agents.every((a) => a.serving()['proxy-config'] === 'good-1'), 60_000);
  const events = (await call(s.url, 'GET', `/v1/rollouts/${healthyId}/events?limit=5000`)).body.events as { type: string; payload: { stage?: string; reason?: string } }[];
  const held = events.find((e) => e.type === 'rollout.stage_started' && e.payload.stage === 'holdback');
  assert.match(held?.payload.reason ?? '', /2 nodes \(10% nodes\) stay on good-0 for 15s as the baseline, then take good-1 too/);

  // A slow burn: every stage passes; errors start to climb only once the holdback has begun.
  const burnId = await start('burn-2');
  await waitFor('the holdback stage', async () => { const st = await status(burnId); return st.policy_spec.stages[st.stage_index]?.name === 'holdback' ? st : undefined; }, 120_000);
  burning = true;
  const burnt = await finished(burnId);
  assert.equal(burnt.status, 'rolled_back', JSON.stringify(burnt.last_verdicts ?? burnt.pause_reason));
  assert.equal(burnt.outcome.stage, 'holdback');
  assert.match(burnt.outcome.verdict.reason, /error rate regressed/);
  await waitFor('every node back on good-1', async () => agents.every((a) => a.serving()['proxy-config'] === 'good-1'), 60_000);
});
