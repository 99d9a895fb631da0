import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../packages/agent/src/index.ts';
import { call, testServer, waitFor } from '../packages/server/test/fixtures.ts';
import { freePort } from './helpers/procs.ts';
import { TestPrometheus } from './helpers/prometheus.ts';

const DECLARATIONS = `
modules:
  proxy: { on_load_failure: serve-stale }
artifacts:
  proxy-config: { kind: config, module: proxy, policy: prom-gated }
policies:
  prom-gated:
    interval: 1s
    bake: 4s
    load_timeout: 10s
    max_extension: 8s
    stages:
      - name: canary
        scope: 1 nodes
        health_gates: &gates
          - module: proxy
            source: prometheus
            metric: error_rate
            threshold: 0.05
            window: 5s
            query: >
              sum(rate(failsmall_agent_errors_total{ {{cohort_selector}} }[{{window}}]))
              / sum(rate(failsmall_agent_requests_total{ {{cohort_selector}} }[{{window}}]))
      - { name: global, scope: 100% nodes, health_gates: *gates }
`;

test('a rollout gated on PromQL over real agents scraped by a real Prometheus: good completes, bad rolls back, Prometheus down never promotes', { timeout: 240_000 }, async (t) => {
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const prometheus = await TestPrometheus.start({ targets: ports.map((p) => `127.0.0.1:${p}`) });
  t.after(async () => { await prometheus.cleanup(); });
  const s = await testServer({ prometheus: { url: prometheus.url, timeoutMs: 3000 } });
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });

  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  const applied = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS, file: 'prom.yaml' } });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  for (const [i, port] of ports.entries()) {
    agents.push(new Agent({
      server: s.url, token, publicKey: s.publicKey, nodeId: `p${i}`, labels: {}, modules: ['proxy'], dir: join(s.dir, `agent-${i}`),
      metricsListen: `127.0.0.1:${port}`, metricsIntervalMs: 250, pollWaitMs: 5000,
      // Traffic whose error rate depends on the config served: "bad" configs fail a fifth of requests.
      onInterval: (a) => {
        const bad = a.serving()['proxy-config']?.startsWith('bad') === true;
        for (let r = 0; r < 50; r++) a.meter('proxy').request(!(bad && r % 5 === 0), 10);
      },
    }));
  }
  await Promise.all(agents.map((a) => a.start()));
  await prometheus.waitForTargetsUp(ports.map((p) => `127.0.0.1:${p}`));

  const finish = async (version: string, until: string[]) => {
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'proxy-config', version } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return waitFor(`rollout of ${version} to reach ${until.join('/')}`, async () => {
      const st = (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout;
      return until.includes(st.status) ? st : undefined;
    }, 120_000);
  };
  for (const v of ['good-1', 'bad-2', 'good-3']) await call(s.url, 'POST', `/v1/artifacts/proxy-config/versions?version=${v}`, { token: s.admin, body: `{"v":"${v}"}` });

  const good = await finish('good-1', ['completed', 'rolled_back', 'paused', 'aborted']);
  assert.equal(good.status, 'completed', JSON.stringify(good.last_verdicts));

  const bad = await finish('bad-2', ['completed', 'rolled_back', 'paused', 'aborted']);
  assert.equal(bad.status, 'rolled_back');
  assert.equal(bad.outcome.stage, 'canary');
  assert.equal(bad.outcome.verdict.gate, 'proxy/error_rate');
  assert.match(bad.outcome.verdict.reason, /failed: .* > 0.05 from Prometheus/);
  assert.match(bad.outcome.verdict.query, /node=~"p\d"/, 'the verdict shows the rendered PromQL with the cohort selector');

  // Prometheus goes away mid-rollout: the gate is inconclusive, and the rollout never promotes.
  await prometheus.kill();
  const held = await finish('good-3', ['completed', 'rolled_back', 'paused', 'aborted']);
  assert.equal(held.status, 'paused');
  assert.equal(held.stage_index, 0, 'never promoted past the canary');
  assert.match(held.pause_reason, /Prometheus UNREACHABLE/);
});

test('apply refuses a PromQL query Prometheus refuses, and warns when no Prometheus is configured', { timeout: 60_000 }, async (t) => {
  const prometheus = await TestPrometheus.start({ targets: [] });
  t.after(async () => { await prometheus.cleanup(); });
  const broken = DECLARATIONS.replace('/ sum(rate(failsmall_agent_requests_total{ {{cohort_selector}} }[{{window}}]))', '/ sum(rate(failsmall_agent_requests_total{ {{cohort_selector}} }[{{window}}])) +');
  const withProm = await testServer({ prometheus: { url: prometheus.url, timeoutMs: 3000 } });
  t.after(async () => { await withProm.cleanup(); });
  const refused = await call(withProm.url, 'POST', '/v1/apply', { token: withProm.admin, json: { text: broken, file: 'prom.yaml' } });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.code, 'BAD_QUERY');
  assert.match(refused.body.error.details.errors[0].path, /policies\.prom-gated\.stages\[0\]\.health_gates\[0\]\.query/);
  assert.deepEqual((await call(withProm.url, 'GET', '/v1/policies')).body.policies, [], 'nothing applied');

  const without = await testServer();
  t.after(async () => { await without.cleanup(); });
  const warned = await call(without.url, 'POST', '/v1/apply', { token: without.admin, json: { text: DECLARATIONS, file: 'prom.yaml' } });
  assert.equal(warned.status, 200);
  assert.ok(warned.body.warnings.some((w: { code: string }) => w.code === 'NO_PROMETHEUS'));
});

test('a cohort Prometheus has only partly scraped is inconclusive, not a value from some of its nodes', { timeout: 120_000 }, async (t) => {
  const ports = [await freePort(), await freePort()];
  const prometheus = await TestPrometheus.start({ targets: ports.map((p) => `127.0.0.1:${p}`) });
  t.after(async () => { await prometheus.cleanup(); });
  const s = await testServer({ prometheus: { url: prometheus.url, timeoutMs: 3000 } });
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  const oneStage = DECLARATIONS.replace('        scope: 1 nodes', '        scope: 100% nodes').replace('bake: 4s', 'bake: 2s').replace('max_extension: 8s', 'max_extension: 4s');
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: oneStage } })).status, 200);
  for (let i = 0; i < 3; i++) {
    agents.push(new Agent({
      server: s.url, token, publicKey: s.publicKey, nodeId: `c${i}`, labels: {}, modules: ['proxy'], dir: join(s.dir, `agent-${i}`),
      // The third agent serves no /metrics: Prometheus never sees it.
      ...(ports[i] !== undefined ? { metricsListen: `127.0.0.1:${ports[i]}` } : {}), metricsIntervalMs: 250, pollWaitMs: 5000,
      onInterval: (a) => { for (let r = 0; r < 20; r++) a.meter('proxy').request(true, 10); },
    }));
  }
  await Promise.all(agents.map((a) => a.start()));
  await prometheus.waitForTargetsUp(ports.map((p) => `127.0.0.1:${p}`));
  await call(s.url, 'POST', '/v1/artifacts/proxy-config/versions?version=good-1', { token: s.admin, body: '{"v":1}' });
  const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'proxy-config', version: 'good-1' } });
  const done = await waitFor('the rollout to stop', async () => {
    const st = (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout;
    return ['completed', 'rolled_back', 'paused'].includes(st.status) ? st : undefined;
  }, 90_000);
  assert.equal(done.status, 'paused', 'never completed on two thirds of the cohort');
  assert.match(done.pause_reason, /enough samples of only 2\/3 cohort nodes/);
});
