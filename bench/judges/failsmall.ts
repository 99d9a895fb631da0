/**
 * failsmall's judge in bench/judges.ts, and its gate configuration: the one place it is set.
 *
 * The gates are what a user would write for this service (two compare: baseline gates):
 *   - { module: proxy, metric: error_rate,  compare: baseline, allowed_degradation: { relative: 0.2 }, alpha: 0.0005, min_samples: 600000 }
 *   - { module: proxy, metric: latency_p99, compare: baseline, allowed_degradation: { relative: 0.2 }, alpha: 0.0005, min_samples: 600000 }
 * relative 0.2: up to 1.2× the baseline's error rate, and up to 1.2% of requests slower than the
 * baseline's p99 (1% when equal), is tolerated. alpha 0.0005 per gate: two gates, so at most 0.1%
 * of healthy rollouts rolled back (the goal), by the union bound. min_samples 600,000 (as
 * in the previous benchmark): it delays only a pass, never a failure, and sets where the
 * confidence sequence is tightest (evaluate.ts: tuneAtTrials = max(min_samples, 1000)).
 * min_coverage 0.9: a stage with a tenth of its nodes silent cannot pass (it is not a failure).
 *
 * The benchmark never tunes these to the streams: change them here, in one place, or not at all.
 */
import { evaluateGate, type GateObservation, type GateSpec, type MetricAggregate, type NodeCounters } from '@failsmall/core';
import { CANARY, BASELINE, type Judge } from './rules.ts';
import { K, LUMP_INDEX, NB, STEP_S, type RunData } from './streams.ts';

export const FAILSMALL_GATE_CONFIG = {
  allowedRelative: 0.2,
  alpha: 0.0005,
  minSamples: 600_000,
  minCoverage: 0.9,
} as const;

export function failsmallGates(c: typeof FAILSMALL_GATE_CONFIG = FAILSMALL_GATE_CONFIG): readonly GateSpec[] {
  const common = {
    module: 'proxy', direction: 'max' as const, threshold: 0, window_ms: 0, min_samples: c.minSamples, min_coverage: c.minCoverage,
    compare: 'baseline' as const, alpha: c.alpha, on_no_data: 'extend' as const, allowed_degradation: { relative: c.allowedRelative },
  };
  return [
    { ...common, name: 'proxy/error_rate', metric: 'error_rate' },
    { ...common, name: 'proxy/latency_p99', metric: 'latency_p99' },
  ];
}

/** A mutable ModuleCounters: the judge refills the same objects at every look (evaluateGate keeps none). */
interface Counters { requests: number; errors: number; loads_attempted: number; loads_succeeded: number; latency_buckets: number[]; counters: Record<string, number> }

function counters(): Counters {
  return { requests: 0, errors: 0, loads_attempted: 0, loads_succeeded: 0, latency_buckets: new Array<number>(NB).fill(0), counters: {} };
}

function fill(into: Counters, req: Float64Array, err: Float64Array, lat: Float64Array, i: number): void {
  into.requests = req[i] ?? 0;
  into.errors = err[i] ?? 0;
  for (let k = 0; k < LUMP_INDEX; k++) into.latency_buckets[k] = 0;
  for (let k = 0; k < K; k++) into.latency_buckets[LUMP_INDEX + k] = lat[i * K + k] ?? 0;
}

const NODE_IDS = new Map<string, string[]>();
function nodeIds(prefix: string, n: number): string[] {
  const key = `${prefix}${n}`;
  let ids = NODE_IDS.get(key);
  if (!ids) { ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`); NODE_IDS.set(key, ids); }
  return ids;
}

/**
 * failsmall's gates through the real `evaluateGate` (packages/core/src/gates/evaluate.ts), fed
 * what the engine feeds a compare: baseline gate at every look (every `intervalSteps`): the sums
 * since the stage began (`cohort`, `baseline`), and `perNode`: each node's counters since the
 * stage began with its 30-minute `history` before the rollout. Either gate failing rolls back.
 * `cohort.nodes` counts the canary nodes whose counters have arrived (silent or late nodes do not).
 */
export function failsmallJudge(intervalSteps: number, c: typeof FAILSMALL_GATE_CONFIG = FAILSMALL_GATE_CONFIG): Judge {
  const gates = failsmallGates(c);
  return (d) => {
    const S1 = d.steps + 1;
    const N = d.m + d.M;
    const cohortIds = nodeIds('canary', d.m), baselineIds = nodeIds('base', d.M);
    const now = new Array<Counters>(N);
    const nodes: NodeCounters[] = [];
    for (let n = 0; n < N; n++) {
      const cur = counters();
      now[n] = cur;
      const hist = counters();
      fill(hist, d.histReq, d.histErr, d.histLat, n);
      nodes.push({ node: n < d.m ? (cohortIds[n] ?? '') : (baselineIds[n - d.m] ?? ''), counters: cur, history: hist });
    }
    const perNode = { cohort: nodes.slice(0, d.m), baseline: nodes.slice(d.m) };
    const cohort = { ...counters(), nodes: 0 };
    const baseline = { ...counters(), nodes: 0 };
    for (let e = intervalSteps; e <= d.steps; e += intervalSteps) {
      let reporting = 0, baseReporting = 0;
      for (let n = 0; n < N; n++) {
        const cur = now[n];
        if (!cur) continue;
        fill(cur, d.req, d.err, d.lat, n * S1 + e);
        if (cur.requests > 0) { if (n < d.m) reporting++; else baseReporting++; }
      }
      fill(cohort, d.aggReq, d.aggErr, d.aggLat, CANARY * S1 + e);
      fill(baseline, d.aggReq, d.aggErr, d.aggLat, BASELINE * S1 + e);
      cohort.nodes = reporting;
      baseline.nodes = baseReporting;
      const windowMs = e * STEP_S * 1000;
      const obs: GateObservation = { cohort: cohort as MetricAggregate, cohortNodes: d.m, baseline: baseline as MetricAggregate, windowMs, perNode };
      for (const g of gates) {
        if (evaluateGate(g, 'canary', obs, windowMs).status === 'fail') return e * STEP_S;
      }
    }
    return null;
  };
}
