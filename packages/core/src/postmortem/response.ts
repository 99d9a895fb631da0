import type { ArtifactKind } from '../policy/types.ts';
import type { PostmortemFacts, PostmortemRollout } from './facts.ts';
import { iso } from './format.ts';

/** The change that started it: a rollout, or a change recorded outside failsmall. */
export interface TriggerData {
  readonly kind: 'rollout' | 'change';
  /** Which fact: `rollouts[0]`, `changes[2]`. */
  readonly source: string;
  readonly id: string;
  readonly at: string;
  readonly artifact: string | null;
  readonly artifact_kind: ArtifactKind | null;
  readonly module: string | null;
  readonly from_version: string | null;
  readonly to_version: string | null;
  readonly summary: string | null;
}

export interface GateData {
  readonly source: string;
  readonly rollout: string;
  readonly stage: string;
  readonly gate: string;
  readonly module: string;
  readonly metric: string;
  readonly at: string;
  readonly value: number | null;
  readonly direction: 'min' | 'max';
  readonly threshold: number;
  readonly baseline: number | null;
  readonly samples: number;
  readonly nodes: number;
  readonly cohort_nodes: number;
  readonly window_s: number;
  readonly reason: string;
  /** From the failing stage's start to the verdict. */
  readonly after_stage_start_s: number | null;
}

export interface DetectionData {
  readonly at: string | null;
  readonly by: 'gate' | 'alert' | null;
  /** Detection minus the trigger's start. */
  readonly time_to_detect_s: number | null;
  readonly gate: GateData | null;
  readonly first_alert: { readonly source: string; readonly name: string; readonly at: string; readonly count: number } | null;
}

/** A rollout whose version was reverted: automatically by a gate, or by an operator's abort. */
export interface RollbackData {
  readonly source: string;
  readonly rollout: string;
  /** `rolled_back`: a gate reverted it; `aborted`: an operator did; `rolling_back`: the revert had not finished. */
  readonly outcome: 'rolled_back' | 'aborted' | 'rolling_back';
  /** Why: a failed gate, a gate that stayed inconclusive, or an operator's abort. */
  readonly cause: 'gate' | 'inconclusive' | 'abort' | null;
  /** The widest stage the new version reached, and its cohort. */
  readonly stage: string | null;
  readonly nodes: number | null;
  readonly fleet_nodes: number | null;
  readonly started_at: string | null;
  readonly completed_at: string | null;
  /** From the first stage's start (the new version's first node) to the rollback's end. */
  readonly exposure_s: number | null;
}

/** A rollout paused (by a gate or a person) and not reverted: its version stays on the nodes it reached. */
export interface PauseData {
  readonly source: string;
  readonly rollout: string;
  readonly stage: string | null;
  readonly nodes: number | null;
  readonly fleet_nodes: number | null;
  readonly paused_at: string;
}

export interface TriageData {
  readonly source: string;
  readonly at: string;
  readonly class: string;
  readonly confidence: number;
  readonly first_action: string;
  readonly after_open_s: number;
}

export interface BreakglassData {
  readonly source: string;
  readonly at: string;
  readonly operator: string;
  readonly action: string;
  readonly target: string;
  readonly version: string | null;
  readonly nodes: number;
  readonly nodes_applied: number | null;
}

export interface ResponseData {
  readonly triage: readonly TriageData[];
  /** First triage result minus the incident's opening. */
  readonly time_to_triage_s: number | null;
  readonly rollbacks: readonly RollbackData[];
  readonly paused: readonly PauseData[];
  readonly breakglass: readonly BreakglassData[];
  readonly mitigated_at: string | null;
  /** `rollback`: a gate's automatic rollback finished; `abort`: an operator's abort finished reverting; `breakglass`: a command applied. */
  readonly mitigated_by: 'rollback' | 'abort' | 'breakglass' | null;
  /** Mitigation minus the trigger's start. */
  readonly time_to_mitigate_s: number | null;
  readonly resolved_at: string | null;
  /** Resolution minus the trigger's start. */
  readonly time_to_resolve_s: number | null;
}

/** Times in ms the findings reason with, beside the exported data. */
export interface Moments {
  readonly trigger_ms: number | null;
  readonly detected_ms: number | null;
  readonly gate_ms: number | null;
  readonly first_alert_ms: number | null;
}

/** The rollout that opened the incident, else the first with a failed gate, else the first. */
export function triggerRollout(facts: PostmortemFacts): { rollout: PostmortemRollout; index: number } | null {
  const indexed = facts.rollouts.map((rollout, index) => ({ rollout, index })).sort((a, b) => a.rollout.started_at - b.rollout.started_at);
  return indexed.find((r) => r.rollout.id === facts.incident.rollout_id)
    ?? indexed.find((r) => r.rollout.failed_gate !== null)
    ?? indexed[0]
    ?? null;
}

export function trigger(facts: PostmortemFacts, impactStartMs: number | null): { data: TriggerData; ms: number } | null {
  const r = triggerRollout(facts);
  if (r !== null) {
    const { rollout } = r;
    return { ms: rollout.started_at, data: {
      kind: 'rollout', source: `rollouts[${r.index}]`, id: rollout.id, at: iso(rollout.started_at),
      artifact: rollout.artifact, artifact_kind: rollout.kind, module: rollout.module,
      from_version: rollout.from_version, to_version: rollout.to_version, summary: null,
    } };
  }
  // Without a rollout, the last change recorded before the errors (or the incident) began.
  const before = impactStartMs ?? facts.incident.opened_at;
  const candidates = facts.changes.map((change, index) => ({ change, index })).filter((c) => c.change.at <= before);
  const c = candidates.sort((a, b) => b.change.at - a.change.at)[0];
  if (c === undefined) return null;
  return { ms: c.change.at, data: {
    kind: 'change', source: `changes[${c.index}]`, id: c.change.id, at: iso(c.change.at),
    artifact: null, artifact_kind: null, module: null, from_version: null, to_version: null, summary: c.change.summary,
  } };
}

export function detection(facts: PostmortemFacts, triggerMs: number | null): { data: DetectionData; moments: Moments } {
  const gates = facts.rollouts.flatMap((rollout, index) => (rollout.failed_gate !== null ? [{ rollout, index, verdict: rollout.failed_gate }] : []));
  const g = gates.sort((a, b) => a.verdict.at - b.verdict.at)[0];
  const alerts = facts.alerts.map((alert, index) => ({ alert, index })).sort((a, b) => a.alert.started_at - b.alert.started_at);
  const a = alerts[0];
  const gateMs = g?.verdict.at ?? null;
  const alertMs = a?.alert.started_at ?? null;
  const by = gateMs !== null && (alertMs === null || gateMs <= alertMs) ? 'gate' : alertMs !== null ? 'alert' : null;
  const detectedMs = by === 'gate' ? gateMs : by === 'alert' ? alertMs : null;
  const stage = g?.rollout.stages.find((s) => s.name === g.verdict.stage);
  const gate: GateData | null = g === undefined ? null : {
    source: `rollouts[${g.index}].failed_gate`, rollout: g.rollout.id, stage: g.verdict.stage, gate: g.verdict.gate,
    module: g.verdict.module, metric: g.verdict.metric, at: iso(g.verdict.at), value: g.verdict.value,
    direction: g.verdict.direction, threshold: g.verdict.threshold, baseline: g.verdict.baseline, samples: g.verdict.samples,
    nodes: g.verdict.nodes, cohort_nodes: g.verdict.cohort_nodes, window_s: g.verdict.window_ms / 1000, reason: g.verdict.reason,
    after_stage_start_s: stage !== undefined ? (g.verdict.at - stage.started_at) / 1000 : null,
  };
  return {
    data: {
      at: detectedMs !== null ? iso(detectedMs) : null,
      by,
      time_to_detect_s: detectedMs !== null && triggerMs !== null ? (detectedMs - triggerMs) / 1000 : null,
      gate,
      first_alert: a === undefined ? null : { source: `alerts[${a.index}]`, name: a.alert.name, at: iso(a.alert.started_at), count: a.alert.count },
    },
    moments: { trigger_ms: triggerMs, detected_ms: detectedMs, gate_ms: gateMs, first_alert_ms: alertMs },
  };
}

export function response(facts: PostmortemFacts, triggerMs: number | null): ResponseData {
  const opened = facts.incident.opened_at;
  const triage = facts.triage.map((t, index) => ({ t, index })).sort((a, b) => a.t.at - b.t.at).map(({ t, index }): TriageData => ({
    source: `triage[${index}]`, at: iso(t.at), class: t.class, confidence: t.confidence, first_action: t.first_action, after_open_s: (t.at - opened) / 1000,
  }));
  const rollbacks = facts.rollouts.flatMap((r, index): RollbackData[] => {
    if (r.rollback_started_at === null && r.rolled_back_at === null && r.aborted_at === null) return [];
    const widest = r.stages[r.stages.length - 1];
    const first = r.stages[0];
    const done = r.rolled_back_at ?? r.aborted_at;
    return [{
      source: `rollouts[${index}]`, rollout: r.id, outcome: r.rolled_back_at !== null ? 'rolled_back' : r.aborted_at !== null ? 'aborted' : 'rolling_back',
      cause: r.rollback_cause, stage: widest?.name ?? null, nodes: widest?.nodes ?? null, fleet_nodes: r.fleet_nodes,
      started_at: r.rollback_started_at !== null ? iso(r.rollback_started_at) : null,
      completed_at: done !== null ? iso(done) : null,
      exposure_s: first !== undefined && done !== null ? (done - first.started_at) / 1000 : null,
    }];
  });
  const paused = facts.rollouts.flatMap((r, index): PauseData[] => {
    const widest = r.stages[r.stages.length - 1];
    return r.status === 'paused' && r.paused_at !== null
      ? [{ source: `rollouts[${index}]`, rollout: r.id, stage: widest?.name ?? null, nodes: widest?.nodes ?? null, fleet_nodes: r.fleet_nodes, paused_at: iso(r.paused_at) }]
      : [];
  });
  const breakglass = facts.breakglass.map((b, index) => ({ b, index })).sort((x, y) => x.b.at - y.b.at).map(({ b, index }): BreakglassData => ({
    source: `breakglass[${index}]`, at: iso(b.at), operator: b.operator, action: b.action, target: b.target, version: b.version,
    nodes: b.nodes.length, nodes_applied: b.nodes_applied?.length ?? null,
  }));
  // Mitigated: the first revert to finish (a gate's rollback or an operator's abort), or the first break-glass command some agent applied.
  // A pause is not a mitigation: the version stays on the nodes it reached.
  const mitigations = [
    ...facts.rollouts.flatMap((r) => (r.rolled_back_at !== null ? [{ at: r.rolled_back_at, by: 'rollback' as const }] : [])),
    ...facts.rollouts.flatMap((r) => (r.aborted_at !== null ? [{ at: r.aborted_at, by: 'abort' as const }] : [])),
    ...facts.breakglass.flatMap((b) => ((b.nodes_applied?.length ?? 0) > 0 ? [{ at: b.at, by: 'breakglass' as const }] : [])),
  ].sort((x, y) => x.at - y.at);
  const m = mitigations[0];
  const resolved = facts.incident.resolved_at;
  const firstTriage = facts.triage.reduce<number | null>((min, t) => (min === null || t.at < min ? t.at : min), null);
  return {
    triage,
    time_to_triage_s: firstTriage !== null ? (firstTriage - opened) / 1000 : null,
    rollbacks,
    paused,
    breakglass,
    mitigated_at: m !== undefined ? iso(m.at) : null,
    mitigated_by: m?.by ?? null,
    time_to_mitigate_s: m !== undefined && triggerMs !== null ? (m.at - triggerMs) / 1000 : null,
    resolved_at: resolved !== null ? iso(resolved) : null,
    time_to_resolve_s: resolved !== null && triggerMs !== null ? (resolved - triggerMs) / 1000 : null,
  };
}
