import type {
  BreakglassAction, Incident, PostmortemBackground, PostmortemBreakglass, PostmortemExposure, PostmortemFacts, PostmortemImpact, PostmortemInterval, PostmortemModule,
  PostmortemRollout, PostmortemStage, PostmortemTriage, ValidationCheck,
} from '@failsmall/core';
import type { Store } from '../store/types.ts';

/** The impact is counted per minute. */
const IMPACT_STEP_MS = 60_000;
/** Before the change: the reference window of the baseline error ratio. */
const BASELINE_MS = 30 * 60_000;
/** Rollouts started this long before the incident count as involved. */
const LOOKBACK_MS = 60 * 60_000;
/** The node labels that name a tier, in order of preference. */
const TIER_LABELS = ['customer_tier', 'tier'];

/**
 * Gathers a postmortem's facts from what the store recorded, and nothing else: the incident
 * and its timeline, the rollouts involved (their persisted state and event log), the modules
 * and artifacts as declared, agents' request counters per minute and tier, triage results,
 * break-glass commands the nodes reported, alerts and external changes. What was not recorded
 * stays null, and the draft says "not recorded". Customers per tier are not recorded by
 * failsmall (agents count requests, not customers).
 */
export async function postmortemFactsFor(store: Store, incident: Incident, now: number): Promise<PostmortemFacts> {
  const end = incident.resolved_at ?? now;
  const timeline = await store.incidents.timeline(incident.id);
  const all = await store.listRollouts({ limit: 500 });
  const involved = all.filter((r) => r.id === incident.rollout_id || (r.created_at >= incident.opened_at - LOOKBACK_MS && r.created_at <= end));
  const rollouts: PostmortemRollout[] = [];
  const modules = new Map<string, PostmortemModule>();
  for (const r of involved) {
    const events = await store.listEvents({ rolloutId: r.id, limit: 5000 });
    const artifact = await store.getArtifact(r.artifact);
    const stages: PostmortemStage[] = events.filter((e) => e.type === 'rollout.stage_started').map((e) => {
      const index = Number(e.payload.stage_index ?? 0);
      return { name: String(e.payload.stage), started_at: e.at, nodes: Number(e.payload.cohort_nodes ?? 0), interval_ms: r.policy_spec.stages[index]?.interval_ms ?? 0 };
    });
    const started = events.find((e) => e.type === 'rollout.started');
    const loads = await store.listLoads(r.artifact);
    const reported = new Set(loads.filter((l) => l.at >= r.created_at).map((l) => l.node_id));
    const validation = artifact?.validation;
    const rolledBackAt = events.find((e) => e.type === 'rollout.rolled_back')?.at ?? null;
    const abortedAt = events.find((e) => e.type === 'rollout.aborted')?.at ?? null;
    rollouts.push({
      id: r.id, artifact: r.artifact, kind: artifact?.kind ?? null, module: r.module, from_version: r.from_version, to_version: r.to_version,
      started_at: r.created_at, status: r.status, stages,
      fleet_nodes: started && typeof started.payload.fleet_nodes === 'number' ? started.payload.fleet_nodes : null,
      failed_gate: r.outcome?.verdict ?? null,
      rollback_started_at: r.rollback_started_at,
      rollback_cause: r.rollback_cause,
      rolled_back_at: rolledBackAt,
      aborted_at: abortedAt,
      paused_at: r.status === 'paused' ? (events.findLast((e) => e.type === 'rollout.paused')?.at ?? null) : null,
      completed_at: events.find((e) => e.type === 'rollout.completed')?.at ?? null,
      // Until its revert finished; a version never reverted is measured to the end of the window.
      exposure: await exposureOf(store, new Set(r.assigned), r.created_at, rolledBackAt ?? abortedAt ?? end),
      validation: artifact ? (['max_bytes', 'max_entries', 'json_schema', 'command'] as const).filter((k) => validation?.[k] !== undefined) as ValidationCheck[] : null,
      unreported_nodes: r.assigned.filter((n) => !reported.has(n)),
    });
    if (!modules.has(r.module)) {
      const decl = await store.getModule(r.module);
      modules.set(r.module, {
        name: r.module, on_load_failure: decl?.on_load_failure ?? null, reason: decl?.on_load_failure === 'fail-closed' ? (decl.reason ?? null) : null,
        nodes_failed_load: [...new Set(loads.filter((l) => !l.ok && l.at >= r.created_at && l.at <= end).map((l) => l.node_id))].sort(),
      });
    }
  }

  // At most a day of traffic: an alert whose startsAt is days old must not make one request read weeks of samples.
  const start = Math.max(Math.min(incident.opened_at, ...rollouts.map((r) => r.started_at)), end - 24 * 3600_000);
  // Every module's requests: a bad file for one module often fails requests in another (18 November: bot-management's file crashed the proxy).
  const impact = await impactOf(store, start, end);

  const triage: PostmortemTriage[] = timeline.filter((e) => e.kind === 'triage').flatMap((e) => {
    const top = (e.data.triage as { hypotheses?: { class: string; confidence: number; first_action: string }[] } | undefined)?.hypotheses?.[0];
    return top ? [{ at: e.at, class: top.class, confidence: top.confidence, first_action: top.first_action }] : [];
  });

  const reports = (await store.listBreakglass({ limit: 5000 })).filter((b) => Date.parse(String(b.at)) >= start && Date.parse(String(b.at)) <= end && typeof b.action === 'string' && b.action !== 'drill');
  const runs = new Map<string, { at: number; operator: string; action: BreakglassAction; target: string; version: string | null; nodes: Set<string>; applied: Set<string> }>();
  for (const b of reports) {
    // One fan-out signs one command per node, all with the same issue time: that is one use.
    const key = [b.issued_at, b.operator, b.action, b.target, b.version ?? ''].join('|');
    const run = runs.get(key) ?? { at: Date.parse(String(b.at)), operator: String(b.operator ?? '?'), action: b.action as BreakglassAction, target: String(b.target ?? ''), version: typeof b.version === 'string' ? b.version : null, nodes: new Set(), applied: new Set() };
    run.at = Math.min(run.at, Date.parse(String(b.at)));
    run.nodes.add(b.node_id);
    if (b.outcome === 'applied') run.applied.add(b.node_id);
    runs.set(key, run);
  }
  const breakglass: PostmortemBreakglass[] = [...runs.values()].sort((a, b) => a.at - b.at).map((r) => ({
    at: r.at, operator: r.operator, action: r.action, target: r.target, version: r.version, nodes: [...r.nodes].sort(), nodes_applied: [...r.applied].sort(),
  }));

  const alertRows = await store.incidents.alerts(incident.id);
  const alerts = new Map<string, { name: string; started_at: number; count: number }>();
  for (const a of alertRows) {
    const g = alerts.get(a.name) ?? { name: a.name, started_at: a.starts_at, count: 0 };
    g.count++;
    g.started_at = Math.min(g.started_at, a.starts_at);
    alerts.set(a.name, g);
  }
  const changes = (await store.incidents.changes(start - LOOKBACK_MS, end)).map((c) => ({ id: c.id, at: Date.parse(c.timestamp), summary: c.summary }));

  return { incident, timeline, rollouts, modules: [...modules.values()], impact, triage, breakglass, alerts: [...alerts.values()], changes };
}

/**
 * What a rollout's version did on the nodes that received it over [from, to], every module's
 * requests and failures, and the background to measure it against: the other nodes over the
 * same time, else (it reached every node) the same nodes in the BASELINE_MS before. null when
 * its nodes recorded no traffic.
 */
async function exposureOf(store: Store, nodes: ReadonlySet<string>, from: number, to: number): Promise<PostmortemExposure | null> {
  const until = Math.min(Math.max(from, to), from + 24 * 3600_000);
  const buckets = await store.incidents.metricBuckets(from, until, IMPACT_STEP_MS);
  const on = sumOf(buckets.filter((b) => nodes.has(b.node_id)));
  if (on.requests === 0) return null;
  const others = sumOf(buckets.filter((b) => !nodes.has(b.node_id)));
  let baseline: PostmortemBackground | null = others.requests > 0 ? { source: 'other-nodes', ...others } : null;
  if (baseline === null) {
    const before = sumOf((await store.incidents.metricBuckets(from - BASELINE_MS, from - 1, IMPACT_STEP_MS)).filter((b) => nodes.has(b.node_id)));
    baseline = before.requests > 0 ? { source: 'before-change', ...before } : null;
  }
  return { from, to: until, nodes: nodes.size, requests: on.requests, errors: on.errors, baseline };
}

/** Requests and errors summed over metric rows, and the nodes that served any. */
function sumOf(rows: readonly { node_id: string; requests: number; errors: number }[]): { nodes: number; requests: number; errors: number } {
  const serving = new Set(rows.filter((b) => b.requests > 0).map((b) => b.node_id));
  return { nodes: serving.size, requests: rows.reduce((n, b) => n + b.requests, 0), errors: rows.reduce((n, b) => n + b.errors, 0) };
}

/** Requests and errors per minute and tier from the agents' counters; null when none were recorded. */
async function impactOf(store: Store, start: number, end: number): Promise<PostmortemImpact | null> {
  const from = Math.floor(start / IMPACT_STEP_MS) * IMPACT_STEP_MS;
  const buckets = await store.incidents.metricBuckets(from, end, IMPACT_STEP_MS);
  if (buckets.length === 0) return null;
  const nodes = await store.listNodes();
  const label = TIER_LABELS.find((l) => nodes.some((n) => n.labels[l] !== undefined)) ?? null;
  const tierOf = new Map(nodes.map((n) => [n.id, label ? (n.labels[label] ?? 'unlabelled') : 'all']));
  const byAt = new Map<number, Map<string, { requests: number; errors: number; nodes: Set<string> }>>();
  for (const b of buckets) {
    const tiers = byAt.get(b.bucket) ?? new Map();
    const tier = tierOf.get(b.node_id) ?? 'unregistered';
    const t = tiers.get(tier) ?? { requests: 0, errors: 0, nodes: new Set<string>() };
    t.requests += b.requests;
    t.errors += b.errors;
    if (b.errors > 0) t.nodes.add(b.node_id);
    tiers.set(tier, t);
    byAt.set(b.bucket, tiers);
  }
  const intervals: PostmortemInterval[] = [...byAt].sort((a, b) => a[0] - b[0]).map(([at, tiers]) => ({
    at, by_tier: Object.fromEntries([...tiers].map(([tier, t]) => [tier, { requests: t.requests, errors: t.errors, nodes_with_errors: [...t.nodes].sort() }])),
  }));
  const before = await store.incidents.metricBuckets(from - BASELINE_MS, from - 1, IMPACT_STEP_MS);
  const nodesByTier: Record<string, number> = {};
  for (const tier of tierOf.values()) nodesByTier[tier] = (nodesByTier[tier] ?? 0) + 1;
  return {
    label: label ?? 'tier', interval_ms: IMPACT_STEP_MS, intervals, nodes_total_by_tier: nodesByTier, customers_total_by_tier: null,
    baseline: before.length > 0 ? { from: from - BASELINE_MS, to: from, requests: before.reduce((s, b) => s + b.requests, 0), errors: before.reduce((s, b) => s + b.errors, 0) } : null,
  };
}
