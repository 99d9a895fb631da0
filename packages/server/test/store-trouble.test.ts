/**
 * The store's own troubles, as the API says them: a full volume is 507 STORE_FULL and a
 * database out of reach 503 STORE_UNAVAILABLE, on both engines' error codes; anything else is
 * not the store's trouble (and stays a bug's 500).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storeTrouble } from '../src/http/errors.ts';

test('full volumes and unreachable stores, by their engines\' codes', () => {
  for (const code of ['SQLITE_FULL', '53100']) assert.equal(storeTrouble({ code })?.code, 'STORE_FULL', code);
  assert.equal(storeTrouble({ code: 'SQLITE_FULL' })?.status, 507);
  for (const code of ['SQLITE_BUSY', 'SQLITE_IOERR_WRITE', '57P01', '57P03', 'ECONNREFUSED', 'ECONNRESET', '08006']) {
    const t = storeTrouble({ code });
    assert.equal(t?.code, 'STORE_UNAVAILABLE', code);
    assert.equal(t?.status, 503);
    assert.match(t?.message ?? '', new RegExp(`\\(${code}\\): this change was not written`));
  }
  for (const err of [new Error('x'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }, { code: 23505 }, null, undefined, 'text']) assert.equal(storeTrouble(err), undefined);
});
