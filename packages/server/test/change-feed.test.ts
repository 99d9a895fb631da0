/**
 * The change feed between replicas of one PostgreSQL store: a commit by one store instance is
 * heard by another (types and rollout ids, its origin named), never by itself through the feed;
 * a feed whose connection is cut reconnects and says `resync`; SQLite has no other replicas.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { parseDeclarations } from '@failsmall/core';
import { openStore } from '../src/store/index.ts';
import type { Change } from '../src/store/change-feed.ts';
import type { SqlStore } from '../src/store/sql-store.ts';
import { DECLARATIONS, freshPostgres, waitFor } from './fixtures.ts';

const declarations = () => {
  const parsed = parseDeclarations(DECLARATIONS, { file: 'fixtures.ts' });
  assert.ok(parsed.ok);
  return parsed.value;
};

describe('the change feed on PostgreSQL', () => {
  let pgdb: Awaited<ReturnType<typeof freshPostgres>>;
  let a: SqlStore;
  let b: SqlStore;
  before(async () => {
    pgdb = await freshPostgres();
    a = await openStore({ engine: 'postgres', url: pgdb.url });
    b = await openStore({ engine: 'postgres', url: pgdb.url });
    await Promise.all([a.listen(), b.listen()]);
  });
  after(async () => { await a.close(); await b.close(); await pgdb.drop(); });

  it('a commit by one replica is heard by the other, with its origin, types and rollouts; each hears its own only locally', async () => {
    const heardByB: Change[] = [];
    const heardByA: Change[] = [];
    const offB = b.onChange((c) => heardByB.push(c));
    const offA = a.onChange((c) => heardByA.push(c));
    assert.notEqual(a.origin, b.origin);
    await a.applyDeclarations(declarations(), { actor: 'alice' });
    await waitFor('b to hear it', async () => heardByB.length > 0 || undefined, 10_000);
    assert.deepEqual(heardByB, [{ origin: a.origin, types: ['declarations.applied'], rollouts: [] }]);
    assert.deepEqual(heardByA, [{ origin: a.origin, types: ['declarations.applied'], rollouts: [] }], 'its own commit, once, from the commit itself');
    // A write that appends no event (a lease) is nobody's news.
    await a.leases.acquire('job:x', 'a', Date.now(), 1000);
    await b.applyDeclarations(declarations(), { actor: 'bob' }); // unchanged: no event either
    await a.putVersion({ artifact: 'features', version: 'v1', sha256: 'aa'.repeat(32), content: Buffer.from('["x"]'), forced: false, created_at: Date.now() }, { actor: 'ci' });
    await waitFor('the push', async () => heardByB.length > 1 || undefined, 10_000);
    assert.deepEqual(heardByB.map((c) => c.types), [['declarations.applied'], ['artifact.version_pushed']], 'nothing heard of writes without events');
    offA(); offB();
  });

  it('a cut connection is reconnected, and the first notice after it is a resync', async () => {
    assert.equal(b.hearing, true);
    const heard: Change[] = [];
    const off = b.onChange((c) => heard.push(c));
    // What a PostgreSQL restart or failover does to the listening connection.
    const root = new pg.Client({ connectionString: pgdb.url });
    await root.connect();
    try {
      const { rowCount } = await root.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()");
      assert.ok((rowCount ?? 0) >= 2, 'both replicas\' listening connections were cut');
    } finally {
      await root.end();
    }
    await waitFor('b to resync', async () => heard.some((c) => c.resync) || undefined, 15_000);
    assert.equal(b.hearing, true);
    await a.putVersion({ artifact: 'features', version: 'v2', sha256: 'bb'.repeat(32), content: Buffer.from('["y"]'), forced: false, created_at: Date.now() }, { actor: 'ci' });
    await waitFor('b to hear the next commit', async () => heard.some((c) => c.types.includes('artifact.version_pushed')) || undefined, 10_000);
    off();
  });
});

describe('the change feed on SQLite', () => {
  it('hears its own commits and has no one else to hear', async () => {
    const store = await openStore({ engine: 'sqlite', path: ':memory:' });
    try {
      const heard: Change[] = [];
      store.onChange((c) => heard.push(c));
      await store.listen();
      assert.equal(store.hearing, true);
      await store.applyDeclarations(declarations(), { actor: 'alice' });
      assert.deepEqual(heard, [{ origin: store.origin, types: ['declarations.applied'], rollouts: [] }]);
    } finally {
      await store.close();
    }
  });
});
