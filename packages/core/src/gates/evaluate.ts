import { formatDuration } from '../duration/index.ts';
import type { GateSpec } from '../policy/types.ts';
import { histogramCountAbove, latencyExceedance } from '../stats/latency-exceedance.ts';
import { nodeContrast, type NodeRateCounts } from '../stats/node-contrast.ts';
import { rateRegression } from '../stats/rate-regression.ts';
import { histogramQuantile, metricValue } from './metric-value.ts';
import type { MetricAggregate, ModuleCounters, NodeCounters, Verdict } from './types.ts';

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
  /**
   * A value read directly (a PromQL query), instead of counters: `value` null with `problem`
   * saying why there is none (no series, NaN, several series, a timeout, an unreachable server).
   */
  readonly direct?: { readonly value: number | null; readonly problem?: string; readonly baseline?: number | null };
  /**
   * The same counters node by node (cohort and baseline), with each node's history before the
   * rollout when known. compare: baseline gates use it to treat nodes as the units that vary;
   * without it they fall back to the pooled two-rate test.
   */
  readonly perNode?: { readonly cohort: readonly NodeCounters[]; readonly baseline: readonly NodeCounters[] };
  /**
   * For a gate split by a label (`by:`) when the counters come by group rather than node by
   * node (the simulator): each label value's cohort and baseline sums.
   */
  readonly groups?: ReadonlyMap<string, { readonly cohort: MetricAggregate; readonly baseline: MetricAggregate | null }>;
  /**
   * Cohort nodes that say they cannot read this gate's metrics (an application that cannot be
   * scraped), as `node: why`: an inconclusive verdict names them, so the cause is in the verdict.
   */
  readonly signalProblems?: readonly string[];
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
  const v = evaluateCounters(gate, stage, obs, now);
  const problems = obs.signalProblems ?? [];
  if (v.status !== 'inconclusive' || problems.length === 0) return v;
  const shown = problems.slice(0, 3).join('; ');
  return { ...v, reason: `${v.reason}; ${problems.length} cohort node${problems.length === 1 ? '' : 's'} cannot read ${gate.module}'s metrics: ${shown}${problems.length > 3 ? '; …' : ''}` };
}

function evaluateCounters(gate: GateSpec, stage: string, obs: GateObservation, now: number): Verdict {
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
 * Baseline comparisons and Prometheus gates. A Prometheus gate judges the value its query
 * returned; any problem reading it is inconclusive, never a pass.
 */
function evaluateExtended(gate: GateSpec, stage: string, obs: GateObservation, now: number): Verdict {
  const head = `gate ${gate.name} on stage ${stage}`;
  const base = {
    gate: gate.name, stage, module: gate.module, metric: gate.metric, direction: gate.direction, threshold: gate.threshold,
    samples: 0, min_samples: gate.min_samples, nodes: obs.cohort.nodes, cohort_nodes: obs.cohortNodes, window_ms: obs.windowMs,
    baseline: obs.direct?.baseline ?? null, baseline_samples: 0, basis: obs.basis ?? 'window' as const,
    query: obs.query ?? `${gate.module}/${gate.metric}`, at: now,
  };
  if (gate.compare === 'baseline') return againstBaseline(gate, stage, obs, now, base);
  const direct = obs.direct;
  if (!direct || direct.value === null) {
    return { ...base, status: 'inconclusive', value: null, test: 'threshold on a PromQL value', reason: `${head} is inconclusive: ${direct?.problem ?? 'no value was read'}; no data never promotes` };
  }
  const value = direct.value;
  const ok = gate.direction === 'min' ? value >= gate.threshold : value <= gate.threshold;
  const rel = ok ? (gate.direction === 'min' ? '>=' : '<=') : gate.direction === 'min' ? '<' : '>';
  return {
    ...base, status: ok ? 'pass' : 'fail', value, test: 'threshold on a PromQL value',
    reason: `${head} ${ok ? 'passed' : 'failed'}: ${formatValue(value)} ${rel} ${formatValue(gate.threshold)} from Prometheus over ${formatDuration(obs.windowMs)} (${base.query})`,
  };
}

type VerdictBase = Omit<Verdict, 'status' | 'value' | 'reason'>;

/** Rates the sequential tests compare: the events that count as bad, over their trials. */
function badEvents(metric: string, a: ModuleCounters): { events: number; trials: number } | undefined {
  if (metric === 'error_rate') return { events: a.errors, trials: a.requests };
  if (metric === 'load_success_rate') return { events: a.loads_attempted - a.loads_succeeded, trials: a.loads_attempted };
  if (metric.startsWith('custom:')) return { events: a.counters[metric.slice('custom:'.length)] ?? 0, trials: a.requests };
  return undefined;
}

/**
 * compare: baseline. Rates (errors, failed loads, custom counters) use an always-valid
 * confidence sequence on the cohort's rate less the allowed multiple of the baseline's, so the
 * gate may look at every interval without inflating false alarms; latency percentiles use the
 * same test on the share of cohort requests slower than the baseline's percentile. The counts
 * are the stage's so far (the window starts when the stage does), as the any-look guarantee needs.
 * A Prometheus gate compares the two values read (no counts, so no sequential test).
 */
function againstBaseline(gate: GateSpec, stage: string, obs: GateObservation, now: number, base: VerdictBase): Verdict {
  const head = `gate ${gate.name} on stage ${stage}`;
  const allowed = gate.allowed_degradation ?? { relative: 0 };
  const allowedText = `${allowed.relative !== undefined ? `+${formatValue(allowed.relative * 100)}%` : ''}${allowed.absolute !== undefined ? `${allowed.relative !== undefined ? ' ' : ''}+${formatValue(allowed.absolute)}` : ''}`;
  const alpha = gate.alpha ?? 0.001;
  if (gate.source === 'prometheus') {
    const c = obs.direct?.value ?? null;
    const b = obs.direct?.baseline ?? null;
    if (c === null || b === null) {
      return { ...base, status: 'inconclusive', value: c, test: 'value comparison', reason: `${head} is inconclusive: ${obs.direct?.problem ?? 'no cohort or baseline value'}; no data never promotes` };
    }
    const limit = gate.direction === 'min' ? b * (1 - (allowed.relative ?? 0)) - (allowed.absolute ?? 0) : b * (1 + (allowed.relative ?? 0)) + (allowed.absolute ?? 0);
    const ok = gate.direction === 'min' ? c >= limit : c <= limit;
    return { ...base, status: ok ? 'pass' : 'fail', value: c, baseline: b, threshold: limit, test: 'value comparison (Prometheus gives no counts)',
      reason: `${head} ${ok ? 'passed' : 'failed'}: cohort ${formatValue(c)} vs baseline ${formatValue(b)} (allowed ${allowedText}, limit ${formatValue(limit)}) from Prometheus over ${formatDuration(obs.windowMs)}` };
  }
  const baseline = obs.baseline;
  const neededNodes = Math.max(1, Math.ceil(gate.min_coverage * obs.cohortNodes - 1e-9));
  const tuneAtTrials = Math.max(gate.min_samples, 1000);
  if (obs.perNode && obs.perNode.baseline.length >= 2 && baseline) return byNode(gate, head, base, obs, obs.perNode, baseline, neededNodes, alpha, allowed, tuneAtTrials);
  if (gate.by !== undefined && obs.groups) return byGroupAggregates(gate, gate.by, head, base, obs, obs.groups, neededNodes, alpha, stage, now);
  if (gate.metric.startsWith('latency_p')) {
    const q = Number(gate.metric.slice('latency_p'.length)) / 100;
    const samples = obs.cohort.latency_buckets.reduce((x, y) => x + y, 0);
    if (!baseline || samples === 0) return noBaseline(gate, head, base, baseline, samples, obs);
    const r = latencyExceedance({ canary: obs.cohort.latency_buckets, baseline: baseline.latency_buckets, quantile: q, allowed, alpha, tuneAtTrials });
    return finish(gate, head, base, obs, neededNodes, samples, r.verdict, r.reason, `sequential test on the share of requests slower than the baseline p${formatValue(q * 100)} (always-valid confidence sequence, alpha ${alpha})`,
      r.canary_exceedance.trials > 0 ? r.canary_exceedance.events / r.canary_exceedance.trials : null,
      r.baseline_exceedance.trials > 0 ? r.baseline_exceedance.events / r.baseline_exceedance.trials : null, r.interval);
  }
  const canary = badEvents(gate.metric, obs.cohort);
  const against = baseline ? badEvents(gate.metric, baseline) : undefined;
  if (!canary) return { ...base, status: 'inconclusive', value: null, reason: `${head} is inconclusive: compare: baseline does not apply to ${gate.metric}` };
  if (!against || against.trials === 0 || canary.trials === 0) return noBaseline(gate, head, base, baseline, canary.trials, obs);
  // The tests bound the bad events' rate; a success-rate gate states its limit on successes.
  const r = rateRegression({ canary, baseline: against, allowed, alpha, tuneAtTrials, label: gate.metric === 'load_success_rate' ? 'load failure rate' : gate.metric.replace('_', ' ') });
  const rate = (x: { events: number; trials: number }) => (gate.metric === 'load_success_rate' ? 1 - x.events / x.trials : x.events / x.trials);
  return finish(gate, head, base, obs, neededNodes, canary.trials, r.verdict, r.reason, `sequential test on the difference of two proportions (always-valid confidence sequence, alpha ${alpha})`, rate(canary), rate(against), r.interval);
}

/**
 * compare: baseline with the nodes as units (stats/node-contrast.ts): each node's bad events
 * against what it would have shown unchanged (its own history, the fleet's drift), with the
 * dispersion the nodes really show. Latency counts, per node, the requests slower than the
 * baseline's percentile over the stage (and, for the history, slower than that same threshold).
 */
function byNode(gate: GateSpec, head: string, base: VerdictBase, obs: GateObservation, perNode: NonNullable<GateObservation['perNode']>, baseline: MetricAggregate, neededNodes: number, alpha: number, allowed: { relative?: number; absolute?: number }, tuneAtTrials: number): Verdict {
  let count: (c: ModuleCounters) => { events: number; trials: number } | undefined;
  let label: string;
  let test: string;
  const latency = gate.metric.startsWith('latency_p');
  let threshold: number | null = null;
  if (latency) {
    const q = Number(gate.metric.slice('latency_p'.length)) / 100;
    threshold = histogramQuantile(q, baseline.latency_buckets);
    const t = threshold;
    count = (c) => ({ events: t === null ? 0 : histogramCountAbove(c.latency_buckets, t), trials: c.latency_buckets.reduce((a, b) => a + (Number.isFinite(b) && b > 0 ? b : 0), 0) });
    label = `share of requests slower than the baseline p${formatValue(q * 100)}${t === null ? '' : ` (${formatValue(t)} ms)`}`;
    test = `sequential test on the share of requests slower than the baseline p${formatValue(q * 100)}, nodes as units (always-valid confidence sequence, alpha ${alpha})`;
  } else {
    count = (c) => badEvents(gate.metric, c);
    label = gate.metric === 'load_success_rate' ? 'load failure rate' : gate.metric.replace('_', ' ');
    test = `sequential test on the node-clustered contrast of two rates (always-valid confidence sequence, alpha ${alpha})`;
  }
  if (!count(obs.cohort)) return { ...base, status: 'inconclusive', value: null, reason: `${head} is inconclusive: compare: baseline does not apply to ${gate.metric}` };
  const toNode = (n: NodeCounters): NodeRateCounts => {
    const c = count(n.counters) ?? { events: 0, trials: 0 };
    const h = n.history ? count(n.history) : undefined;
    // Built field by field: an object spread here was most of a gate's cost at 45 nodes.
    return h && h.trials > 0 ? { events: c.events, trials: c.trials, node: n.node, history: h } : { events: c.events, trials: c.trials, node: n.node };
  };
  const canary = perNode.cohort.map(toNode);
  const samples = canary.reduce((a, c) => a + (Number.isFinite(c.trials) && c.trials > 0 ? c.trials : 0), 0);
  if (samples === 0 || (latency && threshold === null)) return noBaseline(gate, head, base, latency && threshold === null ? null : baseline, samples, obs);
  if (gate.by !== undefined) return byLabel(gate, gate.by, head, base, obs, perNode, toNode, neededNodes, samples, alpha, allowed, tuneAtTrials, label, test);
  const r = nodeContrast({ canary, baseline: perNode.baseline.map(toNode), allowed, alpha, tuneAtTrials, label });
  const success = gate.metric === 'load_success_rate';
  const value = latency ? histogramQuantile(Number(gate.metric.slice('latency_p'.length)) / 100, obs.cohort.latency_buckets) : r.canary_rate === null ? null : success ? 1 - r.canary_rate : r.canary_rate;
  const baseValue = latency ? threshold : r.baseline_rate === null ? null : success ? 1 - r.baseline_rate : r.baseline_rate;
  const verdict = finish(gate, head, base, obs, neededNodes, samples, r.verdict, r.reason, test, value, baseValue, r.excess);
  return { ...verdict, dispersion: r.dispersion.phi };
}

/**
 * A gate split by a node label (`by:`): the cohort's nodes with each value against the
 * baseline's nodes with the same value, each group at alpha / groups (Bonferroni), so that the
 * chance of any false rollback stays at alpha. One group that regressed fails the gate; it
 * passes when every group with cohort nodes passes (and, with require_each_group, when every
 * value the fleet has is in the cohort).
 */
function byLabel(gate: GateSpec, by: string, head: string, base: VerdictBase, obs: GateObservation, perNode: NonNullable<GateObservation['perNode']>, toNode: (n: NodeCounters) => NodeRateCounts, neededNodes: number, samples: number, alpha: number, allowed: { relative?: number; absolute?: number }, tuneAtTrials: number, label: string, test: string): Verdict {
  const valueOf = (n: NodeCounters) => n.labels?.[by];
  const everyone = [...perNode.cohort, ...perNode.baseline];
  const values = [...new Set(everyone.map(valueOf).filter((v): v is string => v !== undefined))].sort();
  if (values.length === 0) return noSuchLabel(by, head, base, samples, test, [...new Set(everyone.flatMap((n) => Object.keys(n.labels ?? {})))]);
  const unlabelled = perNode.cohort.filter((n) => valueOf(n) === undefined).length;
  const groups = values.map((v): GroupJudgement => {
    const cohort = perNode.cohort.filter((n) => valueOf(n) === v).map(toNode);
    let baselineNodes = perNode.baseline.filter((n) => valueOf(n) === v).map(toNode);
    // A group whose every node is in the cohort (a small group, stratified in whole) has no
    // baseline of its own: its nodes are judged against their own history, with the drift and
    // the dispersion of the whole baseline. Without history there is nothing fair to compare with.
    const own = baselineNodes.filter((n) => n.trials > 0).length >= 2;
    if (!own) baselineNodes = perNode.baseline.map(toNode);
    const label2 = `${label} in ${by}=${v}${own ? '' : ` (no ${by}=${v} node outside the cohort: each node against its own history, with the whole baseline's drift)`}`;
    const judgeable = cohort.length > 0 && (own || cohort.some((n) => n.history !== undefined));
    const r = judgeable ? nodeContrast({ canary: cohort, baseline: baselineNodes, allowed, alpha: alpha / values.length, tuneAtTrials, label: label2 }) : null;
    const why = cohort.length === 0 ? 'no cohort node with this value yet' : `no ${by}=${v} node outside the cohort, and its nodes have no history to compare with`;
    return {
      value: v, cohort: cohort.length, baseline: own ? baselineNodes.length : 0,
      verdict: r?.verdict ?? null, reason: r?.reason ?? why, value_read: r?.canary_rate ?? null, baseline_read: r?.baseline_rate ?? null,
      interval: r ? [r.excess.lower, r.excess.upper] : null,
    };
  });
  return combineGroups(gate, by, head, base, obs, neededNodes, samples, `${test}, split by ${by} (alpha ${formatValue(alpha)} / ${values.length} groups)`, groups, unlabelled);
}

/** One label value's judgement within a split gate. */
interface GroupJudgement {
  readonly value: string;
  readonly cohort: number;
  readonly baseline: number;
  /** null when the group could not be judged (no cohort node, nothing to compare with). */
  readonly verdict: 'regression' | 'ok' | 'undecided' | null;
  readonly reason: string;
  readonly value_read: number | null;
  readonly baseline_read: number | null;
  readonly interval: readonly [number, number] | null;
}

function noSuchLabel(by: string, head: string, base: VerdictBase, samples: number, test: string, known: readonly string[]): Verdict {
  return { ...base, samples, value: null, test, status: 'inconclusive', reason: `${head} is inconclusive: no node has the label ${by} that by: splits on (labels the nodes have: ${known.length > 0 ? [...known].sort().join(', ') : 'none'}); no data never promotes` };
}

/**
 * A split gate's verdict from its groups': one group that regressed fails it; with
 * require_each_group a value with no cohort node holds it; otherwise it passes when every
 * group with cohort nodes passes.
 */
function combineGroups(gate: GateSpec, by: string, head: string, base: VerdictBase, obs: GateObservation, neededNodes: number, samples: number, test: string, groups: readonly GroupJudgement[], unlabelled: number): Verdict {
  const common = { ...base, samples, value: null, test };
  const summary = (g: GroupJudgement) => `${by}=${g.value}: ${g.verdict ?? (g.cohort === 0 ? 'no cohort node' : 'cannot be judged')} (${g.cohort} cohort, ${g.baseline} baseline nodes)`;
  const all = `groups: ${groups.map(summary).join('; ')}${unlabelled > 0 ? `; ${unlabelled} cohort nodes without the label are not judged` : ''}`;
  const withGroups = (v: Verdict): Verdict => ({
    ...v,
    groups: groups.map((g) => ({ label: by, value: g.value, status: g.verdict === 'regression' ? 'fail' : g.verdict === 'ok' ? 'pass' : 'inconclusive', cohort_nodes: g.cohort, baseline_nodes: g.baseline, reason: g.reason, cohort_value: g.value_read, baseline_value: g.baseline_read })),
  });
  const failed = groups.find((g) => g.verdict === 'regression');
  if (failed) {
    return withGroups({ ...common, status: 'fail', value: failed.value_read, baseline: failed.baseline_read, ...(failed.interval ? { interval: failed.interval } : {}), reason: `${head} failed in ${by}=${failed.value}: ${failed.reason}; ${all}` });
  }
  const missing = groups.filter((g) => g.cohort === 0);
  if (gate.require_each_group && missing.length > 0) {
    return withGroups({ ...common, status: 'inconclusive', reason: `${head} is inconclusive: require_each_group, and ${missing.map((g) => `${by}=${g.value}`).join(', ')} has no node in the cohort yet; ${all}` });
  }
  const judged = groups.filter((g) => g.cohort > 0);
  const verdict = judged.length > 0 && judged.every((g) => g.verdict === 'ok') ? 'ok' : 'undecided';
  const why = verdict === 'ok' ? `every group with cohort nodes is within the allowance; ${all}` : `${judged.filter((g) => g.verdict !== 'ok').map((g) => g.reason).join(' | ')}; ${all}`;
  return withGroups(finish(gate, head, base, obs, neededNodes, samples, verdict, why, test, null, null, null));
}

/**
 * A split gate where the counters come by group rather than node by node (the simulator,
 * whose nodes behave in classes): each value's cohort against the same value's baseline with
 * the pooled two-rate test, at alpha / groups.
 */
function byGroupAggregates(gate: GateSpec, by: string, head: string, base: VerdictBase, obs: GateObservation, groupsIn: NonNullable<GateObservation['groups']>, neededNodes: number, alpha: number, stage: string, now: number): Verdict {
  const values = [...groupsIn.keys()].sort();
  const samples = badEvents(gate.metric, obs.cohort)?.trials ?? obs.cohort.latency_buckets.reduce((a, b) => a + b, 0);
  const test = `baseline comparison within each ${by}, split by ${by} (alpha ${formatValue(alpha)} / ${Math.max(1, values.length)} groups)`;
  if (values.length === 0) return noSuchLabel(by, head, base, samples, test, []);
  const plain: GateSpec = { ...gate, alpha: alpha / values.length };
  delete (plain as { by?: string }).by;
  const groups = values.map((v): GroupJudgement => {
    const g = groupsIn.get(v);
    const cohortNodes = g?.cohort.nodes ?? 0;
    if (!g || cohortNodes === 0) return { value: v, cohort: 0, baseline: g?.baseline?.nodes ?? 0, verdict: null, reason: 'no cohort node with this value yet', value_read: null, baseline_read: null, interval: null };
    const sub = evaluateGate({ ...plain, min_samples: 1, min_coverage: 0 }, stage, { cohort: g.cohort, cohortNodes, baseline: g.baseline, windowMs: obs.windowMs }, now);
    const verdict = sub.status === 'fail' ? 'regression' : sub.status === 'pass' ? 'ok' : 'undecided';
    // The group's own sentence, without the gate's head (the split verdict says it once).
    const reason = sub.reason.replace(/^gate .+? on stage .+? (failed|passed|is inconclusive(?: \(not enough evidence either way yet\))?): /, '');
    return { value: v, cohort: cohortNodes, baseline: g.baseline?.nodes ?? 0, verdict, reason, value_read: sub.value, baseline_read: sub.baseline, interval: sub.interval ? [sub.interval[0], sub.interval[1]] : null };
  });
  return combineGroups(gate, by, head, base, obs, neededNodes, samples, test, groups, 0);
}

function noBaseline(gate: GateSpec, head: string, base: VerdictBase, baseline: GateObservation['baseline'], samples: number, obs: GateObservation): Verdict {
  const why = samples === 0 ? `no data from ${obs.cohortNodes} cohort nodes` : baseline ? 'the baseline has no data' : 'there is no baseline (every node is in the cohort)';
  return { ...base, status: 'inconclusive', value: null, samples, test: 'baseline comparison', reason: `${head} is inconclusive: ${why}; no data never promotes` };
}

function finish(gate: GateSpec, head: string, base: VerdictBase, obs: GateObservation, neededNodes: number, samples: number, verdict: 'regression' | 'ok' | 'undecided', why: string, test: string, value: number | null, baseline: number | null, interval: { lower: number; upper: number } | null): Verdict {
  const common = { ...base, value, baseline, samples, test, ...(interval ? { interval: [interval.lower, interval.upper] as [number, number] } : {}) };
  if (verdict === 'regression') return { ...common, status: 'fail', reason: `${head} failed: ${why}` };
  if (samples < gate.min_samples) return { ...common, status: 'inconclusive', reason: `${head} is inconclusive: ${samples} samples < min_samples ${gate.min_samples}; ${why}` };
  if (obs.cohort.nodes < neededNodes) return { ...common, status: 'inconclusive', reason: `${head} is inconclusive: only ${obs.cohort.nodes}/${obs.cohortNodes} cohort nodes reported, ${neededNodes} needed; ${why}` };
  if (verdict === 'ok') return { ...common, status: 'pass', reason: `${head} passed: ${why}` };
  return { ...common, status: 'inconclusive', reason: `${head} is inconclusive (not enough evidence either way yet): ${why}` };
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
