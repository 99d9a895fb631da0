/**
 * Per-node credentials with a real control plane and real agents: an agent makes a credential of
 * its own and enrols its hash with the fleet token; from then on the fleet token cannot speak
 * for that node, one node's credential cannot speak for another, and a released node enrols again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '@failsmall/agent';
import { call, DECLARATIONS, testServer, waitFor } from '../packages/server/test/fixtures.ts';
import { runCli } from './helpers/procs.ts';

test('node credentials: enrol once, speak only for yourself, enrol again after a release', { timeout: 120_000 }, async (t) => {
  const s = await testServer();
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const fleet = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  assert.equal((await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' })).status, 201);
  for (const id of ['a', 'b']) {
    const a = new Agent({ server: s.url, token: fleet, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: s.publicKey });
    agents.push(a);
    await a.start();
  }
  const credentialOf = (id: string) => readFileSync(join(s.dir, id, '.node-credential'), 'utf8').trim();
  await waitFor('both enrolled, and each credential kept on its node', async () => {
    const nodes = (await call(s.url, 'GET', '/v1/nodes')).body.nodes as { id: string; credential: boolean }[];
    // The server binds the credential before it answers; the agent writes it down after: wait for both.
    return (nodes.length === 2 && nodes.every((n) => n.credential) && ['a', 'b'].every((id) => existsSync(join(s.dir, id, '.node-credential')))) || undefined;
  });
  const load = { artifact: 'features', version: 'v1', ok: false, serving: null, error: 'forged' };

  await t.test('each agent keeps its own credential, readable only by its user', () => {
    assert.match(credentialOf('a'), /^fs_node_[A-Za-z0-9_-]{32}$/);
    assert.notEqual(credentialOf('a'), credentialOf('b'));
    assert.equal(statSync(join(s.dir, 'a', '.node-credential')).mode & 0o777, 0o600);
  });

  await t.test('the fleet token can no longer speak for an enrolled node; nothing it sends is recorded', async () => {
    const calls: [string, string, unknown][] = [
      ['POST', '/v1/nodes/a/loads', load],
      ['POST', '/v1/nodes/a/metrics', { modules: { 'bot-management': { requests: 100, errors: 100 } } }],
      ['GET', '/v1/nodes/a/desired', undefined],
      ['POST', '/v1/nodes/register', { id: 'a', labels: { forged: 'yes' }, modules: [] }],
      ['POST', '/v1/nodes/register', { id: 'a', labels: {}, modules: [], credential_hash: 'f'.repeat(64) }],
    ];
    for (const [method, path, json] of calls) {
      const r = await call(s.url, method, path, { token: fleet, ...(json ? { json } : {}) });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.error.code, 'NODE_BOUND');
      assert.match(r.body.error.hint, /failsmall nodes release a/);
    }
    const a = ((await call(s.url, 'GET', '/v1/nodes')).body.nodes as { id: string; labels: Record<string, string>; loads: { error: string | null }[] }[]).find((n) => n.id === 'a');
    assert.deepEqual(a?.labels, {}, 'the forged registration changed nothing');
    assert.ok(!a?.loads.some((l) => l.error === 'forged'), 'the forged load report was not recorded');
  });

  await t.test('registering again with the same secret always works: a lost answer never locks a node out', async () => {
    const hash = createHash('sha256').update(credentialOf('a')).digest('hex');
    for (let i = 0; i < 2; i++) {
      const r = await call(s.url, 'POST', '/v1/nodes/register', { token: fleet, json: { id: 'a', labels: {}, modules: ['bot-management'], credential_hash: hash } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.enrolled, false, 'already enrolled with this secret');
    }
  });

  await t.test('one node\'s credential cannot speak for another, nor do admin work', async () => {
    const r = await call(s.url, 'POST', '/v1/nodes/b/loads', { token: credentialOf('a'), json: load });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'WRONG_NODE');
    const admin = await call(s.url, 'POST', '/v1/rollouts', { token: credentialOf('a'), json: { artifact: 'features', version: 'v1' } });
    assert.equal(admin.status, 403);
    assert.equal(admin.body.error.code, 'FORBIDDEN');
    const own = await call(s.url, 'POST', '/v1/nodes/a/loads', { token: credentialOf('a'), json: { artifact: 'features', version: null, ok: true, serving: null, error: null } });
    assert.equal(own.status, 200, 'its own node it may speak for');
  });

  await t.test('a released node enrols again by itself, with the same secret, and keeps working; the release is in the event log', async () => {
    const before = credentialOf('a');
    assert.equal((await call(s.url, 'DELETE', '/v1/nodes/a/credential')).status, 401, 'releasing needs a token');
    assert.equal((await call(s.url, 'DELETE', '/v1/nodes/a/credential', { token: fleet })).status, 403, 'and an admin one');
    const released = await runCli(['nodes', 'release', 'a', '--server', s.url, '--token', s.admin]);
    assert.equal(released.code, 0, released.stdout + released.stderr);
    assert.match(released.stdout, /released a: its old credential no longer works/);
    const unknown401 = await call(s.url, 'POST', '/v1/nodes/a/loads', { token: 'fs_node_' + 'x'.repeat(32), json: load });
    assert.equal(unknown401.status, 401);
    assert.equal(unknown401.body.error.code, 'UNKNOWN_NODE_CREDENTIAL');
    // The agent meets a 401 on its next call, registers again, and binds the same secret.
    await waitFor('a to enrol again', async () => ((await call(s.url, 'GET', '/v1/nodes')).body.nodes as { id: string; credential: boolean }[]).find((n) => n.id === 'a')?.credential || undefined);
    assert.equal(credentialOf('a'), before, 'the secret never left the node, and was never thrown away');
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
    await waitFor('v1 to complete on both nodes', async () => (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout.status === 'completed');
    const events = (await call(s.url, 'GET', '/v1/events?limit=5000', { token: s.admin })).body.events as { type: string; payload: { node?: string; actor?: string } }[];
    assert.ok(events.some((e) => e.type === 'node.credential_released' && e.payload.node === 'a' && e.payload.actor === 'admin'));
    assert.deepEqual(events.filter((e) => e.type === 'node.enrolled').map((e) => e.payload.node).sort(), ['a', 'a', 'b'], 'each enrolment is on the record');
    const unknown = await runCli(['nodes', 'release', 'nope', '--server', s.url, '--token', s.admin]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /NOT_FOUND/);
  });
});
