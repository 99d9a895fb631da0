import type { EventRecord, RolloutState, StageSpec, Verdict } from '@failsmall/core';

/** Plain data for the dashboard's view tests: a rollout of `features` v1 → v2 over canary and global. */
export const T0 = 1_700_000_000_000;

export function stage(name: string, o: Partial<StageSpec> = {}): StageSpec {
  return {
    name, scope: { type: 'percent', percent: 10, selector: [], text: '10% nodes' }, health_gates: [{} as StageSpec['health_gates'][number]],
    rollback_on_failure: true, bake_ms: 60_000, interval_ms: 1000, load_timeout_ms: 5000, max_extension_ms: 5000, on_inconclusive: 'pause', manual_approval: false, ...o,
  } as StageSpec;
}

export function verdict(o: Partial<Verdict> = {}): Verdict {
  return {
    gate: 'bot-management/load_success_rate', stage: 'canary', module: 'bot-management', metric: 'load_success_rate', status: 'pass', value: 1,
    direction: 'min', threshold: 0.999, samples: 4, min_samples: 1, nodes: 4, cohort_nodes: 4, window_ms: 2000, baseline: 1, baseline_samples: 8,
    query: 'load_success_rate', basis: 'latest-report', at: T0, reason: 'gate bot-management/load_success_rate on stage canary passed', ...o,
  };
}

export function rollout(o: Partial<RolloutState> = {}): RolloutState {
  return {
    id: 'r-0a1b2c3d4e', artifact: 'features', module: 'bot-management', policy: 'quick', policy_spec: { name: 'quick', stages: [stage('canary'), stage('global', { scope: { type: 'percent', percent: 100, selector: [], text: '100% nodes' } })] },
    from_version: 'v1', to_version: 'v2', status: 'running', phase: 'baking', stage_index: 0, stage_started_at: T0, bake_started_at: T0 + 1000,
    last_evaluated_at: T0 + 4000, assigned: ['n1'], paused_phase: null, paused_status: null, pause_reason: null, extension_base: null,
    rollback_cause: null, rollback_started_at: null, last_verdicts: [verdict()], outcome: null, created_at: T0 - 60_000, updated_at: T0 + 4000,
    created_by: 'admin', rev: 7, ...o,
  };
}

export const ev = (seq: number, type: string, payload: Record<string, unknown>, at = T0 + seq): EventRecord => ({ seq, type, at, rollout_id: 'r-0a1b2c3d4e', payload });
