/**
 * Issue 11, items 2, 6 and 9, against a real control plane over real HTTP: every route declares
 * the role it needs and is authenticated before its body is read; roles do what docs/security.md
 * says and no more; tokens are listed, revoked and expire; and the fleet token alone cannot put a
 * made-up node into a rollout's fleet or its gates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { enforceAccess, type RouteAccess } from '../packages/server/src/http/access.ts';
import { call, DECLARATIONS, testServer, waitFor } from '../packages/server/test/fixtures.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

async function tokenFor(s: Server, name: string, role: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name, role, ...extra } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token as string;
}

async function eventCount(s: Server): Promise<number> {
  return (await s.store.listEvents({ limit: 100_000 })).length;
}

test('the route table: every route declares its access, and a route without one cannot be built', async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  const { buildApp } = await import('../packages/server/src/app.ts');
  const { DesiredHub } = await import('../packages/server/src/desired/hub.ts');
  const { ServerMetrics } = await import('../packages/server/src/telemetry/metrics.ts');
  const table: RouteAccess[] = [];
  const hub = new DesiredHub(s.store);
  const app = await buildApp({ store: s.store, hub, metrics: new ServerMetrics({ store: s.store, hub }), controller: s.controller, clock: { now: () => Date.now() }, incidents: s.incidents, maxArtifactBytes: 1024, maxWaitMs: 1000, enrolment: 'approval', validators: {} }, { routeTable: table });
  await app.ready();
  await app.close();
  assert.ok(table.length >= 40, `saw ${table.length} routes`);
  const allowed = new Set(['public', 'node', 'viewer', 'deployer', 'approver', 'ingest', 'agent', 'join', 'admin']);
  for (const r of table) assert.ok(allowed.has(r.access), `${r.method} ${r.url}: ${String(r.access)}`);
  // Only health and the control plane's own metrics are open.
  assert.deepEqual([...new Set(table.filter((r) => r.access === 'public').map((r) => r.url))].sort(), ['/', '/artifacts', '/assets/:file', '/audit', '/fleet', '/healthz', '/incidents', '/incidents/:id', '/incidents/:id/postmortem', '/metrics', '/rollouts', '/rollouts/:id']);
  // Every write needs more than a viewer.
  for (const r of table.filter((x) => x.method !== 'GET' && x.method !== 'HEAD')) assert.notEqual(r.access, 'viewer', `${r.method} ${r.url}`);

  const bare = Fastify();
  void bare.register(async (scope) => { enforceAccess(scope, s.store, () => Date.now()); scope.get('/v1/forgotten', async () => ({})); });
  await assert.rejects(async () => { await bare.ready(); }, /GET \/v1\/forgotten declares no access/);
});

test('authentication comes before the body: an anonymous caller gets 401 and writes nothing', async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  const before = await eventCount(s);
  for (let i = 0; i < 70; i++) {
    const r = await call(s.url, 'POST', '/v1/ingest/change', { body: '{"not json', type: 'application/json' });
    assert.equal(r.status, 401, JSON.stringify(r.body));
  }
  // A 2 MiB body is refused as unauthenticated, not read and refused as too large.
  const big = await call(s.url, 'POST', '/v1/apply', { body: 'x'.repeat(2 * 1024 * 1024 + 10), type: 'application/json' });
  assert.equal(big.status, 401);
  for (const path of ['/v1/rollouts', '/v1/nodes', '/v1/events', '/v1/breakglass', '/v1/incidents', '/v1/artifacts', '/v1/approvals']) {
    assert.equal((await call(s.url, 'GET', path, { anonymous: true })).status, 401, `GET ${path} without a token`);
  }
  assert.equal((await call(s.url, 'GET', '/healthz', { anonymous: true })).status, 200);
  assert.equal(await eventCount(s), before, 'no event was written by an anonymous caller');

  // An authenticated sender's bad ingests are logged, 60 a minute at most.
  const ingest = await tokenFor(s, 'alertmanager', 'ingest');
  const logged = await eventCount(s);
  for (let i = 0; i < 70; i++) assert.equal((await call(s.url, 'POST', '/v1/ingest/change', { token: ingest, body: '{"not json', type: 'application/json' })).status, 400);
  const rejected = (await s.store.listEvents({ limit: 100_000, types: ['ingest.rejected'] }));
  assert.equal(rejected.length, 60);
  assert.equal(rejected[0]?.payload['sender'], 'alertmanager');
  assert.equal(await eventCount(s), logged + 60);
});

test('roles: each token does its job and no more', async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  const viewer = await tokenFor(s, 'vera', 'viewer');
  const deployer = await tokenFor(s, 'dave', 'deployer');
  const approver = await tokenFor(s, 'anna', 'approver');
  const ingest = await tokenFor(s, 'alertmanager', 'ingest');
  const fleet = await tokenFor(s, 'fleet', 'agent');
  assert.equal((await call(s.url, 'POST', '/v1/nodes/register', { token: s.admin, json: { id: 'n1', labels: {}, modules: ['bot-management'] } })).status, 200);

  assert.equal((await call(s.url, 'GET', '/v1/rollouts', { token: viewer })).status, 200);
  const viewerPush = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: viewer, body: '["one"]' });
  assert.equal(viewerPush.status, 403);
  assert.equal(viewerPush.body.error.code, 'FORBIDDEN');
  assert.match(viewerPush.body.error.message, /needs the deployer role/);

  assert.equal((await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: deployer, body: '["one"]' })).status, 201);
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: deployer, json: { text: DECLARATIONS } })).status, 403, 'declarations are an admin\'s');
  assert.equal((await call(s.url, 'POST', '/v1/tokens', { token: deployer, json: { name: 'x', role: 'admin' } })).status, 403);
  const started = await call(s.url, 'POST', '/v1/rollouts', { token: deployer, json: { artifact: 'features', version: 'v1' } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = started.body.rollout.id as string;
  assert.equal((await call(s.url, 'POST', `/v1/rollouts/${id}/promote`, { token: deployer, json: { reason: 'hurry' } })).status, 403, 'promoting past the gates is an approver\'s');
  assert.notEqual((await call(s.url, 'POST', `/v1/rollouts/${id}/promote`, { token: approver, json: { reason: 'checked' } })).status, 403);
  assert.equal((await call(s.url, 'POST', `/v1/rollouts/${id}/abort`, { token: deployer, json: { reason: 'stop' } })).status, 200, 'whoever may start may stop');

  for (const machine of [ingest, fleet]) {
    assert.equal((await call(s.url, 'GET', '/v1/rollouts', { token: machine })).status, 403, 'machines read nothing');
    assert.equal((await call(s.url, 'GET', '/v1/events', { token: machine })).status, 403);
  }
  assert.equal((await call(s.url, 'POST', '/v1/ingest/change', { token: fleet, json: {} })).status, 403);
  assert.notEqual((await call(s.url, 'POST', '/v1/ingest/change', { token: ingest, json: { payload: { summary: 'deploy', timestamp: new Date().toISOString(), source: 'ci' } } })).status, 403);
});

test('tokens: listed without secrets, revoked at once, expired on time; the last admin cannot be revoked', async (t) => {
  let now = Date.now();
  const s = await testServer({ clock: { now: () => now } });
  t.after(() => s.cleanup());
  const viewer = await tokenFor(s, 'vera', 'viewer');
  const shortLived = await tokenFor(s, 'contractor', 'viewer', { expires_in_s: 3600 });
  const list = await call(s.url, 'GET', '/v1/tokens', { token: s.admin });
  assert.equal(list.status, 200);
  const text = JSON.stringify(list.body);
  assert.ok(!text.includes(viewer) && !text.includes(shortLived), 'no token in the listing');
  assert.deepEqual(list.body.tokens.map((x: { name: string; role: string }) => `${x.name}:${x.role}`).sort(), ['admin:admin', 'contractor:viewer', 'vera:viewer']);
  assert.ok(list.body.tokens.every((x: { id: string }) => /^[0-9a-f]{8}$/.test(x.id)));

  assert.equal((await call(s.url, 'GET', '/v1/rollouts', { token: viewer })).status, 200);
  const revoked = await call(s.url, 'POST', '/v1/tokens/vera/revoke', { token: s.admin });
  assert.equal(revoked.status, 200);
  assert.equal(revoked.body.revoked, 1);
  const after = await call(s.url, 'GET', '/v1/rollouts', { token: viewer });
  assert.equal(after.status, 401, 'a revoked token stops at once, cache or not');
  assert.equal((await call(s.url, 'POST', '/v1/tokens/vera/revoke', { token: s.admin })).status, 404);

  assert.equal((await call(s.url, 'GET', '/v1/rollouts', { token: shortLived })).status, 200);
  now += 3601 * 1000;
  const expired = await call(s.url, 'GET', '/v1/rollouts', { token: shortLived });
  assert.equal(expired.status, 401);
  assert.equal(expired.body.error.code, 'TOKEN_EXPIRED');

  // Re-enrolling a token the store holds is a conflict, not a crash.
  const existing = { name: 'fleet', role: 'agent', token: `fs_agent_${'A'.repeat(32)}` };
  assert.equal((await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: existing })).status, 201);
  const again = await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: existing });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'TOKEN_EXISTS');
  // A path the router cannot read gets the API's error shape.
  const badUrl = await call(s.url, 'GET', '/v1/nodes/%/desired', { token: s.admin });
  assert.equal(badUrl.status, 400);
  assert.equal(badUrl.body.error.code, 'BAD_URL');

  const last = await call(s.url, 'POST', '/v1/tokens/admin/revoke', { token: s.admin });
  assert.equal(last.status, 409);
  assert.equal(last.body.error.code, 'LAST_ADMIN');
  const types = (await s.store.listEvents({ limit: 1000 })).map((e) => e.type);
  assert.ok(types.includes('token.revoked'));
});

test('enrolment: the fleet token alone cannot put a made-up node into a rollout or its gates', async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  assert.equal((await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' })).status, 201);
  const fleet = await tokenFor(s, 'fleet', 'agent');
  const join = await tokenFor(s, 'join-eu', 'join', { uses: 2, expires_in_s: 3600 });

  for (const id of ['real-1', 'real-2']) {
    const r = await call(s.url, 'POST', '/v1/nodes/register', { token: join, json: { id, labels: {}, modules: ['bot-management'] } });
    assert.equal(r.status, 200);
    assert.equal(r.body.node.enrolment, 'approved');
  }
  const third = await call(s.url, 'POST', '/v1/nodes/register', { token: join, json: { id: 'real-3', labels: {}, modules: ['bot-management'] } });
  assert.equal(third.body.node.enrolment, 'pending', 'a join token admits as many nodes as it has uses');

  const ghost = await call(s.url, 'POST', '/v1/nodes/register', { token: fleet, json: { id: 'ghost-1', labels: {}, modules: ['bot-management'] } });
  assert.equal(ghost.status, 200);
  assert.equal(ghost.body.node.enrolment, 'pending');
  // It pushes a million clean requests: kept, never counted.
  const pushed = await call(s.url, 'POST', '/v1/nodes/ghost-1/metrics', { token: fleet, json: { modules: { 'bot-management': { requests: 1_000_000, errors: 0 } } } });
  assert.equal(pushed.status, 200, JSON.stringify(pushed.body));

  const started = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const begun = (await s.store.listEvents({ rolloutId: started.body.rollout.id, types: ['rollout.started'] }))[0];
  assert.equal(begun?.payload['fleet_nodes'], 2, 'only the two admitted nodes are in the fleet');
  assert.ok(!(started.body.rollout.assigned as string[]).includes('ghost-1'));
  await call(s.url, 'POST', `/v1/rollouts/${started.body.rollout.id}/abort`, { token: s.admin, json: { reason: 'test' } });

  // The fleet token cannot approve; an admin can, on the record.
  assert.equal((await call(s.url, 'POST', '/v1/nodes/ghost-1/approve', { token: fleet })).status, 403);
  const approved = await call(s.url, 'POST', '/v1/nodes/real-3/approve', { token: s.admin });
  assert.equal(approved.status, 200);
  assert.equal(approved.body.changed, true);
  await waitFor('real-3 approved', async () => (await s.store.getNode('real-3'))?.enrolment === 'approved');
  const nodes = (await call(s.url, 'GET', '/v1/nodes', { token: s.admin })).body.nodes as { id: string; enrolment: string }[];
  assert.deepEqual(nodes.map((n) => `${n.id}:${n.enrolment}`), ['ghost-1:pending', 'real-1:approved', 'real-2:approved', 'real-3:approved']);
  assert.ok((await s.store.listEvents({ types: ['node.approved'] })).some((e) => e.payload['node'] === 'real-3' && e.payload['by'] === 'admin'));
});
