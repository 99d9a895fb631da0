import type { ArtifactValidation, ArtifactKind } from '../policy/types.ts';
import { isFailedVerdict } from '../rollout/failure.ts';
import type { RolloutEvent, RolloutState } from '../rollout/types.ts';
import type { PostmortemExposure, PostmortemRollout, PostmortemStage, ValidationCheck } from './facts.ts';

/** What the caller knows beside the rollout's state and events: from declarations, load reports and counters. */
export interface RolloutFactsExtra {
  readonly kind: ArtifactKind | null;
  /** The artifact's declared validation; null when the artifact is not known. */
  readonly validation: ArtifactValidation | null;
  readonly unreported_nodes: readonly string[] | null;
  readonly exposure: PostmortemExposure | null;
}

/** When the version left the last node: its revert's end (a gate's rollback or an operator's abort); null when it was not reverted. */
export function revertedAt(events: readonly RolloutEvent[]): number | null {
  return events.find((e) => e.type === 'rollout.rolled_back' || e.type === 'rollout.aborted')?.at ?? null;
}

/**
 * A rollout's facts for a postmortem, from its persisted state and its own events (the
 * control plane's store, or a simulated run's record): one reading, so the server and the
 * simulator cannot disagree on what a rollout did.
 *
 * Examples
 *   rolloutFacts(state, await store.listEvents({ rolloutId: state.id }), { kind: 'config', validation: {}, unreported_nodes: [], exposure: null });
 */
export function rolloutFacts(r: RolloutState, events: readonly RolloutEvent[], extra: RolloutFactsExtra): PostmortemRollout {
  const at = (type: string) => events.find((e) => e.type === type)?.at ?? null;
  const stages: PostmortemStage[] = events.filter((e) => e.type === 'rollout.stage_started').map((e) => {
    const index = Number(e.payload.stage_index ?? 0);
    return { name: String(e.payload.stage), started_at: e.at, nodes: Number(e.payload.cohort_nodes ?? 0), interval_ms: r.policy_spec.stages[index]?.interval_ms ?? 0 };
  });
  const started = events.find((e) => e.type === 'rollout.started');
  // A gate that paused the rollout failed as surely as one that rolled it back; an operator's later abort has no verdict of its own.
  const pausedBy = events.findLast((e) => e.type === 'rollout.paused' && isFailedVerdict(e.payload.verdict))?.payload.verdict;
  const v = extra.validation;
  return {
    id: r.id, artifact: r.artifact, kind: extra.kind, module: r.module, from_version: r.from_version, to_version: r.to_version,
    started_at: r.created_at, status: r.status, stages,
    fleet_nodes: started && typeof started.payload.fleet_nodes === 'number' ? started.payload.fleet_nodes : null,
    failed_gate: r.outcome?.verdict ?? (isFailedVerdict(pausedBy) ? pausedBy : null),
    rollback_started_at: r.rollback_started_at,
    rollback_cause: r.rollback_cause,
    rolled_back_at: at('rollout.rolled_back'),
    aborted_at: at('rollout.aborted'),
    paused_at: r.status === 'paused' ? (events.findLast((e) => e.type === 'rollout.paused')?.at ?? null) : null,
    completed_at: at('rollout.completed'),
    validation: v === null ? null : VALIDATION_CHECKS.filter((k) => v[k] !== undefined),
    unreported_nodes: extra.unreported_nodes,
    exposure: extra.exposure,
  };
}

const VALIDATION_CHECKS: readonly ValidationCheck[] = ['max_bytes', 'max_entries', 'json_schema', 'command'];
