/**
 * Two control-plane replicas (real `failsmall serve` processes) on one PostgreSQL, behind a TCP
 * load balancer, with real agents talking to the balancer: each rollout is worked by exactly one
 * replica (its lease), a change made through one replica reaches agents held by the other
 * (LISTEN/NOTIFY), and when the replica holding a rollout is killed with SIGKILL mid-rollout,
 * the other takes it over once the lease expires and finishes it: no event lost or doubled, the
 * hash chain intact, every node converged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '@failsmall/agent';
import { generateSigningKeys } from '@failsmall/core';
import { call, DECLARATIONS, freshPostgres, waitFor } from '../packages/server/test/fixtures.ts';
import { freePort, startServe, type Served } from './helpers/procs.ts';
import { TcpBalancer } from './helpers/tcp-proxy.ts';

const LEASE_MS = 2000;
/** The fixture's, with a policy whose canary bakes briefly and then waits for a person: a rollout held mid-way. */
const TEXT = `${DECLARATIONS}  handoff:
    bake: 500ms
    stages:
      - { name: canary, scope: 1 nodes, health_gates: [], approval: manual }
      - { name: global, scope: 100% nodes, health_gates: [] }
`;
const NODES = ['n1', 'n2', 'n3', 'n4'];

interface Replica { name: string; served: Served }
interface Ev { seq: number; type: string; rollout_id: string | null; payload: Record<string, unknown> }

test('two replicas on one PostgreSQL: one works each rollout, changes reach every agent, and a SIGKILLed holder is taken over', { timeout: 300_000 }, async (t) => {
  const pgdb = await freshPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-replicas-'));
  const keys = generateSigningKeys();
  writeFileSync(join(dir, 'artifact.key'), keys.privateKey, { mode: 0o600 });
  const replicas: Replica[] = [];
  const agents: Agent[] = [];
  let balancer: TcpBalancer | undefined;
  t.after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await balancer?.close();
    await Promise.all(replicas.map((r) => r.served.child.stop(2000)));
    await pgdb.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const name of ['a', 'b']) {
    const served = await startServe({ store: pgdb.url, port: await freePort(), signingKey: join(dir, 'artifact.key'), cwd: dir, args: ['--lease-ms', String(LEASE_MS), '--replica', name, '--admin-token-file', '-', '--log', 'error'] });
    replicas.push({ name, served });
  }
  const admin = replicas.map((r) => r.served.adminToken).find((x) => x) ?? '';
  assert.notEqual(admin, '', 'the first replica on a fresh store creates the admin token');
  assert.equal(replicas.filter((r) => r.served.adminToken).length, 1, 'and only the first');
  balancer = await new TcpBalancer(replicas.map((r) => r.served.url)).listen();
  const lb = balancer.url;
  const post = async (path: string, json: unknown) => call(lb, 'POST', path, { token: admin, json });

  assert.equal((await post('/v1/apply', { text: TEXT })).status, 200);
  for (const [v, body] of [['v1', '["one"]'], ['v2', '["two"]']]) {
    assert.equal((await call(lb, 'POST', `/v1/artifacts/features/versions?version=${v}`, { token: admin, body })).status, 201);
  }
  const join_ = (await post('/v1/tokens', { name: 'fleet', role: 'join' })).body.token as string;
  for (const id of NODES) {
    const a = new Agent({ server: lb, token: join_, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(dir, id), metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: keys.publicKey });
    agents.push(a);
    await a.start();
  }
  await waitFor('4 nodes', async () => (await call(lb, 'GET', '/v1/nodes', { token: admin })).body.nodes.length === NODES.length || undefined, 30_000);

  const replicaView = async (r: Replica) => (await call(r.served.url, 'GET', '/v1/replica', { token: admin })).body as { replica: string; hearing: boolean; rollouts: string[] };
  const holderOf = async (id: string) => {
    const views = await Promise.all(replicas.filter((r) => r.served.child.running).map(async (r) => ({ r, view: await replicaView(r) })));
    const holders = views.filter((v) => v.view.rollouts.includes(id));
    return holders.length === 1 ? holders[0] : undefined;
  };
  const rollout = async (id: string) => (await call(lb, 'GET', `/v1/rollouts/${id}`, { token: admin })).body.rollout as { status: string; phase: string; stage_index: number; assigned: string[] };

  await t.test('both replicas hear the other\'s commits, and exactly one holds a new rollout', async () => {
    for (const r of replicas) assert.equal((await replicaView(r)).hearing, true, `${r.name} listens`);
    const id = (await post('/v1/rollouts', { artifact: 'features', version: 'v1', policy: 'handoff' })).body.rollout.id as string;
    await waitFor('the canary to wait for approval', async () => (await rollout(id)).phase === 'awaiting_approval' || undefined, 30_000);
    const held = await waitFor('one replica to hold it', () => holderOf(id), 10_000);
    const views = await Promise.all(replicas.map(replicaView));
    assert.equal(views.filter((v) => v.rollouts.includes(id)).length, 1, JSON.stringify(views));
    // The canary node learnt its version whichever replica its long-poll was held by.
    const canary = (await rollout(id)).assigned;
    assert.equal(canary.length, 1);
    await waitFor('the canary node to serve v1', async () => agents[NODES.indexOf(canary[0] ?? '')]?.serving().features === 'v1' || undefined, 20_000);

    // The holder is killed mid-rollout, without a chance to hand anything over.
    held.r.served.child.proc.kill('SIGKILL');
    await held.r.served.child.exited;
    const survivor = replicas.find((r) => r !== held.r)!;
    // Approved through the balancer: the dead replica refuses connections, so the survivor answers.
    const promoted = await post(`/v1/rollouts/${id}/promote`, { reason: 'replica test' });
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    await waitFor('the survivor to take the rollout over', async () => (await replicaView(survivor)).rollouts.includes(id) || (await rollout(id)).status === 'completed' || undefined, 20_000);
    await waitFor('the rollout to complete', async () => (await rollout(id)).status === 'completed' || undefined, 60_000);
    await waitFor('every node to serve v1', async () => agents.every((a) => a.serving().features === 'v1') || undefined, 30_000);

    const events = (await call(lb, 'GET', `/v1/rollouts/${id}/events`, { token: admin })).body.events as Ev[];
    const once = (type: string) => events.filter((e) => e.type === type).length;
    assert.equal(once('rollout.started'), 1);
    assert.equal(once('rollout.completed'), 1, events.map((e) => e.type).join(', '));
    assert.equal(once('rollout.promoted'), 1, events.map((e) => e.type).join(', '));
    const seqs = events.map((e) => e.seq);
    assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y), 'no event twice, in order');
    const chain = (await call(lb, 'GET', '/v1/audit/verify', { token: admin })).body as { ok: boolean };
    assert.equal(chain.ok, true, JSON.stringify(chain));
  });

  await t.test('the survivor alone runs the next rollout to the end: gates, stages, every node', async () => {
    const id = (await post('/v1/rollouts', { artifact: 'features', version: 'v2' })).body.rollout.id as string;
    await waitFor('v2 to complete', async () => (await rollout(id)).status === 'completed' || undefined, 60_000);
    await waitFor('every node to serve v2', async () => agents.every((a) => a.serving().features === 'v2') || undefined, 30_000);
  });

  await t.test('a bad version rolls back and opens one incident, not one per replica', async () => {
    // A third replica joins for this: two recorders are alive, and only the lease holder may record.
    const served = await startServe({ store: pgdb.url, port: await freePort(), signingKey: join(dir, 'artifact.key'), cwd: dir, args: ['--lease-ms', String(LEASE_MS), '--replica', 'c', '--admin-token-file', '-', '--log', 'error'] });
    replicas.push({ name: 'c', served });
    const bad = JSON.stringify(Array.from({ length: 300 }, (_, i) => `f${i}`));
    assert.equal((await call(lb, 'POST', '/v1/artifacts/features/versions?version=v3&force=true', { token: admin, body: bad })).status, 201);
    const id = (await call(served.url, 'POST', '/v1/rollouts', { token: admin, json: { artifact: 'features', version: 'v3' } })).body.rollout.id as string;
    await waitFor('v3 to roll back', async () => (await rollout(id)).status === 'rolled_back' || undefined, 60_000);
    const opened = await waitFor('the incident', async () => {
      const list = (await call(lb, 'GET', '/v1/incidents', { token: admin })).body.incidents as { id: string; title: string }[];
      return list.length > 0 ? list : undefined;
    }, 30_000);
    // Every replica has had time to read the log by now: the rollback is two recorder ticks old on each.
    await new Promise((r) => setTimeout(r, 3000));
    const list = (await call(lb, 'GET', '/v1/incidents', { token: admin })).body.incidents as { id: string; title: string }[];
    assert.equal(list.length, 1, JSON.stringify(list));
    assert.equal(list[0]?.id, opened[0]?.id);
    assert.match(list[0]?.title ?? '', /v3/);
  });
});
