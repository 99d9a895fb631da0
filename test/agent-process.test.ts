import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { call, DECLARATIONS, testServer, waitFor } from '../packages/server/test/fixtures.ts';
import { Child, freePort } from './helpers/procs.ts';

const SLOW_RELOAD = 'bot-management=grep -q SLOW "$FAILSMALL_FILE" && sleep 30; exit 0';

test('an agent killed between writing a version and its module taking it comes back on its last known-good, consistently', { timeout: 120_000 }, async (t) => {
  const s = await testServer();
  const children: Child[] = [];
  t.after(async () => { await Promise.all(children.map((c) => c.stop(500))); await s.cleanup(); });
  const dir = join(s.dir, 'agent');
  const pub = join(s.dir, 'artifact.pub');
  writeFileSync(pub, s.publicKey);
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: '["SLOW"]' });
  const metricsPort = await freePort();
  const agentArgs = (server: string) => ['agent', '--server', server, '--token', token, '--node-id', 'k1', '--dir', dir, '--public-key', pub,
    '--modules', 'bot-management', '--reload', SLOW_RELOAD, '--poll-wait', '2000', '--metrics-interval', '200', '--metrics-listen', `127.0.0.1:${metricsPort}`];

  const first = new Child(agentArgs(s.url));
  children.push(first);
  await waitFor('the agent to register', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 1);
  const r1 = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
  await waitFor('v1 to complete', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`)).body.rollout.status === 'completed');

  // The agent's own /metrics, for Prometheus, with its node label.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /failsmall_agent_serving\{node="k1",artifact="features",version="v1",state="serving"\} 1/);
  assert.match(metrics, /failsmall_agent_loads_total\{node="k1",artifact="features",result="ok",stage="applied"\} 1/);

  await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v2' } });
  await waitFor('v2 written and its reload under way', async () => existsSync(join(dir, 'features')) && readFileSync(join(dir, 'features'), 'utf8') === '["SLOW"]');
  process.kill(first.pid, 'SIGKILL');
  const exit = await first.exited;
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(readFileSync(join(dir, 'features'), 'utf8'), '["SLOW"]', 'killed mid-apply: the file on disk is the version the module never took');

  // Back up with no control plane in reach: the agent must sort itself out from its own disk.
  const second = new Child(agentArgs('http://127.0.0.1:1'));
  children.push(second);
  await waitFor('the restarted agent to restore v1', async () => readFileSync(join(dir, 'features'), 'utf8') === '["one"]', 20_000);
  await waitFor('its state file to record v1', async () => {
    const state = JSON.parse(readFileSync(join(dir, '.failsmall-agent.json'), 'utf8')) as { serving: Record<string, { version: string | null; state: string }> };
    return state.serving.features?.version === 'v1' && state.serving.features.state === 'stale';
  });
  // Its stderr reaches this process through a pipe, possibly after the files were seen: wait for it too.
  await waitFor('the restore to be logged', async () => /restored last known-good v1/.test(second.stderr))
    .catch((err: Error) => { throw new Error(`${err.message}\n${second.describe()}`); });
});
