import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { call, DECLARATIONS, testServer, waitFor } from '../packages/server/test/fixtures.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

test('the SDK example in docs/agent.md runs as written against a real control plane', { timeout: 120_000 }, async (t) => {
  const block = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'docs/agent.md'), 'utf8'))?.[1];
  assert.ok(block, 'docs/agent.md has a ts example');
  const s = await testServer();
  // The example must sit inside the checkout so that '@failsmall/agent/sdk' resolves as it does for a user.
  const work = join(ROOT, '.failsmall', `doc-example-${process.pid}`);
  t.after(async () => { rmSync(work, { recursive: true, force: true }); await s.cleanup(); });
  mkdirSync(join(work, '.failsmall', 'keys'), { recursive: true });
  writeFileSync(join(work, '.failsmall', 'keys', 'artifact.pub'), s.publicKey);
  writeFileSync(join(work, 'example.ts'), block);

  const decl = DECLARATIONS.replaceAll('features:', 'bot-management-feature-file:');
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: decl } })).status, 200);
  await call(s.url, 'POST', '/v1/artifacts/bot-management-feature-file/versions?version=v7', { token: s.admin, body: '[{"name":"a","weight":1},{"name":"b","weight":2}]' });
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'svc', role: 'join' } })).body.token as string;

  const example = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(work, 'example.ts')], { cwd: work, env: { ...process.env, FAILSMALL_SERVER: s.url, FAILSMALL_TOKEN: token } });
    let stdout = ''; let stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  // The service registers itself as a node; then a rollout gives it v7 while it waits for its first value.
  await waitFor('the example service to register', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 1);
  const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'bot-management-feature-file', version: 'v7' } });
  assert.equal(r.status, 201);
  const out = await example;
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /serving v7 with 2 features/);
});

test('the meter example in docs/agent.md records what it says', async () => {
  const { Agent } = await import('@failsmall/agent');
  const doc = readFileSync(join(ROOT, 'docs/agent.md'), 'utf8');
  const block = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((b) => b.includes('proxy.source('));
  assert.ok(block, 'docs/agent.md shows the meter calls');
  const agent = new Agent({
    server: 'http://127.0.0.1:1', token: 't', nodeId: 'doc', labels: {}, modules: [], dir: join(ROOT, '.failsmall', 'doc-meter-test'), sourceWarmupMs: 0,
    expensivePathClasses: { proxy: ['/search'] },
  });
  // The snippet's free variables, as a request handler would have them.
  const run = new Function('agent', 'req', 'route', 'ok', 'latencyMs', 'authMs', 'ms', block) as (...a: unknown[]) => void;
  run(agent, { socket: { remoteAddress: '203.0.113.77' }, method: 'GET', headers: { 'user-agent': 'curl/8.5.0' } }, '/search', false, 12, 30, 250);
  const c = agent.meter('proxy').drain();
  assert.equal(c.requests, 1);
  assert.equal(c.errors, 1);
  assert.deepEqual(
    Object.keys(c.counters).sort(),
    [
      'cache_misses', 'dep__auth__calls', 'dep__auth__errors', 'dep__auth__latency_ms', 'depv__stripe__payments_api__calls', 'depv__stripe__payments_api__errors', 'depv__stripe__payments_api__latency_ms',
      'mix_cost_ms', 'mix_expensive', 'mix_method_entropy_millibits_x_requests', 'mix_path_entropy_millibits_x_requests', 'mix_requests', 'mix_user_agent_entropy_millibits_x_requests',
      'source_entropy_millibits_x_requests', 'source_never_seen', 'source_requests',
    ],
  );
  assert.equal(c.counters.source_never_seen, 1);
  assert.equal(c.counters.cache_misses, 3);
  assert.deepEqual([c.counters.mix_requests, c.counters.mix_expensive, c.counters.mix_cost_ms], [1, 1, 12], 'the agent option marks /search expensive');
});
