import type {
  PostmortemAlert, PostmortemBreakglass, PostmortemChange, PostmortemExposure, PostmortemFacts, PostmortemInterval, PostmortemTierCounts, PostmortemTriage,
  ValidationCheck,
} from '@failsmall/core';
import type { ArtifactKind, OnLoadFailure, Verdict } from '@failsmall/core';

/**
 * A bad rollout whose truth is known, second by second: every node serves a fixed number of
 * requests a second; a cohort node that has the bad version fails every `fail_every`-th
 * request from the second it loads it until the second the rollback reaches it. Cohort
 * node i loads at `start + load_after_ms + i·stagger_ms` and is rolled back at
 * `gate + rollback_after_ms + i·stagger_ms`. No randomness: tests compute the expected
 * numbers from these parameters in closed form and compare them with the postmortem's.
 */
export interface BadRolloutScenario {
  /** When the rollout starts (its canary cohort is assigned). ms since the epoch, on a whole second. */
  readonly start_ms: number;
  /** Metrics are summed over intervals of this length, from `start_ms` on. */
  readonly interval_ms: number;
  /** How long the recorded traffic window lasts, from `start_ms`. */
  readonly window_ms: number;
  /** Nodes are `<tier>-node-0001`…; each hosts `customers_per_node` customers. */
  readonly tiers: readonly { readonly name: string; readonly nodes: number; readonly requests_per_node_s: number; readonly customers_per_node: number }[];
  /** The canary cohort: the first `nodes` nodes of `tier`. */
  readonly canary: { readonly tier: string; readonly nodes: number; readonly stage: string; readonly interval_ms: number };
  readonly load_after_ms: number;
  readonly stagger_ms: number;
  /** On a bad node, one request in `fail_every` fails (requests_per_node_s must divide by it). */
  readonly fail_every: number;
  /** The gate fails this long after the start; the rollback starts then. */
  readonly gate_after_ms: number;
  readonly rollback_after_ms: number;
  readonly artifact: {
    readonly name: string; readonly kind: ArtifactKind; readonly from: string; readonly to: string;
    readonly validation: readonly ValidationCheck[];
  };
  readonly module: { readonly name: string; readonly on_load_failure: OnLoadFailure; readonly reason: string | null; readonly load_fails: boolean };
  readonly gate: { readonly name: string; readonly metric: string; readonly threshold: number; readonly window_ms: number };
  readonly rollout_id: string;
  readonly incident: { readonly id: string; readonly resolved_after_ms: number };
  // Below, every `after_ms` counts from start_ms and every `before_ms` back from it.
  readonly alerts: readonly { readonly name: string; readonly after_ms: number; readonly count: number }[];
  readonly triage: readonly { readonly after_ms: number; readonly class: string; readonly confidence: number; readonly first_action: string }[];
  readonly breakglass: readonly { readonly after_ms: number; readonly operator: string; readonly action: PostmortemBreakglass['action']; readonly target: string; readonly applied: boolean }[];
  readonly changes: readonly { readonly id: string; readonly before_ms: number; readonly summary: string }[];
  /** Free-text notes a responder added to the timeline (internal names, URLs). */
  readonly notes: readonly { readonly after_ms: number; readonly text: string }[];
}

/**
 * The 18 November 2025 shape under failsmall: a generated bot-management feature file over its
 * 200-entry limit reaches a 1% canary of the free tier; the fail-closed module hard-fails where
 * the validator rejects it, the canary's error-rate gate fails and the rollout rolls back.
 * Triage first suspects a DDoS, then settles on the change.
 */
export const NOV18_CANARY: BadRolloutScenario = {
  start_ms: Date.UTC(2025, 10, 18, 11, 5, 0),
  interval_ms: 10_000,
  window_ms: 180_000,
  tiers: [
    { name: 'free', nodes: 600, requests_per_node_s: 40, customers_per_node: 3 },
    { name: 'pro', nodes: 300, requests_per_node_s: 80, customers_per_node: 2 },
    { name: 'enterprise', nodes: 100, requests_per_node_s: 200, customers_per_node: 1 },
  ],
  canary: { tier: 'free', nodes: 10, stage: 'canary', interval_ms: 10_000 },
  load_after_ms: 4_000,
  stagger_ms: 1_000,
  fail_every: 4,
  gate_after_ms: 18_000,
  rollback_after_ms: 6_000,
  artifact: { name: 'bot-management-features', kind: 'feature-file', from: 'v2025.11.18-1100', to: 'v2025.11.18-1105', validation: ['max_entries'] },
  module: { name: 'bot-management', on_load_failure: 'fail-closed', reason: 'a missing bot score must never let a bot through', load_fails: true },
  gate: { name: 'proxy/error_rate', metric: 'error_rate', threshold: 0.001, window_ms: 30_000 },
  rollout_id: 'ro-7f3a9c',
  incident: { id: 'inc-2025-1118-01', resolved_after_ms: 20 * 60_000 },
  alerts: [{ name: 'BotManagementErrorsHigh', after_ms: 75_000, count: 3 }],
  triage: [
    { after_ms: 18_000 + 40_000, class: 'ddos', confidence: 0.55, first_action: 'Check edge-lb-07.internal.example for a request surge from never-seen sources' },
    { after_ms: 18_000 + 220_000, class: 'change-regression', confidence: 0.91, first_action: 'Keep rollout ro-7f3a9c rolled back; bot-management-features v2025.11.18-1105 has 412 entries' },
  ],
  breakglass: [],
  changes: [{ id: 'CHG-88213', before_ms: 10 * 60_000, summary: 'grant r0 read on ch-cluster-3 default database' }],
  notes: [{ after_ms: 18_000 + 300_000, text: 'paged ana.silva; runbook https://wiki.internal.example/runbooks/bot-management' }],
};

export function nodeId(tier: string, i: number): string {
  return `${tier}-node-${String(i + 1).padStart(4, '0')}`;
}

type TimelineEntry = PostmortemFacts['timeline'][number];

/** The facts the server would record for the scenario. */
export function badRolloutFacts(s: BadRolloutScenario): PostmortemFacts {
  const gateAt = s.start_ms + s.gate_after_ms;
  const cohort = Array.from({ length: s.canary.nodes }, (_, i) => nodeId(s.canary.tier, i));
  const badFrom = (i: number): number => s.start_ms + s.load_after_ms + i * s.stagger_ms;
  const badUntil = (i: number): number => gateAt + s.rollback_after_ms + i * s.stagger_ms;
  const rolledBackAt = badUntil(s.canary.nodes - 1);
  const openedAt = gateAt;

  const intervals: PostmortemInterval[] = [];
  for (let at = s.start_ms; at < s.start_ms + s.window_ms; at += s.interval_ms) {
    const byTier: Record<string, PostmortemTierCounts> = {};
    for (const tier of s.tiers) {
      let errors = 0;
      const nodes: string[] = [];
      const customers: string[] = [];
      for (let i = 0; i < tier.nodes; i++) {
        const bad = tier.name === s.canary.tier && i < s.canary.nodes ? badSeconds(at, at + s.interval_ms, badFrom(i), badUntil(i)) : 0;
        if (bad === 0) continue;
        errors += (bad * tier.requests_per_node_s) / s.fail_every;
        nodes.push(nodeId(tier.name, i));
        for (let c = 0; c < tier.customers_per_node; c++) customers.push(`cust-${nodeId(tier.name, i)}-${c + 1}`);
      }
      byTier[tier.name] = {
        requests: (tier.nodes * tier.requests_per_node_s * s.interval_ms) / 1000, errors, nodes_with_errors: nodes, customers_with_errors: customers,
      };
    }
    intervals.push({ at, by_tier: byTier });
  }

  const canaryTier = s.tiers.find((t) => t.name === s.canary.tier);
  const perNode = canaryTier?.requests_per_node_s ?? 0;
  const gateFrom = gateAt - s.gate.window_ms;
  const gateSamples = (s.canary.nodes * perNode * s.gate.window_ms) / 1000;
  const gateErrors = cohort.reduce((n, _, i) => n + (badSeconds(gateFrom, gateAt, badFrom(i), badUntil(i)) * perNode) / s.fail_every, 0);
  const value = gateErrors / gateSamples;
  const verdict: Verdict = {
    gate: s.gate.name, stage: s.canary.stage, module: s.module.name, metric: s.gate.metric, status: 'fail', value, direction: 'max',
    threshold: s.gate.threshold, samples: gateSamples, min_samples: 100, nodes: s.canary.nodes, cohort_nodes: s.canary.nodes,
    window_ms: s.gate.window_ms, baseline: 0, baseline_samples: 0, query: `${s.module.name}:${s.gate.metric}`, basis: 'window', at: gateAt,
    reason: `gate ${s.gate.name} failed on stage ${s.canary.stage}: ${Number(value.toPrecision(3))} > ${s.gate.threshold} over ${s.gate.window_ms / 1000} s, ${gateSamples} samples from ${s.canary.nodes} nodes (baseline 0)`,
  };

  const title = `Gate ${s.gate.name} failed on stage ${s.canary.stage} of ${s.artifact.name} ${s.artifact.to}`;
  const timeline: TimelineEntry[] = [
    { seq: 1, incident_id: s.incident.id, at: openedAt, kind: 'rollout', text: verdict.reason, data: { rollout_id: s.rollout_id } },
    ...s.notes.map((n, i): TimelineEntry => ({ seq: 2 + i, incident_id: s.incident.id, at: s.start_ms + n.after_ms, kind: 'note', text: n.text, data: {} })),
  ];
  const triage: PostmortemTriage[] = s.triage.map((t) => ({ at: s.start_ms + t.after_ms, class: t.class, confidence: t.confidence, first_action: t.first_action }));
  const alerts: PostmortemAlert[] = s.alerts.map((a) => ({ name: a.name, started_at: s.start_ms + a.after_ms, count: a.count }));
  const breakglass: PostmortemBreakglass[] = s.breakglass.map((b) => ({
    at: s.start_ms + b.after_ms, operator: b.operator, action: b.action, target: b.target, version: null, nodes: cohort, nodes_applied: b.applied ? cohort : [],
  }));
  const changes: PostmortemChange[] = s.changes.map((c) => ({ id: c.id, at: s.start_ms - c.before_ms, summary: c.summary }));

  return {
    incident: {
      id: s.incident.id, title, severity: 'sev2', status: 'resolved', opened_by: 'gate', opened_at: openedAt,
      resolved_at: s.start_ms + s.incident.resolved_after_ms, rollout_id: s.rollout_id,
    },
    timeline,
    rollouts: [{
      id: s.rollout_id, artifact: s.artifact.name, kind: s.artifact.kind, module: s.module.name, from_version: s.artifact.from, to_version: s.artifact.to,
      started_at: s.start_ms, status: 'rolled_back',
      stages: [{ name: s.canary.stage, started_at: s.start_ms, nodes: s.canary.nodes, interval_ms: s.canary.interval_ms }],
      fleet_nodes: s.tiers.reduce((n, t) => n + t.nodes, 0), failed_gate: verdict,
      rollback_started_at: gateAt, rollback_cause: 'gate', rolled_back_at: rolledBackAt, aborted_at: null, paused_at: null, completed_at: null,
      validation: s.artifact.validation, unreported_nodes: [], exposure: exposureOf(s, rolledBackAt, badFrom, badUntil),
    }],
    modules: [{ name: s.module.name, on_load_failure: s.module.on_load_failure, reason: s.module.reason, nodes_failed_load: s.module.load_fails ? cohort : [] }],
    impact: {
      label: 'customer_tier',
      interval_ms: s.interval_ms,
      intervals,
      nodes_total_by_tier: Object.fromEntries(s.tiers.map((t) => [t.name, t.nodes])),
      customers_total_by_tier: Object.fromEntries(s.tiers.map((t) => [t.name, t.nodes * t.customers_per_node])),
      baseline: null,
    },
    triage,
    breakglass,
    alerts,
    changes,
  };
}

/**
 * The canary's nodes from the rollout's start to the end of its rollback: every request they
 * served and every one that failed; the other nodes, which never fail here, are the background.
 */
function exposureOf(s: BadRolloutScenario, to: number, badFrom: (i: number) => number, badUntil: (i: number) => number): PostmortemExposure {
  const seconds = (to - s.start_ms) / 1000;
  const perNode = s.tiers.find((t) => t.name === s.canary.tier)?.requests_per_node_s ?? 0;
  let errors = 0;
  for (let i = 0; i < s.canary.nodes; i++) errors += (badSeconds(s.start_ms, to, badFrom(i), badUntil(i)) * perNode) / s.fail_every;
  const fleet = s.tiers.reduce((n, t) => n + t.nodes, 0);
  const fleetRps = s.tiers.reduce((n, t) => n + t.nodes * t.requests_per_node_s, 0);
  return {
    from: s.start_ms, to, nodes: s.canary.nodes, requests: s.canary.nodes * perNode * seconds, errors,
    baseline: { source: 'other-nodes', nodes: fleet - s.canary.nodes, requests: (fleetRps - s.canary.nodes * perNode) * seconds, errors: 0 },
  };
}

/** Whole seconds of [from, to) during which the node was bad. */
function badSeconds(from: number, to: number, badFrom: number, badUntil: number): number {
  return Math.max(0, Math.min(to, badUntil) - Math.max(from, badFrom)) / 1000;
}
