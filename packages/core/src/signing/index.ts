import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Artifact signatures: ed25519 over a message that binds the artifact's name, the version
 * label and the content's sha256, so a signed version cannot be replayed under another
 * name or label. node:crypto only: no extra dependency, and no IO here (keys are PEM text).
 */
export function signingMessage(artifact: string, version: string, sha256: string): Buffer {
  return Buffer.from(`failsmall-artifact-v1\n${artifact}\n${version}\n${sha256}`, 'utf8');
}

export interface KeyPairPem {
  readonly privateKey: string;
  readonly publicKey: string;
}

export function generateSigningKeys(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export type KeyParse = { ok: true; key: KeyObject } | { ok: false; message: string };

/** Reads a PEM key and checks that it is ed25519: a wrong key type is a setup error worth naming. */
export function parsePrivateKey(pem: string): KeyParse {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? { ok: true, key } : { ok: false, message: `expected an ed25519 private key, got ${key.asymmetricKeyType ?? 'unknown'}` };
  } catch (err) {
    return { ok: false, message: `not a PEM private key: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export function parsePublicKey(pem: string): KeyParse {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? { ok: true, key } : { ok: false, message: `expected an ed25519 public key, got ${key.asymmetricKeyType ?? 'unknown'}` };
  } catch (err) {
    return { ok: false, message: `not a PEM public key: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The keys an agent trusts: one, or several during a rotation (the public key file may hold
 * several PEM blocks, old and new: versions signed by either verify until the old one is dropped).
 */
export type TrustedKeys = KeyObject | readonly KeyObject[];

/** Most keys one file may hold: a rotation needs two; more is a mistake worth naming. */
export const MAX_TRUSTED_KEYS = 8;

/** Reads every PEM public key in `pem` (one or more blocks); each must be ed25519. */
export function parsePublicKeys(pem: string): { ok: true; keys: KeyObject[] } | { ok: false; message: string } {
  const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) {
    const one = parsePublicKey(pem);
    return one.ok ? { ok: true, keys: [one.key] } : one;
  }
  if (blocks.length > MAX_TRUSTED_KEYS) return { ok: false, message: `${blocks.length} public keys in one file; at most ${MAX_TRUSTED_KEYS} (a rotation needs two)` };
  const keys: KeyObject[] = [];
  for (const [i, b] of blocks.entries()) {
    const k = parsePublicKey(b);
    if (!k.ok) return { ok: false, message: `key ${i + 1} of ${blocks.length}: ${k.message}` };
    keys.push(k.key);
  }
  return { ok: true, keys };
}

function anyVerifies(keys: TrustedKeys, message: Buffer, signature: Buffer): boolean {
  return verifyingKey(keys, message, signature) !== undefined;
}

function verifyingKey(keys: TrustedKeys, message: Buffer, signature: Buffer): KeyObject | undefined {
  return (Array.isArray(keys) ? keys : [keys as KeyObject]).find((k) => verify(null, message, k, signature));
}

/**
 * A key's short name, the same for its private and public halves: `sha256:` and the first 16 hex
 * digits of the SHA-256 of its public key (SPKI DER). Shown where a version's signer is, and by
 * `failsmall keys init`, so people can tell which of two keys (a rotation) signed what.
 *
 * Examples
 *   keyFingerprint(parsePrivateKey(pem).key) // 'sha256:3f1c9a0e5b7d2c44'
 */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return `sha256:${createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)}`;
}

/** Which of the trusted keys signed this version (for a rotation's two keys), or undefined when none did. */
export function versionSigningKey(publicKey: TrustedKeys, artifact: string, version: string, sha256: string, signature: string): KeyObject | undefined {
  const raw = Buffer.from(signature, 'base64');
  return raw.length === 64 ? verifyingKey(publicKey, signingMessage(artifact, version, sha256), raw) : undefined;
}

/** The public half of a private key, as PEM. */
export function publicKeyOf(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

/** base64 signature of one version. */
export function signVersion(privateKey: KeyObject, artifact: string, version: string, sha256: string): string {
  return sign(null, signingMessage(artifact, version, sha256), privateKey).toString('base64');
}

export function verifyVersion(publicKey: TrustedKeys, artifact: string, version: string, sha256: string, signature: string | null | undefined): { ok: true } | { ok: false; message: string } {
  if (!signature) return { ok: false, message: 'missing signature' };
  let raw: Buffer;
  try {
    raw = Buffer.from(signature, 'base64');
  } catch {
    return { ok: false, message: 'signature is not base64' };
  }
  if (raw.length !== 64) return { ok: false, message: 'bad signature (not 64 bytes of ed25519)' };
  return anyVerifies(publicKey, signingMessage(artifact, version, sha256), raw)
    ? { ok: true }
    : { ok: false, message: `bad signature for ${artifact}@${version} (sha256 ${sha256.slice(0, 12)}…): not signed by the trusted artifact key` };
}

/**
 * A module's safe default is bytes the agent writes into the module, like a version, so it is
 * signed like one: over a message that binds the module's name and the content's sha256, under
 * its own domain so that a version's signature can never pass for a safe default's.
 */
export function safeDefaultMessage(module: string, content: string): Buffer {
  const sha256 = createHash('sha256').update(content, 'utf8').digest('hex');
  return Buffer.from(`failsmall-safe-default-v1\n${module}\n${sha256}`, 'utf8');
}

export function signSafeDefault(privateKey: KeyObject, module: string, content: string): string {
  return sign(null, safeDefaultMessage(module, content), privateKey).toString('base64');
}

export function verifySafeDefault(publicKey: TrustedKeys, module: string, content: string, signature: string | null | undefined): { ok: true } | { ok: false; message: string } {
  if (!signature) return { ok: false, message: `the safe default of ${module} is unsigned` };
  const raw = Buffer.from(signature, 'base64');
  if (raw.length !== 64) return { ok: false, message: `the safe default of ${module} has a bad signature (not 64 bytes of ed25519)` };
  return anyVerifies(publicKey, safeDefaultMessage(module, content), raw)
    ? { ok: true }
    : { ok: false, message: `the safe default of ${module} is not signed by the trusted artifact key (edited in the store or in transit, or signed for another module)` };
}
