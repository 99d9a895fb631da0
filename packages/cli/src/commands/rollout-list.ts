import { ago } from '@failsmall/core';
import type { RolloutState, RolloutStatus } from '@failsmall/core';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { renderTable } from '../table.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

/** What `--state` takes (commander checks the choices, main.ts): a status, or `active` (running, paused or rolling back). */
export type ListState = RolloutStatus | 'active';

/** The API's largest page. */
const MAX_LIMIT = 1000;

export interface ListOptions extends GlobalOpts {
  artifact?: string;
  state?: ListState;
  limit?: string;
}

/**
 * `failsmall rollout list [--artifact A] [--state S] [--limit N]`: active and recent rollouts,
 * newest first, with their state, stage and age.
 */
export async function rolloutList(opts: ListOptions, out: Out): Promise<number> {
  const limit = Number(opts.limit ?? '20');
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new CliError('BAD_LIMIT', `--limit ${opts.limit}: not a whole number from 1 to ${MAX_LIMIT}`, EXIT.USAGE);
  const q = new URLSearchParams();
  if (opts.artifact) q.set('artifact', opts.artifact);
  if (opts.state === 'active') q.set('active', 'true');
  else if (opts.state !== undefined) q.set('status', opts.state);
  q.set('limit', String(limit));
  const { rollouts } = await clientFrom(opts).get<{ rollouts: RolloutState[] }>(`/v1/rollouts?${q}`);
  out.data({ ok: true, rollouts });
  if (rollouts.length === 0) {
    out.line(`no rollouts${opts.state ? ` ${opts.state.replace('_', ' ')}` : ''}${opts.artifact ? ` of ${opts.artifact}` : ''}`);
    return EXIT.OK;
  }
  const now = Date.now();
  out.line(renderTable(['rollout', 'artifact', 'versions', 'state', 'stage', 'started', 'updated', 'by'], rollouts.map((r) => [
    r.id, r.artifact, `${r.from_version ?? '(none)'} → ${r.to_version}`, stateText(r),
    `${r.policy_spec.stages[r.stage_index]?.name ?? '?'} ${r.stage_index + 1}/${r.policy_spec.stages.length}`,
    `${ago(now - r.created_at)} ago`, `${ago(now - r.updated_at)} ago`, r.created_by,
  ])));
  return EXIT.OK;
}

/** `running (baking)`, `rolled back`: a running rollout says where in its stage it is. */
function stateText(r: RolloutState): string {
  return r.status === 'running' ? `running (${r.phase.replace('_', ' ')})` : r.status.replace('_', ' ');
}
