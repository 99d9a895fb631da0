import { formatDuration } from '../duration/index.ts';
import type { GateSpec } from '../policy/types.ts';
import { metricValue } from './metric-value.ts';
import type { MetricAggregate, Verdict } from './types.ts';

export interface GateObservation {
  /** Counters of the cohort's nodes over the gate's window. */
  readonly cohort: MetricAggregate;
  readonly cohortNodes: number;
  /** The same counters over the nodes outside the cohort, when any. */
  readonly baseline: MetricAggregate | null;
  readonly windowMs: number;
  /** What was read, for the verdict's evidence; defaults to `module/metric`. */
  readonly query?: string;
  /** `window` (default): counters over the window; `latest-report`: each node's latest load report. */
  readonly basis?: 'window' | 'latest-report';
}

/**
 * Turns one gate and its observation into a verdict. Missing data never passes: too few
 * samples, or too few cohort nodes reporting, give `inconclusive`.
 *
 * Examples
 *   evaluateGate(gate, 'canary', obs, now).reason
 *   // "gate bot-management/load_success_rate failed on stage canary: 0.000 < 0.999 over 5s, 1 samples from 1/1 nodes (baseline 1.000)"
 */
export function evaluateGate(gate: GateSpec, stage: string, obs: GateObservation, now: number): Verdict {
  if (gate.compare === 'baseline' || gate.source === 'prometheus') return evaluateExtended(gate, stage, obs, now);
  const { value, samples } = metricValue(gate.metric, obs.cohort);
  const base = obs.baseline ? metricValue(gate.metric, obs.baseline) : { value: null, samples: 0 };
  const neededNodes = Math.max(1, Math.ceil(gate.min_coverage * obs.cohortNodes - 1e-9));
  const op = gate.direction === 'min' ? '>=' : '<=';
  const fmt = (v: number | null) => (v === null ? 'no data' : formatValue(v));
  const basis = obs.basis ?? 'window';
  const evidence = basis === 'latest-report'
    ? `from the latest load reports of ${obs.cohort.nodes}/${obs.cohortNodes} nodes (baseline ${fmt(base.value)} over ${base.samples} nodes)`
    : `over ${formatDuration(obs.windowMs)}, ${samples} samples from ${obs.cohort.nodes}/${obs.cohortNodes} nodes (baseline ${fmt(base.value)})`;
  const head = `gate ${gate.name} on stage ${stage}`;

  let status: Verdict['status'];
  let reason: string;
  if (value === null || samples === 0) {
    status = 'inconclusive';
    reason = `${head} is inconclusive: no data from ${obs.cohortNodes} cohort nodes ${evidence}; no data never promotes`;
  } else if (samples < gate.min_samples) {
    status = 'inconclusive';
    reason = `${head} is inconclusive: ${samples} samples < min_samples ${gate.min_samples} (value ${fmt(value)}) ${evidence}`;
  } else if (obs.cohort.nodes < neededNodes && certainFailure(gate, obs)) {
    // One load per node: even if every silent node loads fine, the gate cannot pass. Waiting
    // for them would only keep a bad version on the canary longer.
    status = 'fail';
    const silent = obs.cohortNodes - obs.cohort.nodes;
    reason = `${head} failed: ${fmt(value)} ${gate.direction === 'min' ? '<' : '>'} ${formatValue(gate.threshold)} ${evidence}; it cannot pass even if the ${silent} silent nodes all load fine`;
  } else if (obs.cohort.nodes < neededNodes) {
    status = 'inconclusive';
    reason = `${head} is inconclusive: only ${obs.cohort.nodes}/${obs.cohortNodes} cohort nodes reported, ${neededNodes} needed (value ${fmt(value)}) ${evidence}`;
  } else {
    const ok = gate.direction === 'min' ? value >= gate.threshold : value <= gate.threshold;
    status = ok ? 'pass' : 'fail';
    const rel = ok ? op : gate.direction === 'min' ? '<' : '>';
    reason = `${head} ${ok ? 'passed' : 'failed'}: ${fmt(value)} ${rel} ${formatValue(gate.threshold)} ${evidence}`;
  }
  return {
    gate: gate.name, stage, module: gate.module, metric: gate.metric, status, value,
    direction: gate.direction, threshold: gate.threshold, samples, min_samples: gate.min_samples,
    nodes: obs.cohort.nodes, cohort_nodes: obs.cohortNodes, window_ms: obs.windowMs,
    baseline: base.value, baseline_samples: base.samples, basis, query: obs.query ?? `${gate.module}/${gate.metric}`, at: now, reason,
  };
}

/**
 * Baseline comparisons and Prometheus gates. Until their evaluators are wired, such a gate is
 * inconclusive with a reason: a gate the engine cannot judge must never pass.
 */
function evaluateExtended(gate: GateSpec, stage: string, obs: GateObservation, now: number): Verdict {
  const what = gate.compare === 'baseline' ? 'compare: baseline' : 'source: prometheus';
  return {
    gate: gate.name, stage, module: gate.module, metric: gate.metric, status: 'inconclusive', value: null,
    direction: gate.direction, threshold: gate.threshold, samples: 0, min_samples: gate.min_samples,
    nodes: obs.cohort.nodes, cohort_nodes: obs.cohortNodes, window_ms: obs.windowMs, baseline: null, baseline_samples: 0,
    basis: obs.basis ?? 'window', query: obs.query ?? `${gate.module}/${gate.metric}`, at: now,
    reason: `gate ${gate.name} on stage ${stage} is inconclusive: ${what} is not evaluated by this engine yet; no verdict never promotes`,
  };
}

/** For per-node load reports: the best value the silent nodes could still bring about, and whether it fails. */
function certainFailure(gate: GateSpec, obs: GateObservation): boolean {
  if (obs.basis !== 'latest-report' || gate.metric !== 'load_success_rate') return false;
  const silent = Math.max(0, obs.cohortNodes - obs.cohort.nodes);
  const attempted = obs.cohort.loads_attempted + silent;
  const best = (obs.cohort.loads_succeeded + silent) / attempted;
  return gate.direction === 'min' ? best < gate.threshold : obs.cohort.loads_succeeded / attempted > gate.threshold;
}

/** Four significant digits: enough to compare with a threshold such as 0.999, short enough to read. */
function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}
