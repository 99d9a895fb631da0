import { failedByChange } from './excess.ts';
import type { PostmortemFacts } from './facts.ts';
import { clock, count, span } from './format.ts';
import type { ImpactData } from './impact.ts';
import type { Moments, TriggerData } from './response.ts';

/** A gate is late when it fails more than this many evaluation intervals after the errors began. */
export const LATE_GATE_INTERVALS = 2;
/** Triage is slow when its first result comes more than this long after the incident opened. */
export const SLOW_TRIAGE_MS = 5 * 60_000;

export const FINDING_CODES = [
  'fail-closed-widened', 'no-validation', 'unstaged-change', 'gates-missed', 'alert-before-gate', 'gate-late',
  'breakglass-needed', 'triage-slow', 'triage-wrong-first', 'nodes-unreported',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

/** Something the facts show went wrong, the fact it comes from, and the action item it suggests. */
export interface Finding {
  readonly code: FindingCode;
  readonly text: string;
  /** The fact that produced it, as a path into PostmortemFacts: `modules[0]`, `rollouts[1].failed_gate`. */
  readonly source: string;
  readonly action: string;
}

export interface FindingInput {
  readonly facts: PostmortemFacts;
  readonly impact: ImpactData;
  readonly impactStartMs: number | null;
  readonly trigger: TriggerData | null;
  readonly moments: Moments;
}

/** Every finding the facts support, in FINDING_CODES order. */
export function findings(input: FindingInput): Finding[] {
  const out = [
    ...failClosed(input), ...noValidation(input), ...unstaged(input), ...gatesMissed(input), ...alertBeforeGate(input),
    ...gateLate(input), ...breakglassNeeded(input), ...triageSlow(input), ...triageWrongFirst(input), ...unreported(input),
  ];
  return out.sort((a, b) => FINDING_CODES.indexOf(a.code) - FINDING_CODES.indexOf(b.code));
}

function failClosed({ facts, impact }: FindingInput): Finding[] {
  const failed = failedByChange(impact.attributable, impact.failed_requests);
  if (failed === null || failed === 0) return [];
  return facts.modules.flatMap((m, i): Finding[] => {
    const nodes = m.nodes_failed_load?.length ?? 0;
    if (m.on_load_failure !== 'fail-closed' || nodes === 0) return [];
    const why = m.reason !== null ? ` (declared reason: "${m.reason}")` : ' (no reason recorded)';
    return [{
      code: 'fail-closed-widened',
      source: `modules[${i}]`,
      text: `Module ${m.name} is fail-closed${why}: on the ${count(nodes)} nodes where the new version failed to load, it hard-failed instead of keeping the last known-good version, and ${count(failed)} requests failed.`,
      action: `Review whether failing closed serves that goal for ${m.name}; if not, declare on_load_failure: serve-stale so that a rejected version keeps the last known-good one serving.`,
    }];
  });
}

function noValidation({ facts }: FindingInput): Finding[] {
  return facts.rollouts.flatMap((r, i): Finding[] => {
    if (r.validation === null || r.validation.length > 0) return [];
    return [{
      code: 'no-validation',
      source: `rollouts[${i}].validation`,
      text: `Artifact ${r.artifact}${r.kind !== null ? ` (${r.kind})` : ''}, consumed by module ${r.module}, declares no validation: agents accept any content it has.`,
      action: `Declare validation for ${r.artifact} (json_schema, max_entries, max_bytes or a validator command) so that agents reject a malformed version and keep the last known-good one.`,
    }];
  });
}

function unstaged({ trigger, moments }: FindingInput): Finding[] {
  if (trigger?.kind !== 'change' || moments.trigger_ms === null) return [];
  return [{
    code: 'unstaged-change',
    source: trigger.source,
    text: `Change ${trigger.id} (${trigger.summary ?? ''}) at ${clock(moments.trigger_ms)} UTC was made outside a staged rollout.`,
    action: `Route changes like ${trigger.id} through a staged rollout with health gates, so that they reach one stage before the fleet.`,
  }];
}

function gatesMissed({ facts, moments }: FindingInput): Finding[] {
  const { first_alert_ms: alertMs, trigger_ms: triggerMs } = moments;
  if (facts.incident.opened_by !== 'alert' || moments.gate_ms !== null || alertMs === null) return [];
  const after = triggerMs !== null ? `, ${span(alertMs - triggerMs)} after the change started` : '';
  return [{
    code: 'gates-missed',
    source: 'incident.opened_by',
    text: `The incident was opened by an alert at ${clock(alertMs)} UTC${after}; no gate failed.`,
    action: facts.rollouts.length > 0
      ? `Find the signal the alert saw and add it as a health gate on the stages of ${facts.rollouts.map((r) => r.artifact).join(', ')}.`
      : 'Find the change that caused it and put it behind a staged rollout whose gates watch the signal the alert saw.',
  }];
}

function alertBeforeGate({ facts, moments }: FindingInput): Finding[] {
  const { first_alert_ms: alertMs, gate_ms: gateMs } = moments;
  if (alertMs === null || gateMs === null || alertMs >= gateMs) return [];
  const index = facts.alerts.findIndex((a) => a.started_at === alertMs);
  const name = facts.alerts[index]?.name ?? '';
  return [{
    code: 'alert-before-gate',
    source: `alerts[${index}]`,
    text: `Alert ${name} fired at ${clock(alertMs)} UTC, ${span(gateMs - alertMs)} before a gate failed (${clock(gateMs)} UTC).`,
    action: `Add what ${name} measures to the rollout's gates, or shorten their window, so that the rollout stops before people are paged.`,
  }];
}

function gateLate({ facts, impactStartMs }: FindingInput): Finding[] {
  return facts.rollouts.flatMap((r, i): Finding[] => {
    const v = r.failed_gate;
    const stage = r.stages.find((s) => s.name === v?.stage);
    if (v === null || stage === undefined) return [];
    // Measured from the errors' start when they began in this stage: a gate cannot see errors before they exist.
    const fromErrors = impactStartMs !== null && impactStartMs >= stage.started_at;
    const base = fromErrors ? impactStartMs : stage.started_at;
    const late = v.at - base;
    if (late <= LATE_GATE_INTERVALS * stage.interval_ms) return [];
    return [{
      code: 'gate-late',
      source: `rollouts[${i}].failed_gate`,
      text: `Gate ${v.gate} on stage ${stage.name} failed ${span(late)} after ${fromErrors ? 'the errors began' : 'the stage started'} (${clock(base)} UTC): more than ${LATE_GATE_INTERVALS} evaluation intervals of ${span(stage.interval_ms)}.`,
      action: `Make ${v.gate} fail sooner: its window is ${span(v.window_ms)} and it needs ${count(v.min_samples)} samples; consider a shorter window or a gate on the errors themselves.`,
    }];
  });
}

function breakglassNeeded({ facts }: FindingInput): Finding[] {
  const sorted = facts.breakglass.map((b, i) => ({ b, i })).sort((x, y) => x.b.at - y.b.at);
  const first = sorted[0];
  if (first === undefined) return [];
  const { b } = first;
  const applied = b.nodes_applied !== null ? `applied on ${count(b.nodes_applied.length)} of ${count(b.nodes.length)} nodes` : `sent to ${count(b.nodes.length)} nodes, applied on a number not recorded`;
  const more = sorted.length > 1 ? ` (${count(sorted.length)} commands in all)` : '';
  return [{
    code: 'breakglass-needed',
    source: `breakglass[${first.i}]`,
    text: `Break-glass was needed: ${b.operator} ran ${b.action} on ${b.target} at ${clock(b.at)} UTC, ${applied}${more}.`,
    action: facts.rollouts.some((r) => r.rolled_back_at !== null)
      ? 'Find out why the automatic rollback was not enough, and make that step automatic.'
      : 'Find out why no automatic rollback was available, and stage this kind of change so that one is.',
  }];
}

function triageSlow({ facts }: FindingInput): Finding[] {
  const first = facts.triage.map((t, i) => ({ t, i })).sort((a, b) => a.t.at - b.t.at)[0];
  if (first === undefined) return [];
  const took = first.t.at - facts.incident.opened_at;
  if (took <= SLOW_TRIAGE_MS) return [];
  return [{
    code: 'triage-slow',
    source: `triage[${first.i}]`,
    text: `The first triage result came ${span(took)} after the incident opened, more than ${span(SLOW_TRIAGE_MS)}.`,
    action: 'Run triage when the incident opens (the server can do it on the gate failure or the alert), and find which signal it waited for.',
  }];
}

function triageWrongFirst({ facts }: FindingInput): Finding[] {
  const sorted = facts.triage.map((t, i) => ({ t, i })).sort((a, b) => a.t.at - b.t.at);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first === undefined || last === undefined || first.t.class === last.t.class) return [];
  return [{
    code: 'triage-wrong-first',
    source: `triage[${first.i}]`,
    text: `Triage first ranked ${first.t.class} on top (${clock(first.t.at)} UTC), and settled on ${last.t.class} ${span(last.t.at - first.t.at)} later.`,
    action: `Find which signal misled the first triage (its evidence for ${first.t.class}) or was missing then, and record it.`,
  }];
}

function unreported({ facts }: FindingInput): Finding[] {
  return facts.rollouts.flatMap((r, i): Finding[] => {
    const silent = r.unreported_nodes?.length ?? 0;
    if (silent === 0) return [];
    const cohort = r.stages[r.stages.length - 1]?.nodes;
    return [{
      code: 'nodes-unreported',
      source: `rollouts[${i}].unreported_nodes`,
      text: `${count(silent)}${cohort !== undefined ? ` of ${count(cohort)}` : ''} cohort nodes of rollout ${r.id} never reported: what they served is unknown.`,
      action: `Check the agents of the silent nodes (${(r.unreported_nodes ?? []).slice(0, 5).join(', ')}${silent > 5 ? ', …' : ''}) and why they did not report.`,
    }];
  });
}
