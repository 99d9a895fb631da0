import { formatDuration } from '../duration/index.ts';
import type { Verdict } from '../gates/index.ts';
import type { RolloutState } from '../rollout/index.ts';

/** An event as the API returns it: the stored RolloutEvent with its place in the log. */
export interface EventRecord {
  readonly seq: number;
  readonly type: string;
  readonly at: number;
  readonly rollout_id: string | null;
  readonly payload: Record<string, unknown>;
}

const MARK: Record<Verdict['status'], string> = { pass: 'pass', fail: 'FAIL', inconclusive: 'inconclusive' };

/**
 * Turns rollout events into plain lines a human can follow: the stage, the cohort size,
 * each gate's value against its threshold, the verdict and why. `rollout watch`, the demo and
 * the dashboard's timeline show exactly these lines.
 */
export function narrate(e: EventRecord): string[] {
  const p = e.payload;
  const s = (k: string) => String(p[k] ?? '');
  switch (e.type) {
    case 'rollout.started':
      return [`rollout ${e.rollout_id}: ${s('artifact')} ${p.from_version ?? '(none)'} → ${s('to_version')} under policy ${s('policy')} (${s('fleet_nodes')} nodes), started by ${s('actor')}${p.reason ? `: ${s('reason')}` : ''}`];
    case 'rollout.dependency_gate_overridden':
      return [gateOverrideLine({ approver: s('approver'), actor: s('actor'), reason: s('reason'), ...(typeof p.approval === 'string' ? { approval: p.approval } : {}), findings: (p.findings as GateOverride['findings'] | undefined) ?? [] })];
    case 'rollout.stage_started':
      return [`  stage ${s('stage')} (${s('scope')}): ${s('to_version') || 'the new version'} goes to ${s('cohort_nodes')} of ${s('fleet_nodes')} nodes (+${s('new_nodes')} new)`];
    case 'rollout.baking': {
      const failures = (p.failures as { node: string; error: string; serving?: string | null }[] | undefined) ?? [];
      return [`  stage ${s('stage')}: ${s('reason')}; baking`, ...failures.map((f) => `    ${f.node} refused it (${f.error}); it keeps serving ${f.serving ? `its last known-good ${f.serving}` : "nothing"}`)];
    }
    case 'gates.evaluated': {
      const verdicts = (p.verdicts as Verdict[] | undefined) ?? [];
      return verdicts.map((v) => `    ${MARK[v.status]}  ${gateLine(v)}`);
    }
    case 'rollout.extended':
    case 'rollout.bake_extended':
      return [`  stage ${s('stage')}: ${s('reason')}`];
    case 'rollout.approval_required':
      return [`  stage ${s('stage')}: waiting for approval — ${s('reason')} (failsmall rollout promote ${e.rollout_id})`];
    case 'rollout.promoted':
      return [`  promote ${s('from_stage')} → ${s('to_stage')}: ${s('reason')}`];
    case 'rollout.paused':
      return [`  PAUSED at stage ${s('stage')}: ${s('reason')}`];
    case 'rollout.resumed':
      return [`  resumed at stage ${s('stage')}: ${s('reason')}`];
    case 'rollout.rolling_back':
      return [`  ROLLBACK at stage ${s('stage')} (${s('nodes')} nodes back to ${p.to_version ?? '(none)'}): ${s('reason')}`];
    case 'rollout.rolled_back':
      return [`  rolled back: ${s('reason')}`];
    case 'rollout.aborted':
      return [`  aborted: ${s('reason')}`];
    case 'rollout.completed':
      return [`  completed at stage ${s('stage')}: ${s('nodes')} nodes run the new version (${s('reason')})`];
    default:
      return [];
  }
}

/** Who let a rollout past the dependency gate, and over which findings. */
export interface GateOverride {
  readonly approver: string;
  /** The approval's id (approvals made with the approver's own token). */
  readonly approval?: string;
  readonly actor: string;
  readonly reason: string;
  readonly findings: readonly { readonly dependency: string; readonly kind: string }[];
}

/** `  dependency gate overridden: approved by alice, started by admin: "why" (bot-check: new-hard-dependency)` */
export function gateOverrideLine(o: GateOverride): string {
  return `  dependency gate overridden: approved by ${o.approver}${o.approval ? ` (${o.approval})` : ''}, started by ${o.actor}: "${o.reason}" (${o.findings.map((f) => `${f.dependency}: ${f.kind}`).join(', ')})`;
}

/** "load_success_rate: 0 < 0.999 in the latest load reports, 1 samples from 1/1 nodes, baseline 1" */
export function gateLine(v: Verdict): string {
  // Baseline comparisons and Prometheus reads explain themselves in their reason sentence.
  if (v.test !== undefined) return `${v.gate}: ${v.reason.replace(/^gate \S+ on stage \S+ /, '')}`;
  const over = v.basis === 'latest-report' ? 'in the latest load reports' : `over ${formatDuration(v.window_ms)}`;
  const evidence = `${over}, ${v.samples} samples from ${v.nodes}/${v.cohort_nodes} nodes, baseline ${v.baseline === null ? 'none' : roundValue(v.baseline)}`;
  if (v.status === 'inconclusive') {
    const why = v.value === null ? 'no data' : v.samples < v.min_samples ? `${v.samples} samples < min_samples ${v.min_samples}` : `only ${v.nodes}/${v.cohort_nodes} nodes reported`;
    return `${v.gate}: ${why} (value ${v.value === null ? 'none' : roundValue(v.value)}, threshold ${v.direction === 'min' ? '>=' : '<='} ${roundValue(v.threshold)}) ${evidence}`;
  }
  return `${v.gate}: ${comparison(v)} ${evidence}`;
}

/** `0.412 < 0.999`: a decided verdict's value against its threshold, the operator saying which side it fell. */
export function comparison(v: Verdict): string {
  const op = v.status === 'fail' ? (v.direction === 'min' ? '<' : '>') : v.direction === 'min' ? '>=' : '<=';
  return `${v.value === null ? 'no data' : roundValue(v.value)} ${op} ${roundValue(v.threshold)}`;
}

/** `0.9996`, `412`: four significant digits at most, for sentences and labels. */
export function roundValue(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
}

/** A one-line summary of a rollout's state, for status listings. */
export function summarizeRollout(r: RolloutState): string {
  const stage = r.policy_spec.stages[r.stage_index];
  const where = r.status === 'running' ? `${r.phase} stage ${stage?.name ?? '?'} (${r.stage_index + 1}/${r.policy_spec.stages.length})` : `${r.status} at stage ${stage?.name ?? '?'}`;
  return `${r.id}  ${r.artifact}  ${r.from_version ?? '(none)'} → ${r.to_version}  ${where}  ${r.assigned.length} nodes`;
}
