import { chmod, mkdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKeys, keyFingerprint, parsePublicKey } from '@failsmall/core';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';

export const DEFAULT_KEY_DIR = '.failsmall/keys';

/**
 * `failsmall keys init [--dir DIR] [--name artifact]`: an ed25519 key pair, outside the
 * database. The private half (mode 0600) goes to the control plane (serve --signing-key) or
 * to whoever signs pushes; the public half goes to every agent (--public-key).
 */
export async function keysInit(opts: { dir?: string; name?: string; force?: boolean }, out: Out): Promise<number> {
  const dir = opts.dir ?? DEFAULT_KEY_DIR;
  const name = opts.name ?? 'artifact';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new CliError('BAD_NAME', `bad key name "${name}"`, EXIT.USAGE, 'use letters, digits, . _ -');
  const privatePath = join(dir, `${name}.key`);
  const publicPath = join(dir, `${name}.pub`);
  if (!opts.force && (await exists(privatePath))) {
    throw new CliError('KEY_EXISTS', `${privatePath} already exists; a new key would make every agent refuse what the old one signed`, EXIT.INVALID, 'pass --force to replace it, after you plan to roll the new public key out to agents');
  }
  const keys = generateSigningKeys();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(privatePath, keys.privateKey, { mode: 0o600 });
  await chmod(privatePath, 0o600);
  await writeFile(publicPath, keys.publicKey, { mode: 0o644 });
  const parsed = parsePublicKey(keys.publicKey);
  // The name the dashboard and `artifact versions` show as a version's signer.
  const fingerprint = parsed.ok ? keyFingerprint(parsed.key) : null;
  out.data({ ok: true, private_key: privatePath, public_key: publicPath, fingerprint });
  if (name === 'breakglass') {
    // The break-glass key must not share fate with the control plane: it lives with the people who use it.
    out.line(`wrote ${privatePath} (private, 0600: for incident commanders' machines and offline storage; never give it to the control plane or its database)`);
    out.line(`wrote ${publicPath} (public: give it to every agent, failsmall agent --breakglass-public-key)`);
  } else {
    out.line(`wrote ${privatePath} (private, 0600: give it to failsmall serve --signing-key, keep it out of the database and out of git)`);
    out.line(`wrote ${publicPath} (public: give it to every agent, failsmall agent --public-key)`);
  }
  if (fingerprint) out.line(`fingerprint ${fingerprint} (how failsmall names this key wherever it shows a signer)`);
  return EXIT.OK;
}

async function exists(path: string): Promise<boolean> {
  try { await access(path); return true; } catch { return false; }
}
