/**
 * GET /v1/events: the event log filtered by rollout, type prefix and time, its newest N, and
 * a long-poll that also wakes for events a request writes (not only the controller's).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, DECLARATIONS, testServer } from './fixtures.ts';

interface Ev { seq: number; type: string; rollout_id: string | null; at: number }

test('GET /v1/events filters, returns the newest N oldest first, long-polls, and names a bad parameter', { timeout: 60_000 }, async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  const get = async (q: string) => (await call(s.url, 'GET', `/v1/events?${q}`)).body as { events: Ev[] };
  await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
  await call(s.url, 'POST', '/v1/nodes/register', { token: s.admin, json: { id: 'n1', labels: {}, modules: [] } });
  const started = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1', policy: 'held', reason: 'CHG-7' } });
  assert.equal(started.status, 201);
  const id = started.body.rollout.id as string;

  const mine = await get(`rollout=${id}&type=rollout.`);
  assert.ok(mine.events.length >= 2 && mine.events.every((e) => e.rollout_id === id && e.type.startsWith('rollout.')));
  assert.equal((mine.events[0] as unknown as { payload: { reason?: string } }).payload.reason, 'CHG-7', 'the start\'s reason is in rollout.started');
  const all = await get('limit=5000');
  const tail = await get('newest=true&limit=2');
  assert.deepEqual(tail.events.map((e) => e.seq), all.events.slice(-2).map((e) => e.seq), 'the newest two, oldest first');
  const last = all.events.at(-1);
  assert.ok(last);
  assert.deepEqual((await get(`since=${last.at + 1}`)).events, []);

  // A request writes this one, not the controller: the long-poll still answers long before its 20 s.
  const t0 = Date.now();
  const waiting = get(`after=${last.seq}&type=declarations.&wait=20000`);
  await new Promise((r) => setTimeout(r, 300));
  await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS.replace('bake: 400ms', 'bake: 500ms') } });
  const woke = await waiting;
  assert.deepEqual(woke.events.map((e) => e.type), ['declarations.applied']);
  assert.ok(Date.now() - t0 < 10_000, `answered after ${Date.now() - t0} ms`);

  const bad = await call(s.url, 'GET', '/v1/events?type=Rollout.*');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'BAD_REQUEST');
  assert.match(JSON.stringify(bad.body.error.details.issues), /type/);
  const badStart = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1', reason: '' } });
  assert.equal(badStart.status, 400, 'an empty reason is refused, not stored');
});
