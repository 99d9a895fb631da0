import { TERMINAL_STATUSES, type RolloutState } from '@failsmall/core';
import { CliError, type ApiClient } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { clientFrom } from './common.ts';
import { rolloutStart, type StartOptions } from './rollout.ts';

/** What retry and undo take: a start's options, less the version and policy they work out themselves. */
export type AgainOptions = Omit<StartOptions, 'policy' | 'overrideDependencyGate'>;

/** A rollout id as the server makes them (routes/rollouts.ts): `r-` and ten hex digits. */
const ROLLOUT_ID = /^r-[0-9a-f]{10}$/;

/**
 * `failsmall rollout retry ID [--reason R] [--watch]`: starts the same artifact, version and
 * policy again after a rollback or an abort (a flaky gate, a fixed node). The new rollout's
 * rollout.started says which one it retries. A completed or still active rollout has nothing
 * to retry, and is refused.
 */
export async function rolloutRetry(id: string, opts: AgainOptions, out: Out): Promise<number> {
  const r = await getRollout(clientFrom(opts), id);
  if (r.status === 'completed') {
    throw new CliError('NOT_RETRYABLE', `rollout ${r.id} completed: ${r.artifact} runs ${r.to_version} already; there is nothing to retry`, EXIT.INVALID, `to go back to ${r.from_version ?? 'the version before'}: failsmall rollout undo ${r.id}`);
  }
  if (!TERMINAL_STATUSES.includes(r.status)) {
    throw new CliError('NOT_RETRYABLE', `rollout ${r.id} is still ${r.status.replace('_', ' ')}: only a rolled-back or aborted rollout can be retried`, EXIT.INVALID, `follow it with failsmall rollout watch ${r.id}, or end it with failsmall rollout abort ${r.id}`);
  }
  return rolloutStart(r.artifact, r.to_version, { ...opts, policy: r.policy, reason: because(`retry of ${r.id} (${r.status.replace('_', ' ')})`, opts.reason) }, out);
}

/**
 * `failsmall rollout undo ARTIFACT|ID [--reason R] [--watch]`: starts a rollout back to the
 * version the artifact ran before its last completed rollout (or before rollout ID), under
 * that rollout's policy: going back is staged and gated like going forward. Refused when the
 * artifact has moved on since, or when there is no earlier version.
 */
export async function rolloutUndo(target: string, opts: AgainOptions, out: Out): Promise<number> {
  const client = clientFrom(opts);
  const r = ROLLOUT_ID.test(target) ? await getRollout(client, target) : await lastCompleted(client, target);
  if (r.status !== 'completed') {
    throw new CliError('NOT_UNDOABLE', `rollout ${r.id} ${r.status.replace('_', ' ')}${TERMINAL_STATUSES.includes(r.status) ? `: its nodes went back to ${r.from_version ?? 'none'} already` : ''}; only a completed rollout can be undone`, EXIT.INVALID,
      TERMINAL_STATUSES.includes(r.status) ? `failsmall rollout list --artifact ${r.artifact} --state completed` : `to stop it: failsmall rollout abort ${r.id}`);
  }
  if (r.from_version === null) {
    throw new CliError('NOTHING_TO_UNDO', `rollout ${r.id} brought ${r.artifact} its first version (${r.to_version}): there is no earlier version to go back to`, EXIT.INVALID);
  }
  const { artifact } = await client.get<{ artifact: { current_version: string | null } }>(`/v1/artifacts/${encodeURIComponent(r.artifact)}`);
  if (artifact.current_version !== r.to_version) {
    throw new CliError('UNDO_STALE', `${r.artifact} moved on since rollout ${r.id}: it runs ${artifact.current_version ?? 'nothing'}, not ${r.to_version}`, EXIT.INVALID, `undo the latest instead: failsmall rollout undo ${r.artifact}`);
  }
  return rolloutStart(r.artifact, r.from_version, { ...opts, policy: r.policy, reason: because(`undo of ${r.id} (${r.to_version} → ${r.from_version})`, opts.reason) }, out);
}

async function getRollout(client: ApiClient, id: string): Promise<RolloutState> {
  return (await client.get<{ rollout: RolloutState }>(`/v1/rollouts/${encodeURIComponent(id)}`)).rollout;
}

/** The artifact's newest completed rollout: the one that put its current version there. */
async function lastCompleted(client: ApiClient, artifact: string): Promise<RolloutState> {
  // Asked first so an unknown name is NOT_FOUND, not "nothing to undo".
  await client.get(`/v1/artifacts/${encodeURIComponent(artifact)}`);
  const { rollouts } = await client.get<{ rollouts: RolloutState[] }>(`/v1/rollouts?artifact=${encodeURIComponent(artifact)}&limit=1000`);
  const last = rollouts.find((r) => r.status === 'completed');
  if (!last) throw new CliError('NOTHING_TO_UNDO', `${artifact} has no completed rollout to undo`, EXIT.INVALID, `failsmall rollout list --artifact ${artifact}`);
  return last;
}

/** `retry of r-… (rolled back): flaky canary node replaced`: where it comes from, then the caller's why. */
function because(origin: string, reason: string | undefined): string {
  return reason?.trim() ? `${origin}: ${reason.trim()}` : origin;
}
