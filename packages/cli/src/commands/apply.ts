import { readFile } from 'node:fs/promises';
import { formatError, type Warning } from '@failsmall/core';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

interface ApplyResponse {
  changes: { kind: string; name: string; change: string; version: number }[];
  warnings: Warning[];
}

/** `failsmall apply FILE`: the server parses the file against what it already knows, and versions each change. */
export async function apply(file: string, opts: GlobalOpts & { dryRun?: boolean }, out: Out): Promise<number> {
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.INVALID, 'check the path');
  }
  const res = await clientFrom(opts).post<ApplyResponse>('/v1/apply', { text, file, ...(opts.dryRun ? { dry_run: true } : {}) });
  out.data({ ok: true, ...res });
  for (const w of res.warnings) out.line(formatError(w));
  for (const c of res.changes) out.line(`${c.kind} ${c.name}: ${c.change}${c.change === 'unchanged' ? '' : ` (version ${c.version})`}`);
  if (opts.dryRun) out.line('dry run: nothing changed');
  return EXIT.OK;
}
