import { measureExcess, type AttributableData } from './excess.ts';
import type { PostmortemFacts, PostmortemImpact, PostmortemInterval } from './facts.ts';
import { iso } from './format.ts';

/**
 * Impact in numbers. The window's fields are sums or counts over the recorded intervals, over
 * every node and any cause; `attributable` is what the change did on the nodes that received
 * it, beyond the background. null: not recorded.
 */
export interface ImpactData {
  /** The node label the tiers are values of. */
  readonly label: string | null;
  readonly window_from: string | null;
  readonly window_to: string | null;
  readonly interval_s: number | null;
  /** Start of the first interval whose failed share is above the baseline's (above zero without a baseline). */
  readonly started_at: string | null;
  /** End of the last such interval. */
  readonly ended_at: string | null;
  readonly duration_s: number | null;
  readonly requests: number | null;
  readonly failed_requests: number | null;
  readonly failed_share: number | null;
  readonly baseline_failed_share: number | null;
  readonly nodes_affected: number | null;
  readonly nodes_total: number | null;
  readonly customers_affected: number | null;
  readonly customers_total: number | null;
  readonly by_tier: readonly TierImpact[];
  /** The trigger rollout's excess failed requests on the nodes it reached; null without a rollout or its exposure. */
  readonly attributable: AttributableData | null;
}

export interface TierImpact {
  readonly tier: string;
  readonly requests: number;
  readonly failed_requests: number;
  readonly failed_share: number | null;
  readonly nodes_affected: number;
  readonly nodes_total: number | null;
  readonly customers_affected: number | null;
  readonly customers_total: number | null;
}

/** The impact, with the times (ms) the other sections reason with. */
export interface MeasuredImpact {
  readonly data: ImpactData;
  readonly started_ms: number | null;
  readonly ended_ms: number | null;
}

const NONE: ImpactData = {
  label: null, window_from: null, window_to: null, interval_s: null, started_at: null, ended_at: null, duration_s: null,
  requests: null, failed_requests: null, failed_share: null, baseline_failed_share: null,
  nodes_affected: null, nodes_total: null, customers_affected: null, customers_total: null, by_tier: [], attributable: null,
};

export function measureImpact(facts: PostmortemFacts): MeasuredImpact {
  const attributable = measureExcess(facts);
  const impact = facts.impact;
  if (impact === null || impact.intervals.length === 0) return { data: { ...NONE, attributable }, started_ms: null, ended_ms: null };
  const intervals = [...impact.intervals].sort((a, b) => a.at - b.at);
  const base = impact.baseline;
  const baselineShare = base !== null && base.requests > 0 ? base.errors / base.requests : null;
  const elevated = intervals.filter((i) => isElevated(i, baselineShare));
  const first = elevated[0];
  const last = elevated[elevated.length - 1];
  const startedMs = first?.at ?? null;
  const endedMs = last !== undefined ? last.at + impact.interval_ms : null;

  const byTier = tiersOf(impact).map((tier) => measureTier(tier, intervals, impact));
  const requests = sum(byTier.map((t) => t.requests));
  const failed = sum(byTier.map((t) => t.failed_requests));
  const lastInterval = intervals[intervals.length - 1];
  return {
    started_ms: startedMs,
    ended_ms: endedMs,
    data: {
      label: impact.label,
      window_from: iso(intervals[0]?.at ?? 0),
      window_to: iso((lastInterval?.at ?? 0) + impact.interval_ms),
      interval_s: impact.interval_ms / 1000,
      started_at: startedMs !== null ? iso(startedMs) : null,
      ended_at: endedMs !== null ? iso(endedMs) : null,
      duration_s: startedMs !== null && endedMs !== null ? (endedMs - startedMs) / 1000 : 0,
      requests,
      failed_requests: failed,
      failed_share: requests > 0 ? failed / requests : null,
      baseline_failed_share: baselineShare,
      nodes_affected: sum(byTier.map((t) => t.nodes_affected)),
      nodes_total: totalOrNull(byTier.map((t) => t.nodes_total)),
      customers_affected: totalOrNull(byTier.map((t) => t.customers_affected)),
      customers_total: totalOrNull(byTier.map((t) => t.customers_total)),
      by_tier: byTier,
      attributable,
    },
  };
}

function isElevated(interval: PostmortemInterval, baselineShare: number | null): boolean {
  const counts = Object.values(interval.by_tier);
  const errors = sum(counts.map((c) => c.errors));
  const requests = sum(counts.map((c) => c.requests));
  if (errors === 0) return false;
  return baselineShare === null || requests === 0 || errors / requests > baselineShare;
}

function measureTier(tier: string, intervals: readonly PostmortemInterval[], impact: PostmortemImpact): TierImpact {
  let requests = 0;
  let failed = 0;
  const nodes = new Set<string>();
  const customers = new Set<string>();
  let customersRecorded = true;
  for (const interval of intervals) {
    const c = interval.by_tier[tier];
    if (c === undefined) continue;
    requests += c.requests;
    failed += c.errors;
    for (const n of c.nodes_with_errors) nodes.add(n);
    if (c.customers_with_errors === undefined) customersRecorded = false;
    else for (const id of c.customers_with_errors) customers.add(id);
  }
  return {
    tier,
    requests,
    failed_requests: failed,
    failed_share: requests > 0 ? failed / requests : null,
    nodes_affected: nodes.size,
    nodes_total: impact.nodes_total_by_tier?.[tier] ?? null,
    customers_affected: customersRecorded ? customers.size : null,
    customers_total: impact.customers_total_by_tier?.[tier] ?? null,
  };
}

/** Every tier that has traffic or a node count, by name. */
function tiersOf(impact: PostmortemImpact): string[] {
  const tiers = new Set<string>(Object.keys(impact.nodes_total_by_tier ?? {}));
  for (const interval of impact.intervals) for (const t of Object.keys(interval.by_tier)) tiers.add(t);
  return [...tiers].sort();
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The sum, or null when any part was not recorded: a partial total would read as the whole. */
function totalOrNull(xs: readonly (number | null)[]): number | null {
  let total = 0;
  for (const x of xs) {
    if (x === null) return null;
    total += x;
  }
  return total;
}
