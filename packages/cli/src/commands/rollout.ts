import { parseDuration, type DependencyFinding, type GateApproval, type RolloutState } from '@failsmall/core';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import { watch, type StatusResponse } from '../live/watch.ts';
import { gateLine, gateOverrideLine, summarizeRollout, type GateOverride } from '@failsmall/core';
import type { Out } from '../output.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

export interface StartOptions extends GlobalOpts {
  policy?: string;
  /** Why: kept in the rollout.started event. */
  reason?: string;
  watch?: boolean;
  overrideDependencyGate?: boolean;
  touchesDependency?: string[];
  touchesService?: string[];
  touchesRegion?: string[];
}

/** Refusals that carry the gate's findings: printed one finding a line. */
const GATE_REFUSALS = new Set(['DEPENDENCY_GATE', 'NO_APPROVAL', 'SELF_APPROVAL']);

/** `failsmall rollout start ARTIFACT VERSION [--policy P] [--reason R] [--watch] [--override-dependency-gate]` */
export async function rolloutStart(artifact: string, version: string, opts: StartOptions, out: Out): Promise<number> {
  const client = clientFrom(opts);
  const override = opts.overrideDependencyGate === true;
  let res: { rollout: RolloutState; dependency_gate?: { findings: DependencyFinding[]; overridden: GateOverride | null }; warnings?: { code: string; message: string; hint: string }[] };
  try {
    const touches = {
      ...(opts.touchesDependency?.length ? { dependencies: opts.touchesDependency } : {}),
      ...(opts.touchesService?.length ? { services: opts.touchesService } : {}),
      ...(opts.touchesRegion?.length ? { regions: opts.touchesRegion } : {}),
    };
    res = await client.post('/v1/rollouts', { artifact, version, ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.reason?.trim() ? { reason: opts.reason.trim() } : {}), ...(override ? { override_dependency_gate: true } : {}), ...(Object.keys(touches).length > 0 ? { touches } : {}) });
  } catch (err) {
    if (err instanceof CliError && GATE_REFUSALS.has(err.code)) return gateRefused(err, out);
    throw err;
  }
  const overridden = res.dependency_gate?.overridden ?? null;
  if (override && !overridden) out.line('note: the dependency gate found nothing, so no approval was needed or used');
  for (const w of res.warnings ?? []) process.stderr.write(`warning: ${w.message} [${w.code}]\n  hint: ${w.hint}\n`);
  if (opts.watch) return watch(client, res.rollout.id, out);
  out.data({ ok: true, rollout: res.rollout, dependency_gate: res.dependency_gate, warnings: res.warnings ?? [] });
  out.line(`started ${summarizeRollout(res.rollout)}`);
  if (overridden) out.line(gateOverrideLine(overridden));
  out.line(`follow it with: failsmall rollout watch ${res.rollout.id}`);
  return EXIT.OK;
}

interface ApproveOptions extends GlobalOpts {
  reason?: string;
  expires?: string;
}

/**
 * `failsmall rollout approve ARTIFACT VERSION --reason TEXT [--expires 24h]`: the second pair of
 * eyes. The approval carries the name of the caller's own token, covers the findings the gate
 * has now, and lets one rollout through.
 */
export async function rolloutApprove(artifact: string, version: string, opts: ApproveOptions, out: Out): Promise<number> {
  const reason = opts.reason?.trim();
  if (!reason) throw new CliError('USAGE', '--reason is required: why the new dependency is acceptable', EXIT.USAGE, 'it goes to the event log and the rollout that uses the approval');
  const ttl = parseDuration(opts.expires ?? '24h');
  if (!ttl.ok) throw new CliError('USAGE', `--expires: ${ttl.message}`, EXIT.USAGE, 'e.g. --expires 4h (at most 7d)');
  const client = clientFrom(opts);
  const res = await client.post<{ approval: GateApproval }>('/v1/approvals', { artifact, version, reason, expires_in_s: Math.round(ttl.ms / 1000) });
  const a = res.approval;
  out.data({ ok: true, approval: a });
  out.line(`approved ${a.artifact} ${a.from_version ?? '(none)'} → ${a.version} past the dependency gate as ${a.approver} (${a.id}), until ${new Date(a.expires_at).toISOString()}:`);
  for (const f of a.findings) out.line(`  ${f.dependency} (${f.kind}): ${f.reason}`);
  out.line(`someone other than ${a.approver} can now start it once: failsmall rollout start ${a.artifact} ${a.version} --override-dependency-gate`);
  return EXIT.OK;
}

/** `failsmall rollout approvals [--artifact A]`: approvals on record, used or not. */
export async function rolloutApprovals(opts: GlobalOpts & { artifact?: string }, out: Out): Promise<number> {
  const client = clientFrom(opts);
  const res = await client.get<{ approvals: GateApproval[] }>(`/v1/approvals${opts.artifact ? `?artifact=${encodeURIComponent(opts.artifact)}` : ''}`);
  out.data({ ok: true, approvals: res.approvals });
  if (res.approvals.length === 0) out.line('no dependency-gate approvals on record');
  for (const a of res.approvals) {
    const state = a.used_by ? `used by ${a.used_by}` : a.expires_at <= Date.now() ? 'expired' : `unused, until ${new Date(a.expires_at).toISOString()}`;
    out.line(`${a.id}  ${a.artifact} ${a.from_version ?? '(none)'} → ${a.version}  by ${a.approver}  ${state}  "${a.reason}"  (${a.findings.map((f) => f.dependency).join(', ')})`);
  }
  return EXIT.OK;
}

/** The refusal, one finding a line; with --json, the findings too. Exit 1, as for any refused request. */
function gateRefused(err: CliError, out: Out): number {
  const details = err.details as { findings?: DependencyFinding[] } | undefined;
  const findings = details?.findings ?? [];
  if (out.json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: err.code, message: err.message, hint: err.hint, findings } }, null, 2)}\n`);
    return err.exitCode;
  }
  // DEPENDENCY_GATE's message repeats every finding after the first colon; the findings get their own lines below.
  const head = err.code === 'DEPENDENCY_GATE' ? err.message.split(': ')[0] ?? err.message : err.message;
  process.stderr.write(`error: ${head} [${err.code}]\n`);
  for (const f of findings) process.stderr.write(`  ${f.dependency} (${f.kind}): ${f.reason}\n`);
  if (findings.length === 0) process.stderr.write(`  ${err.message}\n`);
  if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
  return err.exitCode;
}

/** `failsmall rollout status [ID]`: one rollout in full (with its last verdicts), or the recent ones. */
export async function rolloutStatus(id: string | undefined, opts: GlobalOpts, out: Out): Promise<number> {
  const client = clientFrom(opts);
  if (!id) {
    const res = await client.get<{ rollouts: RolloutState[] }>('/v1/rollouts?limit=20');
    out.data({ ok: true, rollouts: res.rollouts });
    if (res.rollouts.length === 0) out.line('no rollouts yet');
    for (const r of res.rollouts) out.line(summarizeRollout(r));
    return EXIT.OK;
  }
  const res = await client.get<StatusResponse>(`/v1/rollouts/${encodeURIComponent(id)}`);
  out.data({ ok: true, ...res });
  printStatus(res, out);
  return EXIT.OK;
}

function printStatus(res: StatusResponse, out: Out): void {
  const r = res.rollout;
  out.line(summarizeRollout(r));
  out.line(`  cohort: ${res.cohort.nodes} nodes, ${res.cohort.reported} reported the load of ${r.to_version}, ${res.cohort.failed_loads} failed`);
  const overridden = res.dependency_gate?.overridden;
  if (overridden) out.line(gateOverrideLine(overridden));
  if (r.pause_reason) out.line(`  paused: ${r.pause_reason}`);
  for (const v of r.last_verdicts) out.line(`  ${v.status.padEnd(12)} ${gateLine(v)}`);
  if (r.outcome) out.line(`  outcome: ${r.outcome.reason}`);
}

/** `failsmall rollout pause|resume|promote|abort ID [--reason R]` */
export async function rolloutCommand(type: 'pause' | 'resume' | 'promote' | 'abort', id: string, opts: GlobalOpts & { reason?: string }, out: Out): Promise<number> {
  const res = await clientFrom(opts).post<{ rollout: RolloutState }>(`/v1/rollouts/${encodeURIComponent(id)}/${type}`, opts.reason ? { reason: opts.reason } : {});
  out.data({ ok: true, rollout: res.rollout });
  out.line(`${type}: ${summarizeRollout(res.rollout)}`);
  return EXIT.OK;
}

/** `failsmall rollout watch ID` */
export async function rolloutWatch(id: string, opts: GlobalOpts, out: Out): Promise<number> {
  return watch(clientFrom(opts), id, out);
}
