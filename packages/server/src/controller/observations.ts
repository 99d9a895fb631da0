import {
  addCounters, addLoadReport, emptyAggregate, gateObservation, gateQueries, readsLoadReports,
  currentStage, type FleetNode, type GateObservation, type GateQuery, type MetricAggregate, type NodeCounters, type NodeLoad, type RolloutState,
} from '@failsmall/core';

/**
 * How far back a node's own history reaches, before the rollout began: long enough that a
 * node's rate is known to within a few percent at ordinary error rates (30 min at 100 rps and
 * 0.1% errors is 180 errors), short enough to stay close to the node as it is today.
 */
export const HISTORY_MS = 30 * 60_000;
import type { NodeRecord, Store } from '../store/types.ts';
import type { FleetView } from './fleet-view.ts';
import type { MetricsView } from './metrics-view.ts';
import type { PrometheusClient } from '../signals/index.ts';

/** The nodes a rollout of a module's artifact can reach: those that run the module (no module list means all). */
/**
 * The nodes a rollout of `artifact` (consumed by `module`) may reach: those that run the module,
 * less those where a break-glass pin holds the artifact. No rollout moves a pinned node.
 */
export function fleetFor(nodes: readonly NodeRecord[], module: string, artifact: string, o: { readonly pinned?: 'exclude' | 'only' } = {}): FleetNode[] {
  // `only`: the nodes pins keep out, so that an empty cohort can say so (routes/empty-cohort.ts).
  const keep = o.pinned === 'only' ? (held: boolean) => held : (held: boolean) => !held;
  return nodes
    // A pending node (registered with the fleet token alone) is not in any rollout's fleet.
    .filter((n) => n.enrolment !== 'pending' && (n.modules.length === 0 || n.modules.includes(module)) && keep(n.pins.some((p) => p.artifact === artifact)))
    .map((n) => ({ id: n.id, labels: n.labels }));
}

/**
 * Gathers what the pure engine needs for one decision. Loads come from each node's latest
 * load report; request metrics from the builtin signal source (agents' pushes), split
 * into the cohort and the baseline (every other node).
 * (Why load gates read reports rather than a window: see `readsLoadReports` in core.)
 */
export interface SignalSources {
  /** The installation's Prometheus, for gates with source: prometheus. */
  readonly prometheus?: PrometheusClient;
}

/** What the controller keeps in memory and synced this tick: the fleet, and the gates' metric windows. */
export interface Views {
  readonly fleet: FleetView;
  readonly metrics: MetricsView;
}

/**
 * The builtin metric windows a rollout's gates will read now (module and start), so that the
 * controller's MetricsView holds them before `observe` asks.
 */
export function metricWants(state: RolloutState, now: number): { module: string; fromMs: number }[] {
  return gateQueries(state, now)
    .filter((q) => q.gate.source !== 'prometheus' && !readsLoadReports(q.gate, state))
    .map((q) => ({ module: q.gate.module, fromMs: q.from }));
}

export async function observe(store: Store, state: RolloutState, now: number, signals: SignalSources = {}, views?: Views): Promise<{
  fleet: FleetNode[];
  loads: Map<string, NodeLoad>;
  observations: Map<string, GateObservation>;
}> {
  // The controller's in-memory fleet when it has synced one (fleet-view.ts), else read now.
  const [nodes, reports] = views ? [views.fleet.nodes(), views.fleet.loads(state.artifact)] : await Promise.all([store.listNodes(), store.listLoads(state.artifact)]);
  const fleet = fleetFor(nodes, state.module, state.artifact);
  const loads = new Map<string, NodeLoad>();
  for (const r of reports) {
    // A report of the new version from before this rollout (an earlier, rolled-back attempt at
    // the same version) says nothing about this one: the node has not reported yet.
    if (r.version === state.to_version && r.at < state.created_at) continue;
    loads.set(r.node_id, { version: r.version, ok: r.ok, serving: r.serving, error: r.error });
  }

  const observations = new Map<string, GateObservation>();
  const queries = gateQueries(state, now);
  if (queries.length === 0) return { fleet, loads, observations };
  const cohort = new Set(state.assigned);
  const pending = new Set(nodes.filter((n) => n.enrolment === 'pending').map((n) => n.id));
  const byModule = new Map<string, Awaited<ReturnType<Store['metricsByNode']>>>();

  // Cohort nodes whose agent says it cannot read a module's metrics (scrape failures), per module.
  const problemsOf = (module: string) => nodes
    .filter((n) => cohort.has(n.id))
    .flatMap((n) => (n.signal_problems ?? []).filter((p) => p.module === module).map((p) => `${n.id}: ${p.source} ${p.reason}: ${p.message}`));
  for (const q of queries) {
    const problems = readsLoadReports(q.gate, state) || q.gate.source === 'prometheus' ? [] : problemsOf(q.gate.module);
    const split = { cohort: emptyAggregate(), baseline: emptyAggregate() };
    if (q.gate.source === 'prometheus') {
      observations.set(q.gate.name, await prometheusObservation(q, state, now, signals.prometheus));
      continue;
    }
    if (readsLoadReports(q.gate, state)) {
      for (const [nodeId, load] of loads) addLoadReport(split, cohort.has(nodeId), load, state);
    } else {
      const read = async (from: number, to: number) => {
        const key = `${q.gate.module}\u0000${from}\u0000${to}`;
        let got = byModule.get(key);
        if (!got) { got = views?.metrics.byNode(q.gate.module, from, to) ?? await store.metricsByNode(q.gate.module, from, to); byModule.set(key, got); }
        return got;
      };
      // Only admitted nodes speak in a gate: a pending node's pushes are kept, never counted.
      const perNode = new Map([...(await read(q.from, q.to))].filter(([nodeId]) => !pending.has(nodeId)));
      for (const [nodeId, agg] of perNode) addCounters(cohort.has(nodeId) ? split.cohort : split.baseline, agg);
      if (q.gate.compare === 'baseline') {
        // Node by node, with each node's own history before the rollout (the old version), so
        // that the gate treats nodes as the units that vary (core stats/node-contrast.ts).
        const history = await historyOf(store, state, q.gate.module);
        const labels = new Map(nodes.map((n) => [n.id, n.labels]));
        const byNodeSplit = { cohort: [] as NodeCounters[], baseline: [] as NodeCounters[] };
        for (const [nodeId, agg] of perNode) {
          const h = history.get(nodeId);
          (cohort.has(nodeId) ? byNodeSplit.cohort : byNodeSplit.baseline).push({ node: nodeId, counters: agg, ...(h ? { history: h } : {}), labels: labels.get(nodeId) ?? {} });
        }
        observations.set(q.gate.name, { ...gateObservation(q, state, split.cohort, split.baseline, now, "builtin (agents' pushes)"), perNode: byNodeSplit, ...(problems.length > 0 ? { signalProblems: problems } : {}) });
        continue;
      }
    }
    observations.set(q.gate.name, { ...gateObservation(q, state, split.cohort, split.baseline, now, "builtin (agents' pushes)"), ...(problems.length > 0 ? { signalProblems: problems } : {}) });
  }
  return { fleet, loads, observations };
}

/**
 * Each node's counters over the HISTORY_MS before the rollout began. They never change for a
 * rollout, and reading them is the heaviest query a gate makes (every node's samples over 30
 * minutes), so they are read once per rollout and module and kept for a while.
 */
const histories = new Map<string, { readonly at: number; readonly value: Promise<Map<string, MetricAggregate>> }>();
const HISTORY_CACHE = 64;
function historyOf(store: Store, state: RolloutState, module: string): Promise<Map<string, MetricAggregate>> {
  const key = `${state.id}\u0000${module}`;
  const hit = histories.get(key);
  if (hit) return hit.value;
  const value = store.metricsByNode(module, state.created_at - HISTORY_MS, state.created_at - 1);
  // A failed read is not kept: the next evaluation reads again.
  value.catch(() => histories.delete(key));
  histories.set(key, { at: Date.now(), value });
  if (histories.size > HISTORY_CACHE) {
    const oldest = [...histories.entries()].sort((a, b) => a[1].at - b[1].at)[0];
    if (oldest) histories.delete(oldest[0]);
  }
  return value;
}

/** Cohort nodes whose agent Prometheus has scraped at least twice in the window (rate() needs two samples). */
export const DEFAULT_COVERAGE_QUERY = 'count(count_over_time(failsmall_agent_seconds_since_contact{ {{cohort_selector}} }[{{window}}]) >= 2)';

/**
 * A Prometheus gate reads its query for the cohort: the value, or why there is none (no
 * Prometheus configured, no series, NaN, several series, a timeout, an HTTP error, an
 * unreachable server), which the gate turns into an inconclusive verdict.
 */
async function prometheusObservation(q: GateQuery, state: RolloutState, now: number, prometheus: PrometheusClient | undefined): Promise<GateObservation> {
  const common = { cohort: { ...emptyAggregate(), nodes: state.assigned.length }, cohortNodes: state.assigned.length, baseline: null, windowMs: q.gate.window_ms };
  const template = q.gate.query ?? '';
  if (!prometheus) {
    return { ...common, query: template, direct: { value: null, problem: 'no Prometheus is configured for this control plane (failsmall serve --prometheus-url URL)' } };
  }
  const vars = { cohort: state.assigned, windowMs: q.gate.window_ms, intervalMs: currentStage(state).interval_ms };
  const coverageTemplate = q.gate.coverage_query ?? DEFAULT_COVERAGE_QUERY;
  const [r, coverage] = await Promise.all([
    prometheus.queryTemplate(template, vars, { atMs: now }),
    coverageTemplate === 'none' ? Promise.resolve(undefined) : prometheus.queryTemplate(coverageTemplate, vars, { atMs: now }),
  ]);
  const query = 'query' in r ? r.query : template;
  if (!r.ok) return { ...common, query, direct: { value: null, problem: `Prometheus ${r.code}: ${r.message}` } };
  if (coverage !== undefined) {
    // A value from half the cohort is not the cohort's value: count the nodes Prometheus has enough of.
    const scraped = coverage.ok ? Math.round(coverage.value) : coverage.code === 'NO_DATA' ? 0 : null;
    if (scraped === null) return { ...common, query, direct: { value: null, problem: `coverage query: Prometheus ${coverage.code}: ${coverage.message}` } };
    const needed = Math.max(1, Math.ceil(q.gate.min_coverage * state.assigned.length - 1e-9));
    common.cohort.nodes = scraped;
    if (scraped < needed) return { ...common, query, direct: { value: null, problem: `Prometheus has enough samples of only ${scraped}/${state.assigned.length} cohort nodes (${needed} needed)` } };
  }
  if (q.gate.compare !== 'baseline') return { ...common, query, direct: { value: r.value } };
  // The same query over the nodes outside the cohort.
  const b = await prometheus.queryTemplate(template.replace(/\{\{\s*cohort_selector\s*\}\}/g, '{{baseline_selector}}'), vars, { atMs: now });
  if (!b.ok) return { ...common, query, direct: { value: r.value, baseline: null, problem: `baseline: Prometheus ${b.code}: ${b.message}` } };
  return { ...common, query, direct: { value: r.value, baseline: b.value } };
}
