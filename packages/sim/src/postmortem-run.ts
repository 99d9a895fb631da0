import { failsmallError, isRolloutFailure, rolloutFacts, revertedAt, type PostmortemExposure, type PostmortemFacts, type Result } from '@failsmall/core';
import type { RegimeRecord } from './record.ts';
import type { RegimeName, RolloutSummary, SimulationReport } from './report.ts';
import type { Scenario } from './scenario/types.ts';

/** The simulator's truth about a failed rollout, which no control plane can see. */
export interface SimulatedTruth {
  /** The rollout as the simulator's report sums it up (state, stage, failing gate, start and end). */
  readonly rollout: RolloutSummary;
  /** Nodes that ever served the rollout's version: what it really reached, whatever the engine assigned. */
  readonly nodes_served: number;
  /** Nodes that ever served a version their module cannot handle (the report's nodes_exposed). */
  readonly nodes_exposed: number;
  /** Failed requests the change itself caused on its nodes, from its start to its revert's end: what the excess estimates. */
  readonly change_errors: number;
  /** Failed requests the change caused anywhere else or at any other time (0 when its cohort contained it). */
  readonly change_errors_elsewhere: number;
  /** The regime's first bad push → first failed gate, and that → the last node back on a good version. */
  readonly detect_seconds: number | null;
  readonly rollback_seconds: number | null;
}

export interface SimulatedIncident {
  readonly facts: PostmortemFacts;
  readonly truth: SimulatedTruth;
}

/**
 * The incident the control plane would open for the first rollout a gate stopped in a staged
 * regime, with the facts it would record (the rollout from its state and events, through the
 * same `rolloutFacts` the server uses; its exposure from the counters split by cohort), and
 * the simulator's truth beside them. Times are the simulator's (ms from the run's start).
 * Traffic per node is not simulated, so the window's per-node counts (`impact`) are not
 * recorded here: the draft says so, and measures the change on its cohort.
 *
 * Examples
 *   const report = simulate(scenario, { regimes: ['staged'], record: true });
 *   const r = simulatedIncident(scenario, report);
 *   if (r.ok) postmortemData(r.value.facts).impact.attributable; // vs r.value.truth.change_errors
 */
export function simulatedIncident(s: Scenario, report: SimulationReport, o: { readonly regime?: RegimeName } = {}): Result<SimulatedIncident> {
  const regime = o.regime ?? 'staged';
  const run = report.regimes[regime];
  const record = run?.record;
  if (!run || !record) return refused('NO_RECORD', `regime ${regime} kept no record`, 'run simulate(scenario, { record: true }) with a staged regime');
  // The event that opens an incident on the control plane.
  const failure = record.events.find(isRolloutFailure);
  const state = record.rollouts.find((r) => r.id === failure?.rollout_id);
  const summary = run.rollouts.find((r) => r.id === state?.id);
  if (!failure || !state || !summary) return refused('NO_FAILED_ROLLOUT', `no gate stopped a rollout in regime ${regime} of ${s.name}`, 'pick a scenario whose change a gate rolls back or pauses');
  const events = record.events.filter((e) => e.rollout_id === state.id);
  const to = revertedAt(events) ?? s.duration_ms;
  const exposed = exposureOf(record, state.id, state.assigned.length, state.created_at, to);
  const all = record.ticks.reduce((n, k) => n + k.change_errors.cohort + k.change_errors.others, 0);
  const facts: PostmortemFacts = {
    incident: {
      id: `inc-${state.id}`, title: `${state.artifact} ${state.to_version}: gate ${String((failure.payload.verdict as { gate?: string } | undefined)?.gate ?? '?')} failed at stage ${String(failure.payload.stage ?? '?')}`,
      severity: 'sev3', status: 'resolved', opened_by: 'gate', opened_at: failure.at, resolved_at: s.duration_ms, rollout_id: state.id,
    },
    timeline: [],
    rollouts: [rolloutFacts(state, events, { kind: s.artifact.kind, validation: s.artifact.validation, unreported_nodes: null, exposure: exposed.exposure })],
    modules: [{ name: s.module.name, on_load_failure: s.module.on_load_failure, reason: s.module.reason ?? null, nodes_failed_load: null }],
    impact: null, triage: [], breakglass: [], alerts: [], changes: [],
  };
  return {
    ok: true, warnings: [],
    value: {
      facts,
      truth: {
        rollout: summary, nodes_served: record.served[state.to_version] ?? 0, nodes_exposed: run.nodes_exposed, change_errors: exposed.change, change_errors_elsewhere: all - exposed.change,
        detect_seconds: run.detect_seconds, rollback_seconds: run.rollback_seconds,
      },
    },
  };
}

/** The cohort's counters from the rollout's start to its revert's end, the other nodes' as the background, and the truth of what the change caused there. */
function exposureOf(record: RegimeRecord, rollout: string, nodes: number, from: number, to: number): { exposure: PostmortemExposure | null; change: number } {
  const ticks = record.ticks.filter((k) => k.rollout === rollout && k.t >= from && k.t <= to);
  const sum = (f: (k: RegimeRecord['ticks'][number]) => number) => ticks.reduce((n, k) => n + f(k), 0);
  const requests = sum((k) => k.cohort.requests);
  // Counted as the server counts them: the background's nodes are those the version never reached (the fewest others, at its widest stage).
  const others = { nodes: Math.min(...ticks.map((k) => k.others.nodes)), requests: sum((k) => k.others.requests), errors: sum((k) => k.others.errors) };
  return {
    change: sum((k) => k.change_errors.cohort),
    exposure: requests === 0 ? null : {
      from, to, nodes, requests, errors: sum((k) => k.cohort.errors),
      baseline: others.requests > 0 ? { source: 'other-nodes', ...others } : null,
    },
  };
}

function refused(code: string, message: string, hint: string): Result<SimulatedIncident> {
  return { ok: false, errors: [failsmallError(code, message, { hint })], warnings: [] };
}
