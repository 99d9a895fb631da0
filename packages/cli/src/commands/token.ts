import { readFile } from 'node:fs/promises';
import { parseDuration } from '@failsmall/core';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { renderTable } from '../table.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

interface TokenRecord {
  name: string; role: string; id: string; created_at: number; created_by: string | null;
  expires_at: number | null; revoked_at: number | null; revoked_by: string | null; uses_left: number | null;
}

/** `failsmall token create --name N --role ROLE [--expires 30d] [--uses N]` (needs an admin token). */
export async function tokenCreate(opts: GlobalOpts & { name: string; role: string; existing?: string; expires?: string; uses?: string }, out: Out): Promise<number> {
  const existing = opts.existing ? (await readFile(opts.existing, 'utf8')).trim() : undefined;
  let expires_in_s: number | undefined;
  if (opts.expires !== undefined) {
    const d = parseDuration(opts.expires);
    if (!d.ok) throw new CliError('BAD_DURATION', `--expires: ${d.message}`, EXIT.USAGE, 'a duration such as 12h, 30d or 90m');
    expires_in_s = Math.round(d.ms / 1000);
  }
  let uses: number | undefined;
  if (opts.uses !== undefined) {
    uses = Number(opts.uses);
    if (!Number.isInteger(uses) || uses < 1) throw new CliError('BAD_USES', `--uses ${opts.uses}: not a whole number of nodes`, EXIT.USAGE, 'how many nodes the join token may admit, e.g. --uses 50');
  }
  const res = await clientFrom(opts).post<{ name: string; role: string; token: string; expires_at: number | null; uses: number | null }>('/v1/tokens', {
    name: opts.name, role: opts.role, ...(existing ? { token: existing } : {}), ...(expires_in_s !== undefined ? { expires_in_s } : {}), ...(uses !== undefined ? { uses } : {}),
  });
  out.data({ ok: true, ...res });
  const limits = [res.expires_at !== null ? `expires ${new Date(res.expires_at).toISOString()}` : '', res.uses !== null ? `admits ${res.uses} node(s)` : ''].filter(Boolean).join(', ');
  // The token alone on stdout, what it is on stderr: `export FAILSMALL_AGENT_TOKEN=$(failsmall token create …)` takes just the token.
  if (!out.json) process.stderr.write(`${res.role} token ${res.name}${limits ? ` (${limits})` : ''}, shown once (only its hash is stored):\n`);
  out.line(res.token);
  return EXIT.OK;
}

/** `failsmall token list`: every token, live, expired or revoked, never the token itself. */
export async function tokenList(opts: GlobalOpts, out: Out): Promise<number> {
  const res = await clientFrom(opts).get<{ tokens: TokenRecord[] }>('/v1/tokens');
  out.data({ ok: true, ...res });
  if (out.json) return EXIT.OK;
  const now = Date.now();
  const state = (t: TokenRecord) => t.revoked_at !== null ? `revoked ${iso(t.revoked_at)} by ${t.revoked_by ?? '?'}`
    : t.expires_at !== null && t.expires_at <= now ? `expired ${iso(t.expires_at)}`
    : `live${t.expires_at !== null ? ` until ${iso(t.expires_at)}` : ''}${t.uses_left !== null ? `, ${t.uses_left} use(s) left` : ''}`;
  const rows = res.tokens.map((t) => [t.name, t.role, t.id, `${iso(t.created_at)} by ${t.created_by ?? '(first start)'}`, state(t)]);
  out.line(renderTable(['name', 'role', 'id', 'created', 'state'], rows));
  out.line(`${res.tokens.filter((t) => t.revoked_at === null && (t.expires_at === null || t.expires_at > now)).length} live of ${res.tokens.length}`);
  return EXIT.OK;
}

/** `failsmall token revoke NAME`: every live token of that name stops working at once. */
export async function tokenRevoke(name: string, opts: GlobalOpts, out: Out): Promise<number> {
  const res = await clientFrom(opts).post<{ revoked: number; name: string }>(`/v1/tokens/${encodeURIComponent(name)}/revoke`);
  out.data({ ok: true, ...res });
  out.line(`revoked ${res.revoked} token(s) named ${res.name}: they no longer work`);
  return EXIT.OK;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
