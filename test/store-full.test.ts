/**
 * The SQLite volume fills up under a running control plane (a real tmpfs of 8 MiB, mounted for
 * the test): a write is refused with 507 STORE_FULL and a hint, reads keep working, nothing is
 * half-written or corrupted (SQLite's integrity check, the event log's hash chain), and writes
 * work again once space is freed, with no restart.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { call, DECLARATIONS, testServer } from '../packages/server/test/fixtures.ts';

test('a full SQLite volume: writes refused with STORE_FULL, reads work, nothing corrupted, and it recovers when space returns', { timeout: 120_000 }, async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'failsmall-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
  } catch (err) {
    rmSync(mnt, { recursive: true, force: true });
    throw new Error(`this test mounts a small tmpfs to fill it, which needs root (mount -t tmpfs): ${(err as Error).message}`);
  }
  t.after(() => { try { execFileSync('umount', ['-l', mnt]); } finally { rmSync(mnt, { recursive: true, force: true }); } });
  const db = join(mnt, 'fs.db');
  const s = await testServer({ store: db });
  t.after(() => s.cleanup());
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);

  // Ballast leaves about 1 MiB free; versions of 60 KB then fill it.
  const free = () => { const f = statfsSync(mnt); return f.bavail * f.bsize; };
  const ballast = join(mnt, 'ballast');
  writeFileSync(ballast, Buffer.alloc(Math.max(0, free() - 1024 * 1024)));
  const body = (i: number) => JSON.stringify(Array.from({ length: 150 }, (_, j) => `${i}-${j}-${randomBytes(180).toString('hex')}`));
  let refused: { status: number; body: { error: { code: string; message: string; hint: string } } } | undefined;
  let stored = 0;
  for (let i = 0; i < 100 && !refused; i++) {
    const r = await call(s.url, 'POST', `/v1/artifacts/features/versions?version=v${i}`, { token: s.admin, body: body(i) });
    if (r.status === 201) stored++;
    else refused = r;
  }
  assert.ok(refused, 'the volume never filled');
  assert.equal(refused.status, 507, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'STORE_FULL');
  assert.match(refused.body.error.message, /volume is full: this change was not written/);
  assert.match(refused.body.error.hint, /free space on the volume/);
  assert.ok(stored > 0);

  // Reads work, the refused version is nowhere, and nothing is corrupted.
  const listed = (await call(s.url, 'GET', '/v1/artifacts/features')).body.versions as { version: string }[];
  assert.equal(listed.length, stored);
  assert.equal(listed.some((v) => v.version === `v${stored}`), false);
  const chain = (await call(s.url, 'GET', '/v1/audit/verify', { token: s.admin })).body as { ok: boolean };
  assert.equal(chain.ok, true, JSON.stringify(chain));
  const check = new Database(db, { readonly: true });
  try {
    assert.equal((check.pragma('integrity_check', { simple: true }) as string), 'ok');
  } finally {
    check.close();
  }

  // Space returns: the same push goes through, no restart.
  rmSync(ballast);
  const again = await call(s.url, 'POST', `/v1/artifacts/features/versions?version=v${stored}`, { token: s.admin, body: body(stored) });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  assert.equal(((await call(s.url, 'GET', '/v1/artifacts/features')).body.versions as unknown[]).length, stored + 1);
  assert.equal(((await call(s.url, 'GET', '/v1/audit/verify', { token: s.admin })).body as { ok: boolean }).ok, true);
});
