/**
 * `failsmall audit verify` and `audit checkpoint` as an auditor runs them, the real CLI binary
 * on copies of a SQLite store: an intact log exits 0; a copy edited behind the trigger's back
 * exits 1 naming the seq, type and time of the first broken link; a copy whose chain was
 * rewritten and re-hashed passes alone and fails against a signed checkpoint; bad checkpoints,
 * keys and stores exit 2 or 3.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { AUDIT_LOG_EXIT } from '../packages/cli/src/commands/audit-log.ts';
import { eventHash, GENESIS_HASH } from '../packages/server/src/store/event-chain.ts';
import { openStore } from '../packages/server/src/store/index.ts';
import { runCli } from './helpers/procs.ts';

const T0 = 1_760_000_000_000;

function show(r: { code: number | null; stdout: string; stderr: string }): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

/** A copy of the store, changed as someone with the file would: drop the trigger, then edit. */
async function tamperedCopy(src: string, dst: string, edit: (db: Database.Database) => void): Promise<string> {
  await copyFile(src, dst);
  const db = new Database(dst);
  try {
    db.exec('DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;');
    edit(db);
  } finally {
    db.close();
  }
  return dst;
}

test('failsmall audit verify / checkpoint on a store and on tampered copies of it', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const storePath = join(dir, 'fs.db');
  const store = await openStore({ engine: 'sqlite', path: storePath });
  await store.appendEvents(Array.from({ length: 9 }, (_, i) => ({ type: `test.e${i + 1}`, at: T0 + (i + 1) * 1000, rollout_id: null, payload: { i: i + 1 } })));
  await store.close();

  const intact = await runCli(['audit', 'verify', '--store', storePath]);
  assert.equal(intact.code, AUDIT_LOG_EXIT.INTACT, show(intact));
  assert.match(intact.stdout, /intact: 9 events, head seq 9/);

  const keys = await runCli(['keys', 'init', '--dir', join(dir, 'keys'), '--name', 'audit', '--json']);
  assert.equal(keys.code, 0, show(keys));
  const key = join(dir, 'keys', 'audit.key');
  const pub = join(dir, 'keys', 'audit.pub');
  const cpFile = join(dir, 'checkpoint.json');
  const cp = await runCli(['audit', 'checkpoint', '--store', `sqlite:${storePath}`, '--key', key, '--out', cpFile, '--json']);
  assert.equal(cp.code, AUDIT_LOG_EXIT.INTACT, show(cp));
  const checkpoint = JSON.parse(await readFile(cpFile, 'utf8')) as { seq: number; hash: string; at: string; signature: string };
  assert.equal(checkpoint.seq, 9);
  assert.match(checkpoint.hash, /^[0-9a-f]{64}$/);
  const stdoutCp = await runCli(['audit', 'checkpoint', '--store', storePath, '--key', key]);
  assert.equal(stdoutCp.code, 0, show(stdoutCp));
  assert.equal((JSON.parse(stdoutCp.stdout) as { seq: number }).seq, 9, 'the checkpoint is what stdout holds');

  const withCp = await runCli(['audit', 'verify', '--store', storePath, '--checkpoint', cpFile, '--pub', pub, '--json']);
  assert.equal(withCp.code, AUDIT_LOG_EXIT.INTACT, show(withCp));
  const verdict = JSON.parse(withCp.stdout) as { ok: boolean; checkpoints: number; head: { seq: number; hash: string } };
  assert.deepEqual([verdict.ok, verdict.checkpoints, verdict.head], [true, 1, { seq: 9, hash: checkpoint.hash }]);

  await t.test('a row edited in place: exit 1, the seq, type and time named', async () => {
    const copy = await tamperedCopy(storePath, join(dir, 'edited.db'), (db) => {
      db.prepare('UPDATE events SET payload = ? WHERE seq = 4').run('{"i":4,"note":"nothing to see"}');
    });
    const r = await runCli(['audit', 'verify', '--store', copy]);
    assert.equal(r.code, AUDIT_LOG_EXIT.BROKEN, show(r));
    assert.match(r.stdout, /broken at seq 4 \(test\.e4, 2025-10-09T08:53:24\.000Z\): hash mismatch/);
    const j = await runCli(['audit', 'verify', '--store', copy, '--json']);
    assert.equal(j.code, AUDIT_LOG_EXIT.BROKEN, show(j));
    const body = JSON.parse(j.stdout) as { ok: boolean; first_broken: { seq: number; reason: string; type: string }; checked: number };
    assert.deepEqual([body.ok, body.first_broken.seq, body.first_broken.reason, body.first_broken.type, body.checked], [false, 4, 'hash mismatch', 'test.e4', 3]);
    const refused = await runCli(['audit', 'checkpoint', '--store', copy, '--key', key]);
    assert.equal(refused.code, AUDIT_LOG_EXIT.BROKEN, 'no checkpoint of a broken chain');
    assert.match(refused.stdout, /no checkpoint written/);
  });

  await t.test('a row deleted: exit 1, the gap named', async () => {
    const copy = await tamperedCopy(storePath, join(dir, 'deleted.db'), (db) => { db.prepare('DELETE FROM events WHERE seq = 6').run(); });
    const r = await runCli(['audit', 'verify', '--store', copy]);
    assert.equal(r.code, AUDIT_LOG_EXIT.BROKEN, show(r));
    assert.match(r.stdout, /broken at seq 7 .*seq gap: event 6 is missing/);
  });

  await t.test('the chain rewritten and re-hashed: passes alone, fails against the checkpoint', async () => {
    const copy = await tamperedCopy(storePath, join(dir, 'rewritten.db'), (db) => {
      db.prepare('UPDATE events SET payload = ? WHERE seq = 2').run('{"i":2,"forged":true}');
      const rows = db.prepare('SELECT seq, at, type, rollout_id, payload FROM events ORDER BY seq').all() as { seq: number; at: number; type: string; rollout_id: string | null; payload: string }[];
      let prev = GENESIS_HASH;
      const update = db.prepare('UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?');
      for (const r of rows) {
        const hash = eventHash({ ...r, prev_hash: prev });
        update.run(prev, hash, r.seq);
        prev = hash;
      }
      db.prepare('UPDATE event_chain_head SET hash = ? WHERE id = 1').run(prev);
    });
    const alone = await runCli(['audit', 'verify', '--store', copy]);
    assert.equal(alone.code, AUDIT_LOG_EXIT.INTACT, show(alone));
    const r = await runCli(['audit', 'verify', '--store', copy, '--checkpoint', cpFile, '--pub', pub]);
    assert.equal(r.code, AUDIT_LOG_EXIT.BROKEN, show(r));
    assert.match(r.stdout, /broken at seq 9 \(test\.e9, [^)]+\): checkpoint mismatch/);
  });

  await t.test('bad checkpoints, keys and stores: exit 2 or 3, never 1', async () => {
    const forged = join(dir, 'forged.json');
    await writeFile(forged, JSON.stringify({ ...checkpoint, seq: 8 }));
    const f = await runCli(['audit', 'verify', '--store', storePath, '--checkpoint', forged, '--pub', pub]);
    assert.equal(f.code, AUDIT_LOG_EXIT.BAD_INPUT, show(f));
    assert.match(f.stderr, /BAD_CHECKPOINT/);
    const noPub = await runCli(['audit', 'verify', '--store', storePath, '--checkpoint', cpFile]);
    assert.equal(noPub.code, AUDIT_LOG_EXIT.BAD_INPUT, show(noPub));
    const badKey = await runCli(['audit', 'checkpoint', '--store', storePath, '--key', pub]);
    assert.equal(badKey.code, AUDIT_LOG_EXIT.BAD_INPUT, show(badKey));
    const missing = await runCli(['audit', 'verify', '--store', join(dir, 'nope.db')]);
    assert.equal(missing.code, AUDIT_LOG_EXIT.UNREADABLE, show(missing));
    assert.match(missing.stderr, /STORE_UNREADABLE/);
  });
});
