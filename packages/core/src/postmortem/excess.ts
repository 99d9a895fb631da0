import type { RolloutStatus } from '../rollout/types.ts';
import type { PostmortemFacts } from './facts.ts';
import { iso } from './format.ts';
import { triggerRollout } from './response.ts';

/** The normal quantile of a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/**
 * What the trigger rollout's version did where it ran: the failed requests on the nodes that
 * received it, beyond what those nodes fail at the background rate, with a 95% interval.
 */
export interface AttributableData {
  /** Which fact: `rollouts[0].exposure`. */
  readonly source: string;
  readonly rollout: string;
  readonly version: string;
  readonly status: RolloutStatus;
  /** Nodes that received the version (not the fleet), and the fleet. */
  readonly nodes_reached: number;
  readonly fleet_nodes: number | null;
  /** The version's first node to the end of its revert (or of the window). */
  readonly from: string;
  readonly to: string;
  readonly exposure_s: number;
  /** On the nodes that received it, over that time. */
  readonly requests: number;
  readonly failed_requests: number;
  readonly baseline_source: 'other-nodes' | 'before-change' | null;
  readonly baseline_nodes: number | null;
  readonly baseline_failed_share: number | null;
  /** What those requests would have failed at the background rate. */
  readonly expected_failed: number | null;
  /** failed_requests − expected_failed: the failed requests attributable to the change. */
  readonly excess_failed: number | null;
  /** The excess's 95% interval (normal approximation of two Poisson counts). */
  readonly excess_low: number | null;
  readonly excess_high: number | null;
  /** The interval lies above zero: the version failed requests beyond the background. null: no background recorded. */
  readonly significant: boolean | null;
}

/**
 * The excess failed requests of the trigger rollout's version, or null when there is no
 * rollout or its exposure was not recorded. With F failed of R requests on its nodes and a
 * background of b failed of B requests, the excess is F − R·b/B; its variance, both counts
 * taken as Poisson, is F + R²·b/B². A background with no failure at all is counted as one
 * for its variance: zero failures in B requests does not prove a rate of exactly zero.
 *
 * Examples
 *   measureExcess(facts)?.excess_failed; // 121.4: failed requests attributable to the change
 *   measureExcess(facts)?.significant;   // false: the failures are the background rate
 */
export function measureExcess(facts: PostmortemFacts): AttributableData | null {
  const t = triggerRollout(facts);
  const e = t?.rollout.exposure;
  if (t === null || e === undefined || e === null) return null;
  const r = t.rollout;
  const base = e.baseline !== null && e.baseline.requests > 0 ? e.baseline : null;
  const rate = base !== null ? base.errors / base.requests : null;
  const expected = rate !== null ? e.requests * rate : null;
  const excess = expected !== null ? e.errors - expected : null;
  const half = base !== null && excess !== null ? Z95 * Math.sqrt(e.errors + (e.requests ** 2 * Math.max(1, base.errors)) / base.requests ** 2) : null;
  return {
    source: `rollouts[${t.index}].exposure`, rollout: r.id, version: r.to_version, status: r.status,
    nodes_reached: e.nodes, fleet_nodes: r.fleet_nodes, from: iso(e.from), to: iso(e.to), exposure_s: (e.to - e.from) / 1000,
    requests: e.requests, failed_requests: e.errors,
    baseline_source: base?.source ?? null, baseline_nodes: base?.nodes ?? null, baseline_failed_share: rate,
    expected_failed: expected, excess_failed: excess,
    excess_low: excess !== null && half !== null ? excess - half : null,
    excess_high: excess !== null && half !== null ? excess + half : null,
    significant: excess !== null && half !== null ? excess - half > 0 : null,
  };
}

/** The failed requests the change is known to have caused: its excess when significant, 0 when not, the window's count when no rollout measured it. */
export function failedByChange(attributable: AttributableData | null, windowFailed: number | null): number | null {
  if (attributable === null || attributable.significant === null) return windowFailed;
  return attributable.significant ? Math.round(attributable.excess_failed ?? 0) : 0;
}
