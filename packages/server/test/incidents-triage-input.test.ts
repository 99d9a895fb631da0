import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '@failsmall/agent';
import type { RolloutChange } from '@failsmall/core';
import { triageInputFor } from '../src/incidents/triage-input.ts';
import { featureFleet } from './feature-fleet.ts';
import { call, DECLARATIONS, testServer, waitFor } from './fixtures.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

/** The fixtures' declarations, with the feature file declared to touch the ClickHouse cluster it is generated from. */
const TOUCHING = DECLARATIONS.replace('    policy: quick\n', '    policy: quick\n    touches: { dependencies: [clickhouse] }\n');

/**
 * What triage is handed about failsmall's own changes, built from the store after real
 * rollouts: each rollout's state (completed, rolled back, aborted, paused) and when it got
 * there, and what it touched (declared on the artifact, and given at start).
 */
describe('triage input knows what was done', () => {
  let s: Server;
  const agents: Agent[] = [];
  const ids = { v1: '', v2: '', v3: '', v4: '' };
  before(async () => {
    s = await testServer({ incidentTickMs: 50 });
    assert.notEqual(TOUCHING, DECLARATIONS);
    agents.push(...await featureFleet(s, { bad: ['v2', 'v3', 'v4'], nodes: ['t1', 't2', 't3'], declarations: TOUCHING }));
    ids.v1 = await until((await post('/v1/rollouts', { artifact: 'features', version: 'v1' })).body.rollout.id, 'completed');
    // v2 fails its gate and rolls back; v3 (started with what it touches) waits for a manual promote and is aborted; v4 is paused by hand.
    ids.v2 = await until((await post('/v1/rollouts', { artifact: 'features', version: 'v2', touches: { regions: ['eu'] } })).body.rollout.id, 'rolled_back');
    ids.v3 = (await post('/v1/rollouts', { artifact: 'features', version: 'v3', policy: 'held', touches: { services: ['login'], dependencies: ['clickhouse', 'redis'] } })).body.rollout.id;
    assert.equal((await post(`/v1/rollouts/${ids.v3}/abort`, { reason: 'wrong file' })).status, 200);
    await until(ids.v3, 'aborted');
    ids.v4 = (await post('/v1/rollouts', { artifact: 'features', version: 'v4', policy: 'held' })).body.rollout.id;
    assert.equal((await post(`/v1/rollouts/${ids.v4}/pause`, { reason: 'looking' })).status, 200);
    await until(ids.v4, 'paused');
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.cleanup();
  });

  const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });
  const rollout = async (id: string) => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout as { status: string; updated_at: number; rollback_started_at: number | null };
  async function until(id: string, status: string): Promise<string> {
    await waitFor(`${id} ${status}`, async () => (await rollout(id)).status === status, 30_000);
    return id;
  }

  it('gives each rollout its state and when it got there, and what it touched', async () => {
    const incident = await waitFor('the incident of v2', async () => ((await call(s.url, 'GET', '/v1/incidents')).body.incidents as { id: string; rollout_id: string | null }[]).find((i) => i.rollout_id === ids.v2));
    const full = (await call(s.url, 'GET', `/v1/incidents/${incident.id}`)).body.incident;
    const input = await triageInputFor(s.store, full, Date.now());
    const byId = new Map((input.changes?.rollouts ?? []).map((r) => [r.id, r]));
    const of = (v: keyof typeof ids): RolloutChange => {
      const r = byId.get(ids[v]);
      assert.ok(r, `rollout ${v} is in the triage input`);
      return r;
    };
    const events = async (id: string, type: string) => ((await call(s.url, 'GET', `/v1/rollouts/${id}/events`)).body.events as { type: string; at: number }[]).find((e) => e.type === type)?.at;
    assert.deepEqual([of('v1').state, of('v1').ended_at_ms], ['completed', await events(ids.v1, 'rollout.completed')]);
    assert.deepEqual([of('v2').state, of('v2').ended_at_ms], ['rolled_back', await events(ids.v2, 'rollout.rolled_back')]);
    assert.deepEqual([of('v3').state, of('v3').ended_at_ms], ['aborted', await events(ids.v3, 'rollout.aborted')]);
    assert.deepEqual([of('v4').state, of('v4').ended_at_ms], ['paused', undefined], 'a paused rollout has not ended');
    assert.ok((of('v2').ended_at_ms ?? 0) >= of('v2').started_at_ms);
    // Declared on the artifact, plus what the start added.
    assert.deepEqual(of('v1').touches, { dependencies: ['clickhouse'] });
    assert.deepEqual(of('v2').touches, { dependencies: ['clickhouse'], regions: ['eu'] });
    assert.deepEqual(of('v3').touches, { dependencies: ['clickhouse', 'redis'], services: ['login'] });
  });

  it('reads what an external change touched from custom_details, and joins it to the incident of a rollout that touched the same', async () => {
    const now = new Date().toISOString();
    const body = { payload: { summary: 'ClickHouse grants changed', timestamp: now, source: 'dba', custom_details: { touches_dependencies: 'clickhouse, ch-cluster-3', touches_regions: ['eu'] } } };
    assert.equal((await post('/v1/ingest/change', body)).status, 202);
    const incident = ((await call(s.url, 'GET', '/v1/incidents')).body.incidents as { id: string; rollout_id: string | null }[]).find((i) => i.rollout_id === ids.v2);
    assert.ok(incident);
    const full = (await call(s.url, 'GET', `/v1/incidents/${incident.id}`)).body;
    const input = await triageInputFor(s.store, full.incident, Date.now());
    const change = input.changes?.external.find((c) => c.summary === 'ClickHouse grants changed');
    assert.deepEqual(change?.touches, { dependencies: ['clickhouse', 'ch-cluster-3'], regions: ['eu'] });
    assert.ok(full.timeline.some((e: { kind: string; text: string }) => e.kind === 'change' && /ClickHouse grants changed/.test(e.text)), 'the change touched what the failed rollout touches: it is on its incident');
  });

  it('refuses touches it cannot read with a typed error and a hint', async () => {
    const start = await post('/v1/rollouts', { artifact: 'features', version: 'v4', touches: { databases: ['clickhouse'] } });
    assert.equal(start.status, 400);
    assert.match(JSON.stringify(start.body.error), /databases/);
    const apply = await post('/v1/apply', { text: TOUCHING.replace('touches: { dependencies: [clickhouse] }', 'touches: { dependencies: clickhouse }') });
    assert.equal(apply.status, 400, JSON.stringify(apply.body));
    assert.match(JSON.stringify(apply.body), /WRONG_TYPE/);
    assert.match(JSON.stringify(apply.body), /\[ clickhouse \]/, 'the hint says how to write it');
  });
});
