import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parsePrivateKey, signVersion } from '@failsmall/core';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

interface PushResponse {
  version: { artifact: string; version: string; sha256: string; size: number; forced: boolean; signature: string | null };
  created: boolean;
  problems: { message: string }[];
  warnings: string[];
}

/** `failsmall artifact push NAME FILE [--version V] [--force]` */
export async function artifactPush(name: string, file: string, opts: GlobalOpts & { version?: string; force?: boolean; sign?: string }, out: Out): Promise<number> {
  let bytes: Buffer;
  try { bytes = await readFile(file); } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.INVALID, 'check the path');
  }
  const q = new URLSearchParams();
  if (opts.version) q.set('version', opts.version);
  if (opts.force) q.set('force', 'true');
  const headers: Record<string, string> = {};
  if (opts.sign) {
    if (!opts.version) throw new CliError('USAGE', '--sign needs --version: the signature covers the version label', EXIT.USAGE);
    let pem: string;
    try { pem = await readFile(opts.sign, 'utf8'); } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read ${opts.sign}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.INVALID, 'failsmall keys init writes one');
    }
    const key = parsePrivateKey(pem);
    if (!key.ok) throw new CliError('BAD_KEY', `${opts.sign}: ${key.message}`, EXIT.INVALID);
    headers['x-failsmall-signature'] = signVersion(key.key, name, opts.version, createHash('sha256').update(bytes).digest('hex'));
  }
  const res = await clientFrom(opts).postBytes<PushResponse>(`/v1/artifacts/${encodeURIComponent(name)}/versions?${q}`, bytes, headers);
  out.data({ ok: true, ...res });
  const v = res.version;
  out.line(`${v.artifact}@${v.version}: ${res.created ? 'pushed' : 'already there (same sha256)'} — ${v.size} bytes, sha256 ${v.sha256}${v.forced ? ' (FORCED past its limits)' : ''}`);
  for (const p of res.problems) out.line(`  warning: ${p.message}`);
  for (const w of res.warnings ?? []) out.line(`  warning: ${w}`);
  out.line(`  signature: ${v.signature ? 'ed25519, verified by agents before apply' : 'NONE'}`);
  return EXIT.OK;
}

/** `failsmall artifact list` */
export async function artifactList(opts: GlobalOpts, out: Out): Promise<number> {
  const res = await clientFrom(opts).get<{ artifacts: { name: string; kind: string; module: string; current_version: string | null }[] }>('/v1/artifacts');
  out.data({ ok: true, ...res });
  for (const a of res.artifacts) out.line(`${a.name}  ${a.kind}  module=${a.module}  current=${a.current_version ?? '(none)'}`);
  return EXIT.OK;
}
