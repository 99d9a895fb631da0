import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../src/index.ts';
import { call, DECLARATIONS, testServer, waitFor } from '../../server/test/fixtures.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('the agent against a real control plane', () => {
  it('keeps serving what it has while the control plane is down, then reconnects and converges', async () => {
    const s = await testServer();
    const dir = join(s.dir, 'agent');
    const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
    // The quick policy pauses a stage whose node is still silent 2 s after its bake. An agent that
    // lost its control plane retries with full-jitter backoff (up to 30 s), so after the restart it
    // may take several seconds to come back: a stage that waits for it shows whether it converges.
    const patient = DECLARATIONS.replace('max_extension: 2s', 'max_extension: 60s');
    assert.notEqual(patient, DECLARATIONS, 'the fixture\'s quick policy has max_extension: 2s');
    await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: patient } });
    await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
    await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: '["two"]' });
    const port = new URL(s.url).port;
    const unreachable: string[] = [];
    const log = { info() {}, warn(m: string) { if (/control plane unreachable/.test(m)) unreachable.push(m); } };
    const agent = new Agent({ server: s.url, token, nodeId: 'solo', labels: {}, modules: ['bot-management'], dir, metricsIntervalMs: 100, pollWaitMs: 2000, publicKey: s.publicKey, log });
    let second: Awaited<ReturnType<typeof testServer>> | undefined;
    try {
      await agent.start();
      await waitFor('registration', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 1);
      const r1 = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
      await waitFor('v1 to complete', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`)).body.rollout.status === 'completed');
      assert.equal(readFileSync(join(dir, 'features'), 'utf8'), '["one"]');

      await s.close(); // the control plane goes away (its store file stays)
      // Not a sleep: the agent has tried and failed to reach it twice (each a backoff it logged).
      await waitFor('two failed attempts to reach the control plane', async () => unreachable.length >= 2, 60_000);
      assert.equal(agent.serving().features, 'v1', 'still serving v1 with the control plane down');
      assert.equal(readFileSync(join(dir, 'features'), 'utf8'), '["one"]');

      second = await testServer({ store: join(s.dir, 'fs.db'), port: Number(port) });
      assert.equal(second.adminToken, undefined, 'a restart does not mint a new admin token');
      const r2 = await call(second.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v2' } });
      assert.equal(r2.status, 201);
      await waitFor('v2 to complete after the restart', async () => (await call(second!.url, 'GET', `/v1/rollouts/${r2.body.rollout.id}`)).body.rollout.status === 'completed', 60_000);
      assert.equal(agent.serving().features, 'v2');
    } finally {
      await agent.stop();
      if (second) await second.close();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  it('keeps its download cache to the versions lkg can go back to, plus the one it last tried', async () => {
    const s = await testServer();
    const dir = join(s.dir, 'agent');
    try {
      const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
      await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
      const a = new Agent({ server: s.url, token, nodeId: 'solo', labels: {}, modules: ['bot-management'], dir, metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: s.publicKey });
      await a.start();
      try {
        // start() returns before the agent has registered: a rollout before that has no node (409).
        await waitFor('registration', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 1);
        const versions = Array.from({ length: 11 }, (_, i) => `v${i + 1}`);
        for (const v of versions) {
          assert.equal((await call(s.url, 'POST', `/v1/artifacts/features/versions?version=${v}`, { token: s.admin, body: `["${v}"]` })).status, 201);
          const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: v } });
          await waitFor(`${v} to complete`, async () => (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout.status === 'completed');
        }
        await waitFor('v11 served', async () => a.serving().features === 'v11' || undefined);
        const cached = readdirSync(join(dir, '.versions')).filter((n) => !n.startsWith('.')).sort((x, y) => Number(x.split('@v')[1]) - Number(y.split('@v')[1]));
        // The history holds the last 8 served versions: the cache holds exactly those.
        assert.deepEqual(cached, versions.slice(-8).map((v) => `features@${v}`));
      } finally {
        await a.stop();
      }
    } finally {
      await s.cleanup();
    }
  });

  it('remembers what it serves across its own restart', async () => {
    const s = await testServer();
    const dir = join(s.dir, 'agent');
    try {
      const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
      await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
      const opts = { server: s.url, token, nodeId: 'solo', labels: {}, modules: ['bot-management'], dir, metricsIntervalMs: 100, pollWaitMs: 2000, publicKey: s.publicKey };
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

