import { parseDuration } from '@failsmall/core';
import { CliError, type ApiClient } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import { narrate, type EventRecord } from '@failsmall/core';
import type { Out } from '../output.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

export interface EventsOptions extends GlobalOpts {
  rollout?: string;
  type?: string;
  since?: string;
  limit?: string;
  follow?: boolean;
}

/** How long one --follow long-poll waits on the server before asking again. */
const FOLLOW_WAIT_MS = 10_000;

/**
 * `failsmall events [--rollout ID] [--type PREFIX] [--since 1h] [--limit N] [--follow]`: the
 * event log, newest last, one event a line (`--json`: one JSON event a line). With --follow it
 * keeps printing new events as they are written, from a cursor, until interrupted.
 */
export async function events(opts: EventsOptions, out: Out): Promise<number> {
  const limit = Number(opts.limit ?? '50');
  if (!Number.isInteger(limit) || limit < 1 || limit > 5000) throw new CliError('BAD_LIMIT', `--limit ${opts.limit}: not a whole number from 1 to 5000`, EXIT.USAGE);
  const filter = new URLSearchParams();
  if (opts.rollout) filter.set('rollout', opts.rollout);
  if (opts.type) filter.set('type', opts.type);
  if (opts.since !== undefined) {
    const d = parseDuration(opts.since);
    if (!d.ok) throw new CliError('BAD_DURATION', `--since ${opts.since}: ${d.message}`, EXIT.USAGE, 'how far back, e.g. --since 30m or --since 2h');
    filter.set('since', String(Math.max(0, Date.now() - d.ms)));
  }
  const client = clientFrom(opts);
  const print = (e: EventRecord) => process.stdout.write(`${out.json ? JSON.stringify(e) : eventLine(e)}\n`);
  const first = await page(client, filter, { newest: 'true', limit: String(limit) });
  first.forEach(print);
  if (!opts.follow) {
    if (first.length === 0 && !out.json) process.stderr.write('no events match\n');
    return EXIT.OK;
  }
  let after = first.at(-1)?.seq ?? (await page(client, new URLSearchParams(), { newest: 'true', limit: '1' })).at(-1)?.seq ?? 0;
  for (;;) {
    const next = await page(client, filter, { after: String(after), wait: String(FOLLOW_WAIT_MS), limit: '1000' });
    for (const e of next) { print(e); after = Math.max(after, e.seq); }
  }
}

async function page(client: ApiClient, filter: URLSearchParams, more: Record<string, string>): Promise<EventRecord[]> {
  const q = new URLSearchParams(filter);
  for (const [k, v] of Object.entries(more)) q.set(k, v);
  return (await client.get<{ events: EventRecord[] }>(`/v1/events?${q}`)).events;
}

/**
 * `2026-12-06T04:16:40Z  #812  rollout.paused  r-0a1b2c3d4e  PAUSED at stage canary: pause by alice: …`:
 * the narrated sentence when there is one (rollout events), else the payload's own words.
 */
export function eventLine(e: EventRecord): string {
  const said = narrate(e).map((l) => l.trim()).join(' | ');
  return `${new Date(e.at).toISOString().replace(/\.\d{3}Z$/, 'Z')}  #${e.seq}  ${e.type}  ${e.rollout_id ?? '-'}  ${said || payloadText(e.payload)}`;
}

/** `actor=alice reason="…" node=n1`: the payload's short scalar fields, one line, at most 200 characters. */
function payloadText(p: Record<string, unknown>): string {
  const text = Object.entries(p)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
