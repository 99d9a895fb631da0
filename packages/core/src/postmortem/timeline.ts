import type { TimelineKind } from '../incident/types.ts';
import type { PostmortemFacts } from './facts.ts';
import { count, iso, share } from './format.ts';

export type PostmortemTimelineKind = TimelineKind | 'impact';

/** One line of the draft's timeline: from the recorded timeline, or derived from a structured fact. */
export interface TimelineItem {
  readonly at: string;
  readonly kind: PostmortemTimelineKind;
  readonly text: string;
  /** `timeline[3]` for a recorded entry; the structured fact otherwise. */
  readonly source: string;
}

interface Dated {
  readonly at_ms: number;
  readonly kind: PostmortemTimelineKind;
  readonly text: string;
  readonly source: string;
}

/**
 * The internal timeline: every recorded entry, and an entry for every structured fact that
 * the recorded timeline does not already hold (one of the same kind at the same millisecond),
 * in time order.
 */
export function timeline(facts: PostmortemFacts, impact: { started_ms: number | null; ended_ms: number | null }): TimelineItem[] {
  const recorded: Dated[] = facts.timeline.map((e, i) => ({ at_ms: e.at, kind: e.kind, text: e.text, source: `timeline[${i}]` }));
  // Each recorded entry stands for one derived entry of its kind and time (the server writes both from one event).
  const unmatched = new Map<string, number>();
  for (const e of recorded) unmatched.set(`${e.kind}@${e.at_ms}`, (unmatched.get(`${e.kind}@${e.at_ms}`) ?? 0) + 1);
  const derived = derivedEntries(facts, impact).filter((e) => {
    const key = `${e.kind}@${e.at_ms}`;
    const left = unmatched.get(key) ?? 0;
    if (left === 0) return true;
    unmatched.set(key, left - 1);
    return false;
  });
  return ordered([...recorded, ...derived]).map((e) => ({ at: iso(e.at_ms), kind: e.kind, text: e.text, source: e.source }));
}

/** Stable: by time, then in the order given (recorded entries before derived ones). */
export function ordered<T extends { readonly at_ms: number }>(entries: readonly T[]): T[] {
  return entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.at_ms - b.e.at_ms || a.i - b.i).map(({ e }) => e);
}

function derivedEntries(facts: PostmortemFacts, impact: { started_ms: number | null; ended_ms: number | null }): Dated[] {
  const out: Dated[] = [];
  const { incident } = facts;
  out.push({ at_ms: incident.opened_at, kind: 'status', text: `Incident ${incident.id} opened (by ${incident.opened_by}): ${incident.title}`, source: 'incident.opened_at' });
  facts.changes.forEach((c, i) => out.push({ at_ms: c.at, kind: 'change', text: `Change ${c.id}: ${c.summary}`, source: `changes[${i}]` }));
  facts.rollouts.forEach((r, i) => {
    const src = `rollouts[${i}]`;
    out.push({ at_ms: r.started_at, kind: 'rollout', text: `Rollout ${r.id} started: ${r.artifact}${r.kind !== null ? ` (${r.kind})` : ''} ${r.from_version ?? '(none)'} → ${r.to_version}, module ${r.module}`, source: src });
    r.stages.forEach((s, j) => out.push({ at_ms: s.started_at, kind: 'rollout', text: `Stage ${s.name} of ${r.id}: ${r.to_version} given to ${count(s.nodes)} nodes`, source: `${src}.stages[${j}]` }));
    const v = r.failed_gate;
    if (v !== null) out.push({ at_ms: v.at, kind: 'rollout', text: v.reason, source: `${src}.failed_gate` });
    if (r.rollback_started_at !== null) {
      const how = r.rollback_cause === 'abort' ? 'aborted by an operator: reverting' : 'rolling back';
      out.push({ at_ms: r.rollback_started_at, kind: 'rollout', text: `Rollout ${r.id} ${how} to ${r.from_version ?? '(none)'}`, source: `${src}.rollback_started_at` });
    }
    if (r.rolled_back_at !== null) out.push({ at_ms: r.rolled_back_at, kind: 'rollout', text: `Rollout ${r.id} rolled back on every node`, source: `${src}.rolled_back_at` });
    if (r.aborted_at !== null) out.push({ at_ms: r.aborted_at, kind: 'rollout', text: `Rollout ${r.id} aborted: reverted on every node`, source: `${src}.aborted_at` });
    if (r.paused_at !== null) out.push({ at_ms: r.paused_at, kind: 'rollout', text: `Rollout ${r.id} paused: ${r.to_version} stays on the nodes it reached`, source: `${src}.paused_at` });
    if (r.completed_at !== null) out.push({ at_ms: r.completed_at, kind: 'rollout', text: `Rollout ${r.id} completed`, source: `${src}.completed_at` });
  });
  facts.alerts.forEach((a, i) => out.push({ at_ms: a.started_at, kind: 'alert', text: `Alert ${a.name} fired (${count(a.count)} received)`, source: `alerts[${i}]` }));
  facts.triage.forEach((t, i) => out.push({ at_ms: t.at, kind: 'triage', text: `Triage: ${t.class} on top (${share(t.confidence)}); first action: ${t.first_action}`, source: `triage[${i}]` }));
  facts.breakglass.forEach((b, i) => {
    const applied = b.nodes_applied !== null ? `applied on ${count(b.nodes_applied.length)} of ${count(b.nodes.length)} nodes` : `sent to ${count(b.nodes.length)} nodes`;
    out.push({ at_ms: b.at, kind: 'breakglass', text: `Break-glass ${b.action} ${b.target}${b.version !== null ? `@${b.version}` : ''} by ${b.operator}: ${applied}`, source: `breakglass[${i}]` });
  });
  if (impact.started_ms !== null) out.push({ at_ms: impact.started_ms, kind: 'impact', text: 'Errors began (first interval with failed requests above the baseline)', source: 'impact.intervals' });
  if (impact.ended_ms !== null) out.push({ at_ms: impact.ended_ms, kind: 'impact', text: 'Errors ended (end of the last interval with failed requests above the baseline)', source: 'impact.intervals' });
  if (incident.resolved_at !== null) out.push({ at_ms: incident.resolved_at, kind: 'status', text: `Incident ${incident.id} resolved`, source: 'incident.resolved_at' });
  return out;
}
