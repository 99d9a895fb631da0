/**
 * Signed load requests for the safe loader's tests (safe-loader.test.ts on disk,
 * loader-injected.test.ts in memory): real ed25519 keys from @failsmall/core, so that a
 * signature refusal in a test is the one a node would make.
 */
import { createHash } from 'node:crypto';
import { generateSigningKeys, parsePrivateKey, parsePublicKey, signVersion } from '@failsmall/core';
import type { LoadRequest } from '../src/index.ts';

export const keys = generateSigningKeys();
export const privateKey = (() => { const k = parsePrivateKey(keys.privateKey); if (!k.ok) throw new Error(k.message); return k.key; })();
export const publicKey = (() => { const k = parsePublicKey(keys.publicKey); if (!k.ok) throw new Error(k.message); return k.key; })();
export const otherKey = (() => { const k = parsePrivateKey(generateSigningKeys().privateKey); if (!k.ok) throw new Error(k.message); return k.key; })();

export const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
export const features = (n: number) => Buffer.from(JSON.stringify(Array.from({ length: n }, (_, i) => ({ name: `f${i}`, weight: i / 100 }))));
export const SCHEMA = { type: 'array', items: { type: 'object', required: ['name', 'weight'], properties: { name: { type: 'string' }, weight: { type: 'number' } } } };

/** A correctly signed request for `content` as version `version` of artifact `features`. */
export function signed(version: string, content: Buffer, extra: Partial<LoadRequest> = {}): LoadRequest {
  const digest = sha(content);
  return {
    artifact: 'features', module: 'bot-management', version, sha256: digest, content,
    signature: signVersion(privateKey, 'features', version, digest),
    validation: { max_bytes: 1_000_000, max_entries: 200, json_schema: SCHEMA },
    onFailure: { on_load_failure: 'serve-stale' },
    ...extra,
  };
}
