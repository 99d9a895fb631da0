import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../packages/agent/src/index.ts';
import { call, testServer, waitFor } from '../packages/server/test/fixtures.ts';

const DECLARATIONS = `
modules:
  proxy: { on_load_failure: serve-stale }
artifacts:
  proxy-config: { kind: config, module: proxy, policy: vs-baseline }
policies:
  vs-baseline:
    interval: 500ms
    bake: 2s
    load_timeout: 5s
    max_extension: 20s
    stages:
      - name: canary
        scope: 2 nodes
        health_gates: &gates
          - { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 50%, alpha: 0.001, min_samples: 20000 }
      - { name: global, scope: 100% nodes, health_gates: [ { module: proxy, metric: error_rate, threshold: 0.01 } ] }
`;

test('a compare: baseline gate passes a healthy canary and rolls back a 10× error regression, with the test in its verdict', { timeout: 180_000 }, async (t) => {
  const s = await testServer();
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  for (let i = 0; i < 10; i++) {
    agents.push(new Agent({
      server: s.url, token, publicKey: s.publicKey, nodeId: `b${i}`, labels: {}, modules: ['proxy'], dir: join(s.dir, `agent-${i}`), metricsIntervalMs: 250, pollWaitMs: 5000,
      // 4,000 requests a push; a "bad" config fails 1% of them, ten times the baseline's 0.1%.
      onInterval: (a) => a.meter('proxy').requests(4000, a.serving()['proxy-config']?.startsWith('bad') ? 40 : 4, 12),
    }));
  }
  await Promise.all(agents.map((a) => a.start()));
  await waitFor('10 nodes', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 10);
  for (const v of ['good-0', 'good-1', 'bad-2']) await call(s.url, 'POST', `/v1/artifacts/proxy-config/versions?version=${v}`, { token: s.admin, body: `{"v":"${v}"}` });
  const run = async (version: string) => {
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'proxy-config', version } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return waitFor(`rollout of ${version}`, async () => {
      const st = (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout;
      return ['completed', 'rolled_back', 'paused', 'aborted'].includes(st.status) ? st : undefined;
    }, 120_000);
  };
  // Every node first serves good-0, so the baseline of the next rollouts has traffic on a known version.
  assert.equal((await run('good-0')).status, 'completed');

  const healthy = await run('good-1');
  assert.equal(healthy.status, 'completed', JSON.stringify(healthy.last_verdicts ?? healthy.pause_reason));
  const events = (await call(s.url, 'GET', `/v1/rollouts/${healthy.id}/events?limit=5000`)).body.events as { type: string; payload: { verdicts?: { status: string; test?: string }[] } }[];
  const passed = events.flatMap((e) => e.payload.verdicts ?? []).find((v) => v.status === 'pass' && v.test);
  assert.match(passed?.test ?? '', /always-valid confidence sequence/);

  const bad = await run('bad-2');
  assert.equal(bad.status, 'rolled_back');
  assert.equal(bad.outcome.stage, 'canary');
  assert.match(bad.outcome.verdict.reason, /failed: error rate regressed/);
  assert.ok(bad.outcome.verdict.interval[0] > 0, 'the whole interval lies on the bad side');
});
