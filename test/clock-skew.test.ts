/**
 * Agents whose clocks are 5 minutes fast or slow (issue 16's chaos list): the control plane
 * stamps load reports and metric pushes with its own clock, so gate windows are the server's,
 * and a rollout behaves as with true clocks: a good version completes, gated on pushed request
 * metrics as well as loads, and a bad one rolls back at the canary.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '@failsmall/agent';
import { call, testServer, waitFor } from '../packages/server/test/fixtures.ts';

const SKEW_MS = 5 * 60_000;
const DECLARATIONS = `
modules:
  bot-management: { on_load_failure: serve-stale }
artifacts:
  features: { kind: feature-file, module: bot-management, policy: skewed, validation: { max_entries: 200 } }
policies:
  skewed:
    interval: 200ms
    bake: 1s
    load_timeout: 5s
    max_extension: 5s
    stages:
      - name: canary
        scope: 25% nodes
        health_gates: &gates
          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 2s }
          - { module: bot-management, metric: error_rate, threshold: 0.05, window: 2s, min_samples: 500 }
      - { name: global, scope: 100% nodes, health_gates: *gates }
`;

test('agents 5 minutes fast or slow: gates use the server\'s windows; a good version completes, a bad one rolls back', { timeout: 120_000 }, async (t) => {
  const s = await testServer();
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  for (let i = 0; i < 4; i++) {
    // Two fast, two slow: none agrees with the server.
    const skew = i % 2 === 0 ? SKEW_MS : -SKEW_MS;
    agents.push(new Agent({
      server: s.url, token, publicKey: s.publicKey, nodeId: `n${i}`, labels: {}, modules: ['bot-management'], dir: join(s.dir, `n${i}`),
      metricsIntervalMs: 200, pollWaitMs: 1000, clock: { now: () => Date.now() + skew },
      onInterval: (a) => a.meter('bot-management').requests(400, 0, 5),
    }));
  }
  for (const a of agents) await a.start();
  await waitFor('4 nodes', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 4 || undefined);
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=good', { token: s.admin, body: '["one","two"]' });
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=bad&force=true', { token: s.admin, body: JSON.stringify(Array.from({ length: 300 }, (_, i) => `f${i}`)) });
  const run = async (version: string) => {
    const id = (await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version } })).body.rollout.id as string;
    return waitFor(`${version} to finish`, async () => {
      const r = (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout as { status: string; outcome: { stage: string } | null; last_verdicts: { gate: string; status: string; samples: number }[] | null; pause_reason: string | null };
      return ['completed', 'rolled_back', 'paused', 'aborted'].includes(r.status) ? r : undefined;
    }, 60_000);
  };
  const good = await run('good');
  assert.equal(good.status, 'completed', JSON.stringify(good.pause_reason ?? good.last_verdicts));
  // The request gate judged real pushed samples in the server's window, not an empty one.
  const requests = good.last_verdicts?.find((v) => v.gate === 'bot-management/error_rate');
  assert.equal(requests?.status, 'pass');
  assert.ok((requests?.samples ?? 0) >= 500, JSON.stringify(requests));
  await waitFor('every node on good', async () => agents.every((a) => a.serving().features === 'good') || undefined);
  const bad = await run('bad');
  assert.equal(bad.status, 'rolled_back', JSON.stringify(bad.pause_reason ?? bad.last_verdicts));
  assert.equal(bad.outcome?.stage, 'canary');
  await waitFor('every node back on good', async () => agents.every((a) => a.serving().features === 'good') || undefined);
});
