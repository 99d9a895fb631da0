import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Backoff, FileLoader } from '../src/index.ts';
import { Agent } from '../src/index.ts';
import { call, DECLARATIONS, testServer, waitFor } from '../../server/test/fixtures.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('the basic file loader', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'failsmall-loader-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses content whose sha256 does not match, and leaves the served file alone', async () => {
    writeFileSync(join(dir, 'a'), 'old');
    const loader = new FileLoader({ dir, reload: {}, reloadTimeoutMs: 1000 });
    const r = await loader.load({ artifact: 'a', module: 'm', version: 'v2', sha256: sha('something else'), content: Buffer.from('new') });
    assert.deepEqual(r.ok ? 'ok' : r.stage, 'verify');
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'old');
  });

  it('puts the previous file back when the reload command fails, and reports its stderr', async () => {
    writeFileSync(join(dir, 'b'), 'old');
    const loader = new FileLoader({ dir, reload: { m: 'grep -q BAD "$FAILSMALL_FILE" && { echo "panic: too many features" >&2; exit 3; } || exit 0' }, reloadTimeoutMs: 5000 });
    const bad = await loader.load({ artifact: 'b', module: 'm', version: 'v2', sha256: sha('BAD'), content: Buffer.from('BAD') });
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.stage === 'apply' && /exited 3: panic: too many features/.test(bad.error));
    assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'old');
    const good = await loader.load({ artifact: 'b', module: 'm', version: 'v3', sha256: sha('fine'), content: Buffer.from('fine') });
    assert.equal(good.ok, true);
    assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'fine');
  });

  it('treats a reload that hangs past its timeout as an apply failure', async () => {
    const loader = new FileLoader({ dir, reload: { m: 'sleep 5' }, reloadTimeoutMs: 100 });
    const r = await loader.load({ artifact: 'c', module: 'm', version: 'v1', sha256: sha('x'), content: Buffer.from('x') });
    assert.ok(!r.ok && /timed out after 100 ms/.test(r.error));
    assert.equal(existsSync(join(dir, 'c')), false, 'no previous file: none is left behind');
  });
});

describe('backoff', () => {
  it('grows exponentially with full jitter up to its cap, and resets', () => {
    const top = new Backoff(100, 1000, () => 0.999999);
    assert.deepEqual([top.next(), top.next(), top.next(), top.next(), top.next()], [100, 200, 400, 800, 1000]);
    top.reset();
    assert.equal(top.next(), 100);
    const low = new Backoff(100, 1000, () => 0);
    assert.equal(low.next(), 0);
  });
});

describe('the agent against a real control plane', () => {
  it('keeps serving what it has while the control plane is down, then reconnects and converges', async () => {
    const s = await testServer();
    const dir = join(s.dir, 'agent');
    const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'agent' } })).body.token as string;
    await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
    await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
    await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: '["two"]' });
    const port = new URL(s.url).port;
    const agent = new Agent({ server: s.url, token, nodeId: 'solo', labels: {}, modules: ['bot-management'], dir, metricsIntervalMs: 100, pollWaitMs: 2000 });
    let second: Awaited<ReturnType<typeof testServer>> | undefined;
    try {
      await agent.start();
      await waitFor('registration', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 1);
      const r1 = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
      await waitFor('v1 to complete', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`)).body.rollout.status === 'completed');
      assert.equal(readFileSync(join(dir, 'features'), 'utf8'), '["one"]');

      await s.close(); // the control plane goes away (its store file stays)
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(agent.serving().features, 'v1', 'still serving v1 with the control plane down');
      assert.equal(readFileSync(join(dir, 'features'), 'utf8'), '["one"]');

      second = await testServer({ store: join(s.dir, 'fs.db'), port: Number(port) });
      assert.equal(second.adminToken, undefined, 'a restart does not mint a new admin token');
      const r2 = await call(second.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v2' } });
      assert.equal(r2.status, 201);
      await waitFor('v2 to complete after the restart', async () => (await call(second!.url, 'GET', `/v1/rollouts/${r2.body.rollout.id}`)).body.rollout.status === 'completed', 30_000);
      assert.equal(agent.serving().features, 'v2');
    } finally {
      await agent.stop();
      if (second) await second.close();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  it('remembers what it serves across its own restart', async () => {
    const s = await testServer();
    const dir = join(s.dir, 'agent');
    try {
      const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'agent' } })).body.token as string;
      await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
      const opts = { server: s.url, token, nodeId: 'solo', labels: {}, modules: ['bot-management'], dir, metricsIntervalMs: 100, pollWaitMs: 2000 };
      const a = new Agent(opts);
      await a.start();
      await waitFor('registration', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 1);
      const r1 = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
      await waitFor('v1 to complete', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`)).body.rollout.status === 'completed');
      await a.stop();
      const b = new Agent({ ...opts, server: 'http://127.0.0.1:1' }); // unreachable: it must not need the server to know
      await b.start();
      assert.equal(b.serving().features, 'v1');
      await b.stop();
    } finally {
      await s.cleanup();
    }
  });
});

describe('the basic file loader checks declared limits again', () => {
  it('refuses a version over max_entries at the validate stage, before writing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-loader-'));
    try {
      writeFileSync(join(dir, 'features'), '["kept"]');
      const content = Buffer.from(JSON.stringify(Array.from({ length: 240 }, (_, i) => i)));
      const r = await new FileLoader({ dir, reload: {}, reloadTimeoutMs: 1000 }).load({ artifact: 'features', module: 'm', version: 'v2', sha256: sha(content), content, validation: { max_entries: 200 } });
      assert.ok(!r.ok && r.stage === 'validate' && /240 entries > max_entries 200/.test(r.error));
      assert.equal(readFileSync(join(dir, 'features'), 'utf8'), '["kept"]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
