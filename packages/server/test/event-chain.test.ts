/**
 * The hash-chained event log (issue 11): the pure hash and walk, then the store on SQLite and
 * on PostgreSQL attacked the way someone with database access would (drop the append-only
 * trigger, UPDATE or DELETE a row, re-hash the whole chain), the migration that chains an
 * existing log, concurrent writers, and GET /v1/audit/verify.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Migrator, sql, type Kysely } from 'kysely';
import type { RolloutEvent } from '@failsmall/core';
import {
  canonicalEventBytes, chainEvents, eventHash, GENESIS_HASH, parseCheckpoint, signCheckpoint, verifyChain, verifyCheckpoint, ChainWalk,
  type ChainedEvent, type ChainFields,
} from '../src/store/event-chain.ts';
import { openEventLogReadOnly } from '../src/store/audit.ts';
import { openStore, type SqlStore, type StoreConfig } from '../src/store/index.ts';
import { migrationProvider, type StoreEngine } from '../src/store/migrations.ts';
import { openPostgres } from '../src/store/postgres.ts';
import type { StoreSchema } from '../src/store/schema.ts';
import { openSqlite } from '../src/store/sqlite.ts';
import { call, freshPostgres, testServer } from './fixtures.ts';

const T0 = 1_760_000_000_000;

function ev(i: number, over: Partial<RolloutEvent> = {}): RolloutEvent {
  return { type: `test.e${i}`, at: T0 + i, rollout_id: i % 3 === 0 ? null : `r${i % 2}`, payload: { i, text: `event ${i}` }, ...over };
}

function chain(n: number): ChainedEvent[] {
  return chainEvents({ seq: 0, hash: GENESIS_HASH }, Array.from({ length: n }, (_, i) => ev(i + 1)));
}

/** A row changed in place and its hash recomputed (prev_hash kept). */
function rehashed(row: ChainedEvent, change: Partial<ChainFields>): ChainedEvent {
  const fields = { ...row, ...change };
  return { ...fields, hash: eventHash(fields) };
}

/** Every row from `from` on re-chained onto the row before it: the attacker who re-hashes the rest. */
function rechain(rows: readonly ChainedEvent[]): ChainedEvent[] {
  const out: ChainedEvent[] = [];
  let prev = GENESIS_HASH;
  for (const r of rows) {
    const fields = { ...r, prev_hash: prev };
    const hash = eventHash(fields);
    out.push({ ...fields, hash });
    prev = hash;
  }
  return out;
}

describe('event chain: the pure hash and walk', () => {
  it('encodes an event unambiguously (domain, typed, length-prefixed fields)', () => {
    const e: ChainFields = { seq: 1, at: 5, type: 'a', rollout_id: null, payload: '{}', prev_hash: GENESIS_HASH };
    assert.equal(canonicalEventBytes(e).toString('utf8'), `failsmall-event-v1\nn:1\nn:5\ns:1:a\n-\ns:2:{}\ns:64:${GENESIS_HASH}`);
    // Lengths count UTF-8 bytes.
    assert.match(canonicalEventBytes({ ...e, type: 'é' }).toString('utf8'), /\ns:2:é\n/);
    assert.match(eventHash(e), /^[0-9a-f]{64}$/);
    assert.equal(eventHash(e), eventHash({ ...e }), 'deterministic');
  });

  it('changes the hash when any field changes, and tells null from the empty string', () => {
    const e: ChainFields = { seq: 7, at: T0, type: 'rollout.started', rollout_id: 'r1', payload: '{"a":1}', prev_hash: 'ab'.repeat(32) };
    const variants: Partial<ChainFields>[] = [
      { seq: 8 }, { at: T0 + 1 }, { type: 'rollout.startee' }, { rollout_id: null }, { rollout_id: '' }, { payload: '{"a":2}' }, { prev_hash: 'ac'.repeat(32) },
      // Moving a byte from one field to the next must not give the same encoding.
      { type: 'rollout.started{', payload: '"a":1}' },
    ];
    const hashes = new Set([eventHash(e), ...variants.map((v) => eventHash({ ...e, ...v }))]);
    assert.equal(hashes.size, variants.length + 1);
  });

  it('chains consecutive seqs from the head, each prev_hash the hash before it', () => {
    const rows = chain(4);
    assert.deepEqual(rows.map((r) => r.seq), [1, 2, 3, 4]);
    assert.equal(rows[0]?.prev_hash, GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) assert.equal(rows[i]?.prev_hash, rows[i - 1]?.hash);
    const more = chainEvents({ seq: 4, hash: rows[3]?.hash ?? '' }, [ev(5)]);
    assert.deepEqual(verifyChain([...rows, ...more]), { ok: true, events: 5, head: { seq: 5, hash: more[0]?.hash }, checkpoints: 0 });
    assert.deepEqual(verifyChain([]), { ok: true, events: 0, head: { seq: 0, hash: GENESIS_HASH }, checkpoints: 0 });
  });

  it('names the changed row when a payload is edited in place', () => {
    const rows = chain(6);
    const tampered = rows.map((r) => (r.seq === 4 ? { ...r, payload: '{"i":4,"text":"forged"}' } : r));
    const v = verifyChain(tampered);
    assert.equal(v.ok, false);
    assert.ok(!v.ok);
    assert.deepEqual([v.first_broken.seq, v.first_broken.reason, v.first_broken.type, v.checked], [4, 'hash mismatch', 'test.e4', 3]);
  });

  it('names the next row when an edited row was re-hashed too', () => {
    const rows = chain(6);
    const v = verifyChain(rows.map((r) => (r.seq === 4 ? rehashed(r, { type: 'forged' }) : r)));
    assert.ok(!v.ok);
    assert.deepEqual([v.first_broken.seq, v.first_broken.reason], [5, 'prev_hash mismatch']);
    assert.match(v.first_broken.detail, /seq 4/);
  });

  it('names a gap where rows were deleted, also at the start', () => {
    const rows = chain(6);
    const v = verifyChain(rows.filter((r) => r.seq !== 3 && r.seq !== 4));
    assert.ok(!v.ok);
    assert.deepEqual([v.first_broken.seq, v.first_broken.reason], [5, 'seq gap']);
    assert.match(v.first_broken.detail, /events 3…4 are missing/);
    const head = verifyChain(rows.slice(1));
    assert.ok(!head.ok);
    assert.deepEqual([head.first_broken.seq, head.first_broken.reason], [2, 'seq gap']);
    const dup = verifyChain([...rows.slice(0, 3), rows[2] as ChainedEvent]);
    assert.ok(!dup.ok);
    assert.equal(dup.first_broken.reason, 'seq gap', 'a repeated seq is out of order');
  });

  it('accepts a seq that skips numbers but links (a PostgreSQL sequence gap chained by the migration)', () => {
    const rows = rechain(chain(4).map((r) => (r.seq >= 3 ? { ...r, seq: r.seq + 10 } : r)));
    assert.equal(verifyChain(rows).ok, true);
  });

  it('catches events deleted from the end against the recorded head', () => {
    const rows = chain(6);
    const head = { seq: 6, hash: rows[5]?.hash ?? '' };
    assert.equal(verifyChain(rows, { recordedHead: head }).ok, true);
    const v = verifyChain(rows.slice(0, 4), { recordedHead: head });
    assert.ok(!v.ok);
    assert.deepEqual([v.first_broken.seq, v.first_broken.reason], [6, 'head mismatch']);
    assert.match(v.first_broken.detail, /events 5…6 were deleted/);
    const missing = verifyChain(rows, { recordedHead: null });
    assert.ok(!missing.ok);
    assert.equal(missing.first_broken.reason, 'head mismatch');
    // Events appended after the head was read are fine.
    assert.equal(verifyChain(rows, { recordedHead: { seq: 4, hash: rows[3]?.hash ?? '' } }).ok, true);
  });

  it('catches a whole chain rewritten and re-hashed only with a checkpoint', () => {
    const rows = chain(8);
    const checkpoint = { seq: 6, hash: rows[5]?.hash ?? '' };
    const rewritten = rechain(rows.map((r) => (r.seq === 3 ? { ...r, payload: '{"forged":true}' } : r)));
    assert.equal(verifyChain(rewritten).ok, true, 'without a checkpoint the rewrite is self-consistent');
    const v = verifyChain(rewritten, { checkpoints: [checkpoint] });
    assert.ok(!v.ok);
    assert.deepEqual([v.first_broken.seq, v.first_broken.reason], [6, 'checkpoint mismatch']);
    assert.deepEqual(verifyChain(rows, { checkpoints: [checkpoint] }), { ok: true, events: 8, head: { seq: 8, hash: rows[7]?.hash }, checkpoints: 1 });
    const truncated = verifyChain(rows.slice(0, 5), { checkpoints: [checkpoint] });
    assert.ok(!truncated.ok);
    assert.deepEqual([truncated.first_broken.seq, truncated.first_broken.reason], [6, 'checkpoint mismatch']);
  });

  it('gives the same verdict page by page as in one pass', () => {
    const rows = chain(50);
    const tampered = rows.map((r) => (r.seq === 37 ? { ...r, at: r.at + 1 } : r));
    for (const input of [rows, tampered]) {
      const walk = new ChainWalk();
      for (let i = 0; i < input.length; i += 7) if (!walk.add(input.slice(i, i + 7))) break;
      assert.deepEqual(walk.finish(), verifyChain(input));
    }
  });

  it('signs checkpoints with ed25519, and refuses a forged or edited one', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const c = signCheckpoint(privateKey, { seq: 12, hash: 'cd'.repeat(32) }, new Date(T0));
    assert.equal(c.at, new Date(T0).toISOString());
    const parsed = parseCheckpoint(JSON.stringify(c));
    assert.ok(parsed.ok);
    assert.deepEqual(verifyCheckpoint(publicKey, parsed.checkpoint), { ok: true });
    assert.equal(verifyCheckpoint(other.publicKey, c).ok, false, 'another key');
    assert.equal(verifyCheckpoint(publicKey, { ...c, seq: 13 }).ok, false, 'seq edited');
    assert.equal(verifyCheckpoint(publicKey, { ...c, hash: 'ce'.repeat(32) }).ok, false, 'hash edited');
    assert.equal(parseCheckpoint('{"seq":1}').ok, false);
    assert.equal(parseCheckpoint('not json').ok, false);
  });
});

// ── the store, attacked through the database ─────────────────────────────────

interface Engine {
  readonly name: StoreEngine;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  freshConfig(): Promise<StoreConfig>;
  /** What an attacker with database access runs first. */
  readonly dropTriggers: string[];
}

function sqliteEngine(): Engine {
  let dir = '';
  let n = 0;
  return {
    name: 'sqlite',
    async setup() { dir = mkdtempSync(join(tmpdir(), 'failsmall-chain-')); },
    async teardown() { if (dir) rmSync(dir, { recursive: true, force: true }); },
    async freshConfig() { return { engine: 'sqlite', path: join(dir, `t${++n}.db`) }; },
    dropTriggers: ['DROP TRIGGER events_no_update', 'DROP TRIGGER events_no_delete'],
  };
}

/** One database per run, one schema per test (as store.test.ts). */
function postgresEngine(): Engine {
  let db: Awaited<ReturnType<typeof freshPostgres>> | undefined;
  let admin: pg.Client | undefined;
  let n = 0;
  return {
    name: 'postgres',
    async setup() {
      db = await freshPostgres();
      admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
    },
    async teardown() { await admin?.end(); await db?.drop(); },
    async freshConfig() {
      if (!db || !admin) throw new Error('PostgreSQL test database was not created');
      const schema = `chain${++n}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      return { engine: 'postgres', url: `${db.url}?options=${encodeURIComponent(`-c search_path=${schema}`)}` };
    },
    dropTriggers: ['DROP TRIGGER events_append_only ON events'],
  };
}

async function raw(store: SqlStore, statements: readonly string[]): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(store.db);
}

for (const engine of [sqliteEngine(), postgresEngine()]) {
  describe(`event chain on ${engine.name}`, () => {
    const open: SqlStore[] = [];
    before(() => engine.setup());
    after(async () => {
      for (const s of open) await s.close();
      await engine.teardown();
    });
    const fresh = async () => {
      const store = await openStore(await engine.freshConfig());
      open.push(store);
      return store;
    };
    /** Events through each of the four writers: a store method, appendEvents, approvals, node credentials. */
    const fill = async (store: SqlStore, n: number) => {
      await store.appendEvents(Array.from({ length: n }, (_, i) => ev(i + 1)));
      await store.upsertNode({ id: 'n1', labels: { region: 'fra' }, modules: ['bot-management'] }, T0 + 100);
      await store.approvals.create({
        id: 'ap1', artifact: 'features', version: 'v2', from_version: 'v1', findings: [], digest: 'd', approver: 'bob', reason: 'fine',
        created_at: T0 + 101, expires_at: T0 + 1_000_000, used_by: null, used_at: null,
      });
      assert.equal(await store.credentials.bind('n1', 'h'.repeat(64), T0 + 102), true);
      assert.equal(await store.credentials.release('n1', 'alice', T0 + 103), true);
      await store.appendEvents([ev(999, { payload: { unicode: 'grüße ✓', nested: { a: [1, 2, { b: null }] } } })]);
    };

    it('chains every writer\'s events, and verifies them page by page', async () => {
      const store = await fresh();
      await fill(store, 20);
      const v = await store.verifyEvents({ pageSize: 3 });
      assert.ok(v.ok, JSON.stringify(v));
      assert.equal(v.events, 25);
      assert.equal(v.head.seq, 25);
      const types = (await store.listEvents({})).map((e) => e.type);
      for (const t of ['node.registered', 'approval.created', 'node.enrolled', 'node.credential_released']) assert.ok(types.includes(t), t);
      const head = await store.db.selectFrom('event_chain_head').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual({ seq: Number(head.seq), hash: head.hash }, v.head);
      assert.deepEqual(await store.verifyEvents({ pageSize: 1000 }), v);
    });

    it('keeps the chain whole under concurrent writers', async () => {
      const store = await fresh();
      await Promise.all(Array.from({ length: 12 }, (_, w) => store.appendEvents(Array.from({ length: 5 }, (_, i) => ev(w * 100 + i)))));
      const v = await store.verifyEvents();
      assert.ok(v.ok, JSON.stringify(v));
      const seqs = (await store.listEvents({})).map((e) => e.seq);
      assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => i + 1), 'consecutive seqs');
    });

    it('names exactly the row an attacker edited after dropping the trigger', async () => {
      const store = await fresh();
      await fill(store, 10);
      await assert.rejects(sql`UPDATE events SET payload = '{}' WHERE seq = 7`.execute(store.db), /append-only/, 'the trigger still stands');
      await raw(store, engine.dropTriggers);
      await sql`UPDATE events SET payload = ${'{"i":7,"text":"nothing happened"}'} WHERE seq = 7`.execute(store.db);
      const v = await store.verifyEvents({ pageSize: 4 });
      assert.ok(!v.ok);
      assert.deepEqual([v.first_broken.seq, v.first_broken.reason, v.first_broken.type, v.checked], [7, 'hash mismatch', 'test.e7', 6]);
    });

    it('names the gap a deleted row leaves, and events deleted from the end', async () => {
      const store = await fresh();
      await fill(store, 10);
      await raw(store, engine.dropTriggers);
      await sql`DELETE FROM events WHERE seq = 4`.execute(store.db);
      const v = await store.verifyEvents();
      assert.ok(!v.ok);
      assert.deepEqual([v.first_broken.seq, v.first_broken.reason], [5, 'seq gap']);

      const tail = await fresh();
      await fill(tail, 10);
      await raw(tail, engine.dropTriggers);
      await sql`DELETE FROM events WHERE seq > 12`.execute(tail.db);
      const t = await tail.verifyEvents();
      assert.ok(!t.ok);
      assert.deepEqual([t.first_broken.seq, t.first_broken.reason], [15, 'head mismatch']);
      // The next append chains onto the recorded head, so the deletion stays visible.
      await tail.appendEvents([ev(50)]);
      const after = await tail.verifyEvents();
      assert.ok(!after.ok);
      assert.deepEqual([after.first_broken.seq, after.first_broken.reason], [16, 'seq gap']);
    });

    it('catches a re-hashed rewrite of the whole chain only with a checkpoint', async () => {
      const store = await fresh();
      await fill(store, 10);
      const before = await store.verifyEvents();
      assert.ok(before.ok);
      const checkpoint = before.head;
      // The attacker edits seq 3, re-hashes every event after it and the recorded head.
      await raw(store, engine.dropTriggers);
      await sql`UPDATE events SET payload = '{"forged":true}' WHERE seq = 3`.execute(store.db);
      const rows = await store.db.selectFrom('events').selectAll().orderBy('seq').execute();
      let prev = GENESIS_HASH;
      for (const r of rows) {
        const hash = eventHash({ seq: Number(r.seq), at: Number(r.at), type: r.type, rollout_id: r.rollout_id, payload: r.payload, prev_hash: prev });
        await sql`UPDATE events SET prev_hash = ${prev}, hash = ${hash} WHERE seq = ${r.seq}`.execute(store.db);
        prev = hash;
      }
      await sql`UPDATE event_chain_head SET hash = ${prev} WHERE id = 1`.execute(store.db);
      assert.equal((await store.verifyEvents()).ok, true, 'self-consistent without a checkpoint');
      const v = await store.verifyEvents({ checkpoints: [checkpoint] });
      assert.ok(!v.ok);
      assert.deepEqual([v.first_broken.seq, v.first_broken.reason], [checkpoint.seq, 'checkpoint mismatch']);
    });

    it('opens a store read-only to audit it, without migrating it', async () => {
      const config = await engine.freshConfig();
      const store = await openStore(config);
      await fill(store, 3);
      await store.close();
      const log = await openEventLogReadOnly(config);
      try {
        const v = await log.verify();
        assert.ok(v.ok);
        assert.equal(v.events, 8);
      } finally {
        await log.close();
      }
    });

    it('the migration chains an existing log in seq order, and the trigger stands again', async () => {
      const config = await engine.freshConfig();
      const { db, close } = openRaw(config);
      const migrator = new Migrator({ db, provider: migrationProvider(engine.name), ...(engine.name === 'postgres' ? { migrationTableSchema: await currentSchema(db) } : {}) });
      const to10 = await migrator.migrateTo('0010_node_signal_problems');
      assert.equal(to10.error, undefined, String(to10.error));
      // The log as an older control plane wrote it: seq from the autoincrement/bigserial.
      for (let i = 1; i <= 30; i++) {
        if (engine.name === 'postgres' && i === 10) await sql`SELECT nextval(pg_get_serial_sequence('events', 'seq'))`.execute(db); // a rolled-back insert's gap
        await sql`INSERT INTO events (at, type, rollout_id, payload) VALUES (${T0 + i}, ${`old.e${i}`}, ${null}, ${JSON.stringify({ i })})`.execute(db);
      }
      await close();

      const store = await openStore(config);
      open.push(store);
      const v = await store.verifyEvents({ pageSize: 7 });
      assert.ok(v.ok, JSON.stringify(v));
      assert.equal(v.events, 30);
      assert.equal(v.head.seq, engine.name === 'postgres' ? 31 : 30);
      await assert.rejects(sql`UPDATE events SET type = 'forged'`.execute(store.db), /append-only/);
      await assert.rejects(sql`DELETE FROM events`.execute(store.db), /append-only/);
      await store.appendEvents([ev(1), ev(2)]);
      const more = await store.verifyEvents();
      assert.ok(more.ok);
      assert.equal(more.events, 32);
      if (engine.name === 'postgres') {
        // An insert that bypasses the chain is refused rather than written without a hash.
        await assert.rejects(sql`INSERT INTO events (seq, at, type, rollout_id, payload) VALUES (1000, 1, 'x', NULL, '{}')`.execute(store.db), /null value|not-null/);
      }
    });
  });
}

function openRaw(config: StoreConfig): { db: Kysely<StoreSchema>; close(): Promise<void> } {
  if (config.engine === 'sqlite') {
    const db = openSqlite(config.path);
    return { db, close: () => db.destroy() };
  }
  const { db, closed } = openPostgres(config.url);
  return { db, close: async () => { await db.destroy(); await closed(); } };
}

async function currentSchema(db: Kysely<StoreSchema>): Promise<string> {
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
  return rows[0]?.schema ?? 'public';
}

describe('GET /v1/audit/verify', () => {
  let s: Awaited<ReturnType<typeof testServer>>;
  before(async () => { s = await testServer(); });
  after(() => s.cleanup());

  it('says whether the chain is intact, to a viewer; nothing without a token', async () => {
    assert.equal((await call(s.url, 'GET', '/v1/audit/verify', { anonymous: true })).status, 401);
    await s.store.appendEvents([ev(1), ev(2)]);
    const r = await call(s.url, 'GET', '/v1/audit/verify', { token: s.admin });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.ok, true);
    assert.ok(r.body.events >= 2);
    assert.match(r.body.message, /intact/);
  });

  it('names the first broken link after the database was edited', async () => {
    const db = (s.store as SqlStore).db;
    await sql.raw('DROP TRIGGER events_no_update').execute(db);
    await sql`UPDATE events SET type = 'forged' WHERE seq = 2`.execute(db);
    const r = await call(s.url, 'GET', '/v1/audit/verify', { token: s.admin });
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, false);
    assert.deepEqual([r.body.first_broken.seq, r.body.first_broken.reason], [2, 'hash mismatch']);
    assert.match(r.body.message, /broken at seq 2 \(forged, /);
  });
});
