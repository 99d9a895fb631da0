/**
 * What a push records about a version: the entries counted, each declared check with its
 * outcome (the same run that gives validateContent's refusals), the signing key's fingerprint,
 * and the words the CLI and the dashboard show for them.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import {
  checkContent, checksSummary, generateSigningKeys, keyFingerprint, parsePrivateKey, parsePublicKey, signerWords, signVersion,
  validateContent, versionSigningKey,
} from '../src/index.ts';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

test('checkContent counts entries whatever the limits, and lists each declared check with its outcome', () => {
  assert.deepEqual(checkContent(json(['a', 'b', 'c']), {}), { entries: 3, checks: [], refusals: [] });
  assert.equal(checkContent(Buffer.from('a\n# comment\n\nb\n'), {}).entries, 2);
  assert.equal(checkContent(json({ x: 1, y: 2 }), {}).entries, 2);
  const ok = checkContent(json(['a', 'b']), { max_bytes: 100, max_entries: 5, json_schema: { type: 'array' } });
  assert.deepEqual(ok.checks, [
    { check: 'max_bytes', outcome: 'passed', message: '9 bytes ≤ max_bytes 100' },
    { check: 'max_entries', outcome: 'passed', message: '2 entries ≤ max_entries 5' },
    { check: 'json_schema', outcome: 'passed', message: 'matches its JSON Schema' },
  ]);
  assert.deepEqual(ok.refusals, []);
});

test('a failed limit skips the schema, and says which limit; the refusals are validateContent\'s', () => {
  const validation = { max_bytes: 1000, max_entries: 2, json_schema: { type: 'object' } };
  const content = json(['a', 'b', 'c']);
  const r = checkContent(content, validation);
  assert.deepEqual(r.checks.map((c) => [c.check, c.outcome]), [['max_bytes', 'passed'], ['max_entries', 'failed'], ['json_schema', 'skipped']]);
  assert.equal(r.checks[2]?.message, 'not run: max_entries failed first');
  assert.deepEqual(r.refusals, validateContent(content, validation));
  const schema = checkContent(json(['a']), { json_schema: { type: 'object' } });
  assert.deepEqual(schema.checks.map((c) => [c.check, c.outcome]), [['json_schema', 'failed']]);
  assert.deepEqual(schema.refusals, validateContent(json(['a']), { json_schema: { type: 'object' } }));
  const notJson = checkContent(Buffer.from('{ nope'), { json_schema: { type: 'object' } });
  assert.equal(notJson.refusals[0]?.code, 'NOT_JSON');
  assert.equal(notJson.checks[0]?.outcome, 'failed');
});

test('a key has one fingerprint for both halves, and the signing key of a rotation\'s two is found', () => {
  const a = generateSigningKeys();
  const b = generateSigningKeys();
  const aPriv = parsePrivateKey(a.privateKey);
  const aPub = parsePublicKey(a.publicKey);
  const bPub = parsePublicKey(b.publicKey);
  assert.ok(aPriv.ok && aPub.ok && bPub.ok);
  assert.equal(keyFingerprint(aPriv.key), keyFingerprint(aPub.key));
  assert.equal(keyFingerprint(createPublicKey(aPriv.key)), keyFingerprint(aPub.key));
  assert.match(keyFingerprint(aPub.key), /^sha256:[0-9a-f]{16}$/);
  assert.notEqual(keyFingerprint(aPub.key), keyFingerprint(bPub.key));
  const sig = signVersion(aPriv.key, 'features', 'v1', 'ab'.repeat(32));
  assert.equal(versionSigningKey([bPub.key, aPub.key], 'features', 'v1', 'ab'.repeat(32), sig), aPub.key);
  assert.equal(versionSigningKey([bPub.key], 'features', 'v1', 'ab'.repeat(32), sig), undefined);
  assert.equal(versionSigningKey([aPub.key], 'features', 'v2', 'ab'.repeat(32), sig), undefined, 'bound to the label');
  assert.equal(versionSigningKey([aPub.key], 'features', 'v1', 'ab'.repeat(32), 'c2hvcnQ='), undefined, 'not 64 bytes');
});

test('the signer and the checks in words', () => {
  assert.equal(signerWords(null, null), 'not signed');
  assert.equal(signerWords('sig', null), 'signed (ed25519)');
  assert.equal(signerWords('sig', { by: 'control-plane', key: 'sha256:0123456789abcdef', verified: true }), 'sha256:0123456789abcdef (control plane)');
  assert.equal(signerWords('sig', { by: 'offline', key: 'sha256:0123456789abcdef', verified: true }), 'sha256:0123456789abcdef (offline)');
  assert.equal(signerWords('sig', { by: 'offline', key: null, verified: false }), 'offline key, not verified by the control plane');
  assert.equal(checksSummary(null), 'not recorded');
  assert.equal(checksSummary([]), 'none declared');
  assert.equal(checksSummary([{ check: 'max_bytes', outcome: 'passed', message: '' }, { check: 'command', outcome: 'passed', message: '' }]), '2 of 2 passed');
  assert.equal(checksSummary([{ check: 'max_entries', outcome: 'failed', message: '' }, { check: 'json_schema', outcome: 'skipped', message: '' }]), 'max_entries failed, json_schema skipped');
});
