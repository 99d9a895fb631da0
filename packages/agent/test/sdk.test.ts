import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadArtifact } from '@failsmall/agent/sdk';
import { call, DECLARATIONS, testServer, waitFor } from '../../server/test/fixtures.ts';

interface Feature { name: string }

describe('the in-process SDK', () => {
  it('gives the service only values that validated, keeps the last good one on a bad version, and starts from it without a control plane', async () => {
    const s = await testServer();
    const dir = join(s.dir, 'sdk');
    const opened: { close(): Promise<void> }[] = [];
    try {
      const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'svc', role: 'join' } })).body.token as string;
      await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '[{"name":"a"},{"name":"b"}]' });
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: '[{"name":"a"},{"name":"b"},{"name":"c"}]' });
      const options = {
        name: 'features', server: s.url, token, publicKey: s.publicKey, nodeId: 'svc-1', dir,
        onLoadFailure: 'serve-stale' as const,
        validate: (f: Feature[]) => f.length <= 2 || `${f.length} features > 2 (the service's preallocated room)`,
      };
      const features = await loadArtifact<Feature[]>(options);
      opened.push(features);
      const changes: string[] = [];
      features.onChange((h) => changes.push(`${h.state}:${h.version ?? '-'}`));
      const names = () => features.value?.map((f) => f.name);
      assert.equal(names(), undefined, 'nothing yet');

      const r1 = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
      await waitFor('v1 in the service', async () => features.version === 'v1');
      assert.deepEqual(names(), ['a', 'b']);
      await waitFor('v1 to complete', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`)).body.rollout.status === 'completed');

      const r2 = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v2' } });
      const rolledBack = await waitFor('v2 to be rolled back', async () => {
        const st = (await call(s.url, 'GET', `/v1/rollouts/${r2.body.rollout.id}`)).body.rollout;
        return st.status === 'rolled_back' ? st : undefined;
      });
      assert.equal(rolledBack.outcome.verdict.gate, 'bot-management/load_success_rate');
      assert.deepEqual(names(), ['a', 'b'], 'the service never saw v2');
      assert.ok(changes.includes('stale:v1'), `changes: ${changes.join(', ')}`);
      const node = (await call(s.url, 'GET', '/v1/nodes')).body.nodes.find((n: { id: string }) => n.id === 'svc-1');
      assert.match(node.loads[0].error, /3 features > 2/);
      // v1 is the target again after the rollback: the node is simply serving it (issue 14, item 10), and its refusal stays visible above.
      assert.equal(node.loads[0].serving, 'v1');
      assert.equal(node.loads[0].module_state, 'serving');
      await features.close();

      await s.close();
      const restarted = await loadArtifact<Feature[]>({ ...options, server: 'http://127.0.0.1:1' });
      opened.push(restarted);
      assert.equal(restarted.version, 'v1', 'the last good value, with the control plane gone');
      assert.deepEqual(restarted.value?.map((f) => f.name), ['a', 'b']);
      await restarted.close();
    } finally {
      // After a failed assertion too: an open handle or server would keep this file's process alive.
      for (const h of opened) await h.close().catch(() => {});
      await s.close().catch(() => {});
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  it('fail-open hands the service its safe default when there is nothing good to serve', async () => {
    const s = await testServer();
    try {
      const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'svc', role: 'join' } })).body.token as string;
      await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: 'not json at all' });
      const h = await loadArtifact<Feature[]>({ name: 'features', server: s.url, token, publicKey: s.publicKey, nodeId: 'svc-2', dir: join(s.dir, 'sdk2'), onLoadFailure: 'fail-open', safeDefault: [] });
      assert.deepEqual(h.value, [], 'the safe default from the start');
      await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
      await waitFor('the refusal', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.some((n: { loads: { ok: boolean }[] }) => n.loads.some((l) => !l.ok)));
      assert.equal(h.state, 'fail-open');
      assert.deepEqual(h.value, []);
      await h.close();
    } finally {
      await s.cleanup();
    }
  });
});
