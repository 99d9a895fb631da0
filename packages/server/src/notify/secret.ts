/**
 * The webhook secret in its two spellings. Standard Webhooks secrets are `whsec_<base64 key>`;
 * failsmall has always taken any string of 16+ characters. Both keep working: a `whsec_`
 * secret's key is its decoded bytes, any other secret's key is its UTF-8 bytes, and
 * `standardSecret` gives the `whsec_` form of either for the receiver's library.
 */
const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Why a `whsec_` secret cannot be used, or undefined when it can (or is not one). */
export function standardSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith(PREFIX)) return undefined;
  const b64 = secret.slice(PREFIX.length);
  if (!BASE64.test(b64) || b64.length % 4 !== 0) return 'the secret starts with whsec_ but what follows is not base64';
  return undefined;
}

/** The HMAC key bytes of the Standard Webhooks signature. */
export function standardKey(secret: string): Uint8Array {
  return secret.startsWith(PREFIX) ? Buffer.from(secret.slice(PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

/**
 * The `whsec_` form of a secret, to give a receiver's Standard Webhooks library.
 *
 * Examples
 * ```ts
 * standardSecret('test-secret-0123456789abcdef'); // 'whsec_dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg=='
 * ```
 */
export function standardSecret(secret: string): string {
  return secret.startsWith(PREFIX) ? secret : `${PREFIX}${Buffer.from(secret, 'utf8').toString('base64')}`;
}

/** How long the key is, in bytes (what a guess must cover), for the length check. */
export function keyBytes(secret: string): number {
  return standardKey(secret).length;
}
