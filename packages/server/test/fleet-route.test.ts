/**
 * GET /v1/fleet on a real server, on SQLite and on PostgreSQL: nodes grouped by a label, counted
 * by the version they serve and its state, with refusals named; bad input is a typed 4xx.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetGroup } from '@failsmall/core';
import { call, DECLARATIONS, freshPostgres, testServer } from './fixtures.ts';

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`GET /v1/fleet (${engine})`, () => {
    it('groups the fleet by a label and counts what each group serves', async () => {
      const pg = engine === 'postgres' ? await freshPostgres() : undefined;
      const s = await testServer(pg ? { store: pg.url } : {});
      try {
        assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
        const now = Date.now();
        for (let i = 0; i < 6; i++) {
          await s.store.upsertNode({ id: `n${i}`, labels: { region: i < 4 ? 'eu' : 'us' }, modules: ['bot-management'] }, now, true);
          await s.store.recordLoad({ node_id: `n${i}`, artifact: 'features', version: 'v1', ok: true, serving: 'v1', error: null, at: now, module_state: 'serving' });
        }
        await s.store.recordLoad({ node_id: 'n5', artifact: 'features', version: 'v2', ok: false, serving: 'v1', error: 'too many features', at: now + 1, module_state: 'stale' });
        const r = await call(s.url, 'GET', '/v1/fleet?artifact=features&by=region', { token: s.admin });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.nodes, 6);
        const groups = Object.fromEntries((r.body.groups as FleetGroup[]).map((g) => [g.value, g]));
        assert.deepEqual(groups.eu?.serving, { v1: 4 });
        assert.deepEqual(groups.us?.serving, { v1: 2 });
        assert.deepEqual(groups.us?.refused.map((x) => [x.node, x.error]), [['n5', 'too many features']]);
        assert.deepEqual(r.body.label_keys, { region: 2 });

        const bad = await call(s.url, 'GET', '/v1/fleet?by=not%20a%20label', { token: s.admin });
        assert.equal(bad.status, 400);
        assert.match(JSON.stringify(bad.body), /label key/);
        const unknown = await call(s.url, 'GET', '/v1/fleet?artifact=nope', { token: s.admin });
        assert.equal(unknown.status, 404);
        assert.equal((await fetch(`${s.url}/v1/fleet`)).status, 401, 'a token is needed');
      } finally {
        await s.cleanup();
        await pg?.drop();
      }
    });
  });
}
