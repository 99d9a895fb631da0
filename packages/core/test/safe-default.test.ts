import assert from 'node:assert/strict';
import { test } from 'node:test';
import { afterFailedLoad, generateSigningKeys, parsePrivateKey, parsePublicKey, signSafeDefault, signVersion, trustedOnFailure } from '../src/index.ts';

const keys = generateSigningKeys();
const priv = parsePrivateKey(keys.privateKey);
const pub = parsePublicKey(keys.publicKey);
if (!priv.ok || !pub.ok) throw new Error('test keys');
const publicKey = pub.key;
const signed = { on_load_failure: 'fail-open' as const, safe_default: '[]', safe_default_signature: signSafeDefault(priv.key, 'waf', '[]') };

test('a signed safe default is kept; edited, moved to another module or unsigned, it is dropped with the reason', () => {
  assert.deepEqual(trustedOnFailure('waf', signed, { publicKey }), { onFailure: signed });
  const edited = trustedOnFailure('waf', { ...signed, safe_default: '["allow-all"]' }, { publicKey });
  assert.deepEqual(edited.onFailure, { on_load_failure: 'fail-open' });
  assert.match(edited.problem ?? '', /not signed by the trusted artifact key/);
  assert.match(trustedOnFailure('bot', signed, { publicKey }).problem ?? '', /not signed/);
  assert.match(trustedOnFailure('waf', { on_load_failure: 'fail-open', safe_default: '[]' }, { publicKey }).problem ?? '', /unsigned/);
  // A version's signature over the same bytes is no safe default's: the domains differ.
  const asVersion = signVersion(priv.key, 'waf', 'safe-default', '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  assert.ok(trustedOnFailure('waf', { ...signed, safe_default_signature: asVersion }, { publicKey }).problem);
});

test('the node\'s own safe default is trusted as is; without a key only --allow-unsigned takes a declared one', () => {
  assert.deepEqual(trustedOnFailure('waf', { ...signed, safe_default: 'x' }, { publicKey, local: '["local"]' }).onFailure, { on_load_failure: 'fail-open', safe_default: '["local"]' });
  assert.match(trustedOnFailure('waf', signed, {}).problem ?? '', /no artifact public key/);
  assert.deepEqual(trustedOnFailure('waf', signed, { allowUnsigned: true }), { onFailure: signed });
  assert.deepEqual(trustedOnFailure('waf', undefined, { publicKey, local: 'x' }), { onFailure: undefined });
});

test('fail-open with no safe default it can trust leaves the module empty, never an empty file taken for a default', () => {
  assert.deepEqual(afterFailedLoad({ on_load_failure: 'fail-open' }, 'v1'), { state: 'empty' });
  assert.deepEqual(afterFailedLoad({ on_load_failure: 'fail-open', safe_default: '[]' }, 'v1'), { state: 'fail-open' });
});
