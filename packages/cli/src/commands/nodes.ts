import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import { pollUntil, waitMs } from './wait.ts';
import type { Out } from '../output.ts';
import { renderTable } from '../table.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

interface NodeRow {
  id: string;
  labels: Record<string, string>;
  modules: string[];
  seconds_since_seen: number;
  loads: { artifact: string; version: string | null; ok: boolean; serving: string | null; error: string | null; module_state?: string | null }[];
  pins?: { artifact: string; action: string; version: string | null; operator: string; reason: string; since: string }[];
  /** The node enrolled a credential of its own (the fleet token no longer speaks for it). */
  credential?: boolean;
  /** Modules the node sends no request metrics for (its scrape of the application fails), and why. */
  signal_problems?: { module: string; source: string; reason: string; message: string; since: number }[];
  /** `pending`: registered with the fleet token alone; counts in no rollout until approved. */
  enrolment?: 'approved' | 'pending';
}

/** `NO METRICS web-proxy (scrape not_prometheus: …)`: why a gate on the module lacks this node's data. */
function signalText(n: NodeRow, sep: string): string {
  return (n.signal_problems ?? []).map((p) => `NO METRICS ${p.module} (${p.source} ${p.reason}: ${p.message.slice(0, 100)})`).join(sep);
}

/** `PINNED bot-features@v1 (lkg by alice: bad file)`: a pin must stand out in any listing. */
function pinText(n: NodeRow, sep: string): string {
  return (n.pins ?? []).map((p) => `PINNED ${p.artifact}@${p.version ?? 'safe-default'} (${p.action} by ${p.operator}: ${p.reason.slice(0, 60)})`).join(sep);
}

/** A node that counts in a rollout now: admitted, and heard from within the last 30 s. */
const live = (n: NodeRow) => n.enrolment !== 'pending' && n.seconds_since_seen <= 30;

/**
 * `failsmall nodes [--wait-for N [--timeout 60s]]`: every registered node, what it serves, and how
 * fresh its report is. --wait-for waits until N nodes are live, for scripts that have just
 * started agents in the background (the README's tour), and exits 1 naming them if they are not.
 */
export async function nodes(opts: GlobalOpts & { waitFor?: string; timeout?: string }, out: Out): Promise<number> {
  const client = clientFrom(opts);
  const want = opts.waitFor === undefined ? 0 : Number(opts.waitFor);
  if (!Number.isInteger(want) || want < 0) throw new CliError('USAGE', `--wait-for ${opts.waitFor}: not a whole number of nodes`, EXIT.USAGE, 'e.g. --wait-for 3');
  let last: NodeRow[] = [];
  const res = await pollUntil(want === 0 ? 0 : waitMs('--timeout', opts.timeout, 60_000), async () => {
    const got = await client.get<{ nodes: NodeRow[] }>('/v1/nodes');
    last = got.nodes;
    return got.nodes.filter(live).length >= want ? got : undefined;
  }, () => new CliError('TOO_FEW_NODES', `${last.filter(live).length} of the ${want} nodes waited for are live${last.length > 0 ? ` (registered: ${last.map((n) => `${n.id}${live(n) ? '' : n.enrolment === 'pending' ? ' pending' : ` seen ${n.seconds_since_seen}s ago`}`).join(', ')})` : ' (none registered)'}`,
    EXIT.INVALID, 'check each agent\'s log: a refused token, a wrong --server, or a node pending approval (failsmall nodes approve ID)'), 500);
  out.data({ ok: true, ...res });
  if (out.json) return EXIT.OK;
  out.line(renderTable(['node', 'labels', 'serving', 'last load', 'break-glass', 'signals', 'seen'], res.nodes.map((n) => [
    n.enrolment === 'pending' ? `${n.id} (PENDING)` : n.id,
    Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
    n.loads.map((l) => `${l.artifact}@${l.serving ?? '-'}${l.module_state && l.module_state !== 'serving' ? ` (${l.module_state})` : ''}`).join('\n') || '-',
    n.loads.map((l) => (l.ok ? `ok ${l.version ?? '-'}` : `FAILED ${l.version ?? '-'}: ${(l.error ?? '').slice(0, 60)}`)).join('\n') || '-',
    pinText(n, '\n') || '-',
    signalText(n, '\n') || '-',
    `${n.seconds_since_seen}s ago`,
  ])));
  const pinned = res.nodes.filter((n) => (n.pins ?? []).length > 0).length;
  const shared = res.nodes.filter((n) => n.credential === false).length;
  const pending = res.nodes.filter((n) => n.enrolment === 'pending').length;
  out.line(`${res.nodes.length} nodes${pinned > 0 ? `, ${pinned} pinned by break-glass (rollouts leave them alone until failsmall breakglass unpin)` : ''}`
    + `${shared > 0 ? `, ${shared} without a credential of their own (the fleet token speaks for them)` : ''}`
    + `${pending > 0 ? `, ${pending} pending approval (they count in no rollout: failsmall nodes approve ID)` : ''}`);
  return EXIT.OK;
}

/** `failsmall nodes release ID`: forget the node's credential, so a rebuilt node can enrol again. */
export async function nodesRelease(id: string, opts: GlobalOpts, out: Out): Promise<number> {
  await clientFrom(opts).delete(`/v1/nodes/${encodeURIComponent(id)}/credential`);
  out.data({ ok: true, released: id });
  out.line(`released ${id}: its old credential no longer works; its next registration with the fleet token enrols a new one`);
  return EXIT.OK;
}

/** `failsmall nodes approve ID…`: admit nodes the fleet token registered, so they count in rollouts. */
export async function nodesApprove(ids: string[], opts: GlobalOpts, out: Out): Promise<number> {
  const client = clientFrom(opts);
  const results: { node: string; changed: boolean }[] = [];
  for (const id of ids) results.push(await client.post<{ node: string; changed: boolean }>(`/v1/nodes/${encodeURIComponent(id)}/approve`));
  out.data({ ok: true, approved: results });
  for (const r of results) out.line(r.changed ? `approved ${r.node}: it now counts in cohorts, baselines and gates` : `${r.node} was already approved`);
  return EXIT.OK;
}
