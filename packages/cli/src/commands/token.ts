import { readFile } from 'node:fs/promises';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

/** `failsmall token create --name N --role agent|admin` (needs an admin token). */
export async function tokenCreate(opts: GlobalOpts & { name: string; role: string; existing?: string }, out: Out): Promise<number> {
  const existing = opts.existing ? (await readFile(opts.existing, 'utf8')).trim() : undefined;
  const res = await clientFrom(opts).post<{ name: string; role: string; token: string }>('/v1/tokens', { name: opts.name, role: opts.role, ...(existing ? { token: existing } : {}) });
  out.data({ ok: true, ...res });
  out.line(`${res.role} token ${res.name} (shown once; only its hash is stored):\n${res.token}`);
  return EXIT.OK;
}
