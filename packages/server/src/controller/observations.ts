import {
  addCounters, emptyAggregate, gateQueries, type FleetNode, type GateObservation, type NodeLoad, type RolloutState,
} from '@failsmall/core';
import type { NodeRecord, Store } from '../store/types.ts';

/** The nodes a rollout of a module's artifact can reach: those that run the module (no module list means all). */
export function fleetFor(nodes: readonly NodeRecord[], module: string): FleetNode[] {
  return nodes.filter((n) => n.modules.length === 0 || n.modules.includes(module)).map((n) => ({ id: n.id, labels: n.labels }));
}

/**
 * Gathers what the pure engine needs for one decision. Loads come from each node's latest
 * load report; request metrics from the builtin signal source (agents' pushes), split
 * into the cohort and the baseline (every other node).
 *
 * A load gate on the artifact's own module reads load reports rather than load counters in a
 * window: a node loads a version once, so a sliding window would forget a load that happened
 * one window ago and call a healthy stage inconclusive.
 */
export async function observe(store: Store, state: RolloutState, now: number): Promise<{
  fleet: FleetNode[];
  loads: Map<string, NodeLoad>;
  observations: Map<string, GateObservation>;
}> {
  const [nodes, reports] = await Promise.all([store.listNodes(), store.listLoads(state.artifact)]);
  const fleet = fleetFor(nodes, state.module);
  const loads = new Map<string, NodeLoad>();
  for (const r of reports) loads.set(r.node_id, { version: r.version, ok: r.ok, serving: r.serving, error: r.error });

  const observations = new Map<string, GateObservation>();
  const queries = gateQueries(state, now);
  if (queries.length === 0) return { fleet, loads, observations };
  const cohort = new Set(state.assigned);
  const byModule = new Map<string, Awaited<ReturnType<Store['metricsByNode']>>>();

  for (const q of queries) {
    const inCohort = emptyAggregate();
    const outside = emptyAggregate();
    if (q.gate.metric === 'load_success_rate' && q.gate.module === state.module) {
      for (const [nodeId, load] of loads) {
        if (cohort.has(nodeId)) {
          if (load.version !== state.to_version) continue;
          addCounters(inCohort, { requests: 0, errors: 0, loads_attempted: 1, loads_succeeded: load.ok ? 1 : 0, latency_buckets: [], counters: {} });
        } else if (load.version !== null && load.version === state.from_version) {
          addCounters(outside, { requests: 0, errors: 0, loads_attempted: 1, loads_succeeded: load.ok ? 1 : 0, latency_buckets: [], counters: {} });
        }
      }
    } else {
      const key = `${q.gate.module}\u0000${q.from}\u0000${q.to}`;
      let perNode = byModule.get(key);
      if (!perNode) { perNode = await store.metricsByNode(q.gate.module, q.from, q.to); byModule.set(key, perNode); }
      for (const [nodeId, agg] of perNode) addCounters(cohort.has(nodeId) ? inCohort : outside, agg);
    }
    const fromReports = q.gate.metric === 'load_success_rate' && q.gate.module === state.module;
    observations.set(q.gate.name, {
      cohort: inCohort, cohortNodes: state.assigned.length,
      baseline: outside.nodes > 0 ? outside : null,
      windowMs: fromReports ? now - state.stage_started_at : q.to - q.from,
      basis: fromReports ? 'latest-report' : 'window',
      query: fromReports
        ? `latest load report per node of ${state.artifact}@${state.to_version} (baseline: @${state.from_version ?? 'none'})`
        : `builtin ${q.gate.module}/${q.gate.metric}, agents' pushes in [now-${q.to - q.from}ms, now]`,
    });
  }
  return { fleet, loads, observations };
}
