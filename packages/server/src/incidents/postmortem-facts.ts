import {
  revertedAt, rolloutFacts, type BreakglassAction, type Incident, type PostmortemBackground, type PostmortemBreakglass, type PostmortemExposure, type PostmortemFacts,
  type PostmortemImpact, type PostmortemInterval, type PostmortemModule, type PostmortemRollout, type PostmortemStage, type PostmortemTriage,
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
    const loads = await store.listLoads(r.artifact);
    const reported = new Set(loads.filter((l) => l.at >= r.created_at).map((l) => l.node_id));
    const facts = rolloutFacts(r, events, { kind: artifact?.kind ?? null, validation: artifact ? artifact.validation : null, unreported_nodes: r.assigned.filter((n) => !reported.has(n)), exposure: null });
    // Until its revert finished; a version never reverted is measured to the end of the window.
    rollouts.push({ ...facts, exposure: await exposureOf(store, r.assigned, facts.stages, r.created_at, revertedAt(events) ?? end) });
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
 * What a rollout's version did on the nodes that received it, from its start to `to`, every
 * module's requests and failures, and the background to measure it against. Each stage's
 * nodes count from that stage's start (cohorts are nested, in `assigned` order); until then,
 * and for the nodes it never reached, they are the background, over the same time. When it
 * reached every node, the background is the same nodes in the BASELINE_MS before. null when
 * its nodes recorded no traffic.
 */
async function exposureOf(store: Store, assigned: readonly string[], stages: readonly PostmortemStage[], from: number, to: number): Promise<PostmortemExposure | null> {
  const until = Math.min(Math.max(from, to), from + 24 * 3600_000);
  const steps = stages.length > 0 ? stages : [{ started_at: from, nodes: assigned.length }];
  const on = { requests: 0, errors: 0 };
  const off = { requests: 0, errors: 0 };
  const reached = new Set(assigned);
  const never = new Set<string>();
  for (const [k, stage] of steps.entries()) {
    const start = Math.max(from, stage.started_at);
    const next = steps[k + 1]?.started_at;
    const end = next !== undefined ? Math.min(until, next - 1) : until;
    if (end < start) continue;
    const holding = new Set(assigned.slice(0, stage.nodes));
    const rows = await store.incidents.metricBuckets(start, end, end - start + 1);
    add(on, rows.filter((b) => holding.has(b.node_id)));
    const rest = rows.filter((b) => !holding.has(b.node_id));
    add(off, rest);
    for (const b of rest) if (b.requests > 0 && !reached.has(b.node_id)) never.add(b.node_id);
  }
  if (on.requests === 0) return null;
  let baseline: PostmortemBackground | null = off.requests > 0 ? { source: 'other-nodes', nodes: never.size, ...off } : null;
  if (baseline === null) {
    const before = (await store.incidents.metricBuckets(from - BASELINE_MS, from - 1, IMPACT_STEP_MS)).filter((b) => reached.has(b.node_id));
    const sums = { requests: 0, errors: 0 };
    add(sums, before);
    baseline = sums.requests > 0 ? { source: 'before-change', nodes: new Set(before.map((b) => b.node_id)).size, ...sums } : null;
  }
  return { from, to: until, nodes: assigned.length, requests: on.requests, errors: on.errors, baseline };
}

/** Adds metric rows' requests and errors into `into`. */
function add(into: { requests: number; errors: number }, rows: readonly { requests: number; errors: number }[]): void {
  for (const b of rows) {
    into.requests += b.requests;
    into.errors += b.errors;
  }
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
