import type {
  Alert, CohortErrors, CohortSample, CountSample, DependencySignal, Incident, ModuleErrors, RolloutChange, RolloutState, SourceSignals, StatusPoll,
  TriageInput, VendorStatus,
} from '@failsmall/core';
import { MIX_PREFIX, SOURCE_COUNTERS, SOURCE_PREFIX, TRIAGE_WEIGHTS } from '@failsmall/core';
import type { Store } from '../store/types.ts';
import { boundCounters, boundRequests } from './node-bounds.ts';
import { requestMixSignals } from './request-mix.ts';
import { measured, STEP_MS, type CounterBucket } from './series.ts';

export { STEP_MS } from './series.ts';

/** How far before an incident triage reads its series and baselines. */
export const LOOKBACK_MS = 60 * 60_000;
/**
 * How far back rollouts are candidates: triage weighs an old rollout by its cohort, decayed by
 * age (docs/triage.md), so one that began hours ago and still splits the fleet is read too.
 */
const ROLLOUT_LOOKBACK_MS = TRIAGE_WEIGHTS.CHANGE_LOOKBACK_MS;
/** The longest window triage reads, however far back the incident's first alert claims to be. */
const MAX_WINDOW_MS = 6 * 3600_000;
/** Before this, relative to the incident, is "normal": the baselines come from there. */
const BASELINE_GAP_MS = 5 * 60_000;

/**
 * Builds triage's input for an incident from what the store recorded: agents' request and
 * error counters (fleet-wide, per module, and split by each recent rollout's cohort), the
 * rollouts of the last 24 hours (cohorts for those of the last hour and older ones still part-way),
 * external change events of the last hour, vendor status polls, the alerts and
 * failed gates, and what agents report of their clients' prefixes (`meter.source`), of what
 * requests ask for (`meter.mix`) and of the dependencies their modules call (`meter.dependency`). A family no agent reports is left out,
 * and triage lists it as a missing signal (it lowers its confidence rather than guess).
 */
export async function triageInputFor(store: Store, incident: Incident, now: number): Promise<TriageInput> {
  const from = Math.max(incident.opened_at - LOOKBACK_MS, now - MAX_WINDOW_MS);
  const baselineUntil = incident.opened_at - BASELINE_GAP_MS;
  const [raw, rollouts, external, polls, alerts, timeline, counters, artifactList] = await Promise.all([
    store.incidents.metricBuckets(from, now, STEP_MS),
    store.listRollouts({ limit: 200 }),
    store.incidents.changes(from, now),
    store.incidents.vendorPolls(from, now),
    store.incidents.alerts(incident.id),
    store.incidents.timeline(incident.id, { kinds: ['rollout'] }),
    store.incidents.counterBuckets(from, now, STEP_MS, [SOURCE_PREFIX, MIX_PREFIX, 'dep__', 'depv__']),
    store.listArtifacts(),
  ]);
  const input: { -readonly [K in keyof TriageInput]: TriageInput[K] } = {};
  // One node's say is bounded (node-bounds.ts): a node's credential must not decide the fleet's signals.
  const buckets = boundRequests(raw);

  if (buckets.length > 0) {
    const fleet = new Map<number, { requests: number; errors: number }>();
    const perModule = new Map<string, Map<number, { requests: number; errors: number }>>();
    for (const b of buckets) {
      add(fleet, b.bucket, b);
      let m = perModule.get(b.module);
      if (!m) { m = new Map(); perModule.set(b.module, m); }
      add(m, b.bucket, b);
    }
    const steps = [...fleet.keys()].sort((a, b) => a - b);
    const rps = steps.map((at) => ({ at_ms: at + STEP_MS, value: (fleet.get(at)?.requests ?? 0) / (STEP_MS / 1000) }));
    input.requests = measured(rps, baselineUntil);
    const byModule: ModuleErrors[] = [...perModule].map(([module, series]) => {
      const samples: CountSample[] = [...series].sort((a, b) => a[0] - b[0]).map(([at, c]) => ({ at_ms: at + STEP_MS, requests: c.requests, errors: c.errors }));
      return { module, baseline: ratio(samples.filter((s) => s.at_ms <= baselineUntil)), samples };
    });
    const atStep = new Map<number, typeof buckets>();
    for (const b of buckets) {
      const list = atStep.get(b.bucket) ?? [];
      list.push(b);
      atStep.set(b.bucket, list);
    }
    const byCohort: CohortErrors[] = [];
    // Recent rollouts, and older ones still splitting the fleet (running or paused part-way).
    const recent = rollouts.filter((r) => r.created_at <= now && (r.created_at >= from || (r.created_at >= now - ROLLOUT_LOOKBACK_MS && (r.status === 'running' || r.status === 'paused'))));
    // Load reports once per artifact, however many of its rollouts are read.
    const loads = new Map(await Promise.all([...new Set(recent.map((r) => r.artifact))].map(async (a) => [a, await store.listLoads(a)] as const)));
    const cohortBaseline = ratio(byModule.flatMap((m) => m.samples).filter((s) => s.at_ms <= baselineUntil));
    for (const r of recent) {
      const reports = loads.get(r.artifact) ?? [];
      const reporting = new Set(reports.map((l) => l.node_id));
      const withVersion = new Set(reports.filter((l) => l.version === r.to_version && l.at >= r.created_at && (l.ok || l.serving === r.to_version)).map((l) => l.node_id));
      for (const n of r.assigned) if (!reporting.has(n)) withVersion.add(n);
      const samples: CohortSample[] = steps.map((at) => {
        const w = { nodes: 0, requests: 0, errors: 0 };
        const o = { nodes: 0, requests: 0, errors: 0 };
        const seen = new Set<string>();
        for (const b of atStep.get(at) ?? []) {
          const side = withVersion.has(b.node_id) ? w : o;
          side.requests += b.requests;
          side.errors += b.errors;
          if (!seen.has(b.node_id)) { seen.add(b.node_id); side.nodes++; }
        }
        return { at_ms: at + STEP_MS, with_version: w, without_version: o };
      });
      byCohort.push({ rollout: r.id, version: r.to_version, baseline: cohortBaseline, samples });
    }
    input.errors = { by_module: byModule, ...(byCohort.length > 0 ? { by_cohort: byCohort } : {}) };
  }

  const custom = boundCounters(counters);
  const sources = sourceSignals(custom, baselineUntil);
  if (sources) input.sources = sources;
  const mix = requestMixSignals(custom, baselineUntil);
  if (mix) input.request_mix = mix;
  const dependencies = dependencySignals(custom, baselineUntil);
  if (dependencies.length > 0) input.dependencies = dependencies;

  const artifacts = new Map(artifactList.map((a) => [a.name, a]));
  const changes: RolloutChange[] = rollouts.filter((r) => r.created_at >= now - ROLLOUT_LOOKBACK_MS && r.created_at <= now).map((r) => ({
    id: r.id, artifact: r.artifact, module: r.module, kind: artifacts.get(r.artifact)?.kind ?? 'config', version: r.to_version,
    ...(r.from_version ? { from_version: r.from_version } : {}), started_at_ms: r.created_at, ...changeState(r),
    ...(r.touches ? { touches: r.touches } : {}),
  }));
  input.changes = { rollouts: changes, external };

  if (polls.length > 0) {
    const byVendor = new Map<string, StatusPoll[]>();
    for (const p of polls) {
      const list = byVendor.get(p.vendor) ?? [];
      list.push({ at_ms: p.at_ms, reachable: p.reachable, ...(p.indicator ? { indicator: p.indicator } : {}), ...(p.components ? { components: p.components } : {}) });
      byVendor.set(p.vendor, list);
    }
    input.vendors = [...byVendor].map(([vendor, list]): VendorStatus => ({ vendor, polls: list }));
  }

  const alertList: Alert[] = alerts.map((a) => ({ name: a.name, started_at_ms: a.starts_at, labels: a.labels }));
  for (const e of timeline) {
    if (e.kind === 'rollout' && (e.data.type === 'rollout.rolling_back' || e.data.type === 'rollout.paused') && e.data.gate) {
      alertList.push({ name: `gate ${String(e.data.gate)}`, started_at_ms: e.at, labels: { rollout: String(e.data.rollout ?? '') } });
    }
  }
  if (alertList.length === 0) alertList.push({ name: `incident ${incident.id}`, started_at_ms: incident.opened_at });
  input.alerts = alertList;
  return input;
}

/**
 * Where a rollout stands, as triage reads it: a rollout whose revert has begun is already rolled
 * back (or aborted, when an operator stopped it), with `ended_at_ms` when the revert began, so
 * triage never advises rolling it back again. A finished one ended at its last transition.
 */
function changeState(r: RolloutState): Pick<RolloutChange, 'state' | 'ended_at_ms'> {
  if (r.status === 'rolling_back') return { state: r.rollback_cause === 'abort' ? 'aborted' : 'rolled_back', ...(r.rollback_started_at !== null ? { ended_at_ms: r.rollback_started_at } : {}) };
  if (r.status === 'running' || r.status === 'paused') return { state: r.status };
  return { state: r.status, ended_at_ms: r.updated_at };
}

/**
 * Fleet source diversity per step, from the agents' counters: the request-weighted mean of the
 * nodes' entropies (a lower bound of the fleet's), and the share of never-seen prefixes.
 */
function sourceSignals(buckets: readonly CounterBucket[], baselineUntil: number): SourceSignals | undefined {
  const steps = new Map<number, { requests: number; weighted: number; neverSeen: number; neverSeenRequests: number }>();
  for (const b of buckets) {
    const n = b.counters[SOURCE_COUNTERS.requests] ?? 0;
    if (n === 0) continue;
    const s = steps.get(b.bucket) ?? { requests: 0, weighted: 0, neverSeen: 0, neverSeenRequests: 0 };
    s.requests += n;
    s.weighted += b.counters[SOURCE_COUNTERS.entropyWeighted] ?? 0;
    const neverSeen = b.counters[SOURCE_COUNTERS.neverSeen];
    if (neverSeen !== undefined) { s.neverSeen += neverSeen; s.neverSeenRequests += n; }
    steps.set(b.bucket, s);
  }
  if (steps.size === 0) return undefined;
  const ordered = [...steps].sort((a, b) => a[0] - b[0]);
  const entropy = ordered.map(([at, s]) => ({ at_ms: at + STEP_MS, value: s.weighted / s.requests / 1000 }));
  const neverSeen = ordered.filter(([, s]) => s.neverSeenRequests > 0).map(([at, s]) => ({ at_ms: at + STEP_MS, value: s.neverSeen / s.neverSeenRequests }));
  return {
    entropy_bits: measured(entropy, baselineUntil),
    ...(neverSeen.length > 0 ? { never_seen_share: measured(neverSeen, baselineUntil) } : {}),
  };
}

const DEP = /^(?:dep__(?<name>.+)|depv__(?<vendor>.+?)__(?<vname>.+))__(?<what>calls|errors|latency_ms)$/;

/** Calls to each dependency per step: mean latency (total ms / calls) and error ratio, and which modules call it. */
function dependencySignals(buckets: readonly CounterBucket[], baselineUntil: number): DependencySignal[] {
  const deps = new Map<string, { name: string; vendor?: string; used_by: Set<string>; steps: Map<number, { calls: number; errors: number; ms: number }> }>();
  for (const b of buckets) {
    for (const [k, v] of Object.entries(b.counters)) {
      const m = DEP.exec(k)?.groups;
      if (!m) continue;
      const name = m.name ?? m.vname ?? k;
      const key = `${m.vendor ?? ''}/${name}`;
      const d = deps.get(key) ?? { name, ...(m.vendor ? { vendor: m.vendor } : {}), used_by: new Set<string>(), steps: new Map() };
      d.used_by.add(b.module);
      const s = d.steps.get(b.bucket) ?? { calls: 0, errors: 0, ms: 0 };
      if (m.what === 'calls') s.calls += v; else if (m.what === 'errors') s.errors += v; else s.ms += v;
      d.steps.set(b.bucket, s);
      deps.set(key, d);
    }
  }
  return [...deps.values()].map((d) => {
    const ordered = [...d.steps].filter(([, s]) => s.calls > 0).sort((a, b) => a[0] - b[0]);
    const latency = ordered.map(([at, s]) => ({ at_ms: at + STEP_MS, value: s.ms / s.calls }));
    const errors = ordered.map(([at, s]) => ({ at_ms: at + STEP_MS, value: s.errors / s.calls }));
    return {
      name: d.name, ...(d.vendor ? { vendor: d.vendor } : {}), used_by: [...d.used_by].sort(),
      latency_ms: measured(latency, baselineUntil), error_ratio: measured(errors, baselineUntil),
    };
  });
}

function add(m: Map<number, { requests: number; errors: number }>, at: number, c: { requests: number; errors: number }): void {
  const v = m.get(at) ?? { requests: 0, errors: 0 };
  v.requests += c.requests;
  v.errors += c.errors;
  m.set(at, v);
}

function ratio(samples: readonly { requests: number; errors: number }[]): number {
  const r = samples.reduce((s, x) => s + x.requests, 0);
  return r > 0 ? samples.reduce((s, x) => s + x.errors, 0) / r : 0;
}
