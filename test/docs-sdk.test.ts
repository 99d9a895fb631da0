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
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'svc', role: 'agent' } })).body.token as string;

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
