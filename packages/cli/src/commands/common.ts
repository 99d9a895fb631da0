import { access, readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { parsePrivateKey } from '@failsmall/core';
import { ApiClient, CliError } from '../client.ts';
import { resolveToken } from '../token-source.ts';

export interface GlobalOpts {
  server?: string;
  token?: string;
  json?: boolean;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

/** A client for the control plane the options or FAILSMALL_SERVER name; `anonymous` for the public routes, without reading a token. */
export function clientFrom(o: GlobalOpts, how: { anonymous?: boolean } = {}): ApiClient {
  return new ApiClient({ server: o.server ?? process.env.FAILSMALL_SERVER ?? DEFAULT_SERVER, token: how.anonymous ? undefined : resolveToken(o.token) });
}

/** `k=v,k2=v2` → record; used by --labels. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const t = part.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`bad label "${t}": use key=value`);
    out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

/** `path` when the file exists (a default key location, say), else undefined. */
export async function defaultIfExists(path: string): Promise<string | undefined> {
  try { await access(path); return path; } catch { return undefined; }
}

/** Reads an ed25519 private key (PEM); an unreadable file or a wrong key is a CliError with `exitCode`. */
export async function readPrivateKey(path: string, o: { exitCode: number; unreadable: string; hint: string }): Promise<KeyObject> {
  let pem: string;
  try { pem = await readFile(path, 'utf8'); } catch (err) {
    throw new CliError('FILE_UNREADABLE', `${o.unreadable} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, o.exitCode, o.hint);
  }
  const key = parsePrivateKey(pem);
  if (!key.ok) throw new CliError('BAD_KEY', `${path}: ${key.message}`, o.exitCode);
  return key.key;
}
