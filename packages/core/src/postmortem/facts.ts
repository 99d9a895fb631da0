import type { BreakglassAction } from '../breakglass/command.ts';
import type { Verdict } from '../gates/types.ts';
import type { Incident, TimelineEntry } from '../incident/types.ts';
import type { ArtifactKind, OnLoadFailure } from '../policy/types.ts';
import type { RolloutStatus } from '../rollout/types.ts';

/**
 * Everything a postmortem draft is made from: plain data, filled by the server from its
 * store (or by a test from a simulated incident). Every number in the draft is a sum, a
 * difference or a count over these facts. A fact that was not recorded is `null` (or an
 * empty list), and the draft then says "not recorded" rather than inventing a number.
 * Times are ms since the epoch.
 */
export interface PostmortemFacts {
  /** The incident row (store: incidents). */
  readonly incident: Incident;
  /** Its timeline as stored, in any order (store: incident timeline). */
  readonly timeline: readonly TimelineEntry[];
  /** The rollouts involved: the one whose gate opened the incident, and any other in the window (store: rollouts). */
  readonly rollouts: readonly PostmortemRollout[];
  /** The modules that consumed the artifacts involved, as declared (store: declarations). */
  readonly modules: readonly PostmortemModule[];
  /** Traffic over the incident window (builtin metrics, summed per interval and tier); null when not recorded. */
  readonly impact: PostmortemImpact | null;
  /** Triage results recorded during the incident, each with its top hypothesis (timeline entries of kind `triage`). */
  readonly triage: readonly PostmortemTriage[];
  /** Break-glass commands used (the break-glass audit log). */
  readonly breakglass: readonly PostmortemBreakglass[];
  /** Alerts ingested into the incident (Alertmanager webhooks). */
  readonly alerts: readonly PostmortemAlert[];
  /** Changes recorded outside failsmall (change feed, timeline entries of kind `change`). */
  readonly changes: readonly PostmortemChange[];
}

/** One stage a rollout reached. */
export interface PostmortemStage {
  readonly name: string;
  /** When its cohort was assigned (the bad version reached these nodes from then on). */
  readonly started_at: number;
  /** Cohort size: nodes given the new version in this stage (cumulative, cohorts are nested). */
  readonly nodes: number;
  /** How often the stage's gates were evaluated (policy `interval`). */
  readonly interval_ms: number;
}

/** A rollout, from its persisted state and its event log. */
export interface PostmortemRollout {
  readonly id: string;
  readonly artifact: string;
  readonly kind: ArtifactKind | null;
  readonly module: string;
  readonly from_version: string | null;
  readonly to_version: string;
  /** `created_at`: when the change started. */
  readonly started_at: number;
  readonly status: RolloutStatus;
  /** The stages reached, in order. */
  readonly stages: readonly PostmortemStage[];
  /** Nodes the policy's scopes were taken over (the node registry at start); null when not recorded. */
  readonly fleet_nodes: number | null;
  /** The failing gate's verdict (`outcome.verdict`), with its stage and time; null when no gate failed. */
  readonly failed_gate: Verdict | null;
  /** `rollback_started_at`: when its revert began (a gate's rollback or an operator's abort); null when it never did. */
  readonly rollback_started_at: number | null;
  /** Why it was reverted (`rollback_cause`): a failed gate, a gate that stayed inconclusive, or an operator's abort; null when it was not. */
  readonly rollback_cause: 'gate' | 'inconclusive' | 'abort' | null;
  /** When the rollback finished on every node (the `rolled_back` transition); null when not. */
  readonly rolled_back_at: number | null;
  /** When an operator's abort finished reverting every node (the `aborted` transition); null when not. */
  readonly aborted_at: number | null;
  /** When it was paused, if it is paused now (a gate or a person paused it; the version stays where it is); null otherwise. */
  readonly paused_at: number | null;
  /** What its version did on the nodes that received it, against the background; null when not recorded. */
  readonly exposure: PostmortemExposure | null;
  /** When it completed (the `completed` transition); null when not. */
  readonly completed_at: number | null;
  /** The artifact's declared checks (`max_bytes`, `max_entries`, `json_schema`, `command`); [] none declared, null not recorded. */
  readonly validation: readonly ValidationCheck[] | null;
  /** Cohort nodes that sent no report at all during the rollout; null when not recorded. */
  readonly unreported_nodes: readonly string[] | null;
}

export type ValidationCheck = 'max_bytes' | 'max_entries' | 'json_schema' | 'command';

/**
 * Requests and failed requests (all modules) on the nodes that received a rollout's version,
 * from its first stage until its revert finished (or the end of the incident window when it
 * was not reverted), and the background error rate to measure them against.
 */
export interface PostmortemExposure {
  readonly from: number;
  readonly to: number;
  /** Nodes that received the version: every stage's cohort, not the fleet. */
  readonly nodes: number;
  readonly requests: number;
  readonly errors: number;
  /** The background; null when neither other nodes nor the same nodes before the change recorded traffic. */
  readonly baseline: PostmortemBackground | null;
}

/**
 * Requests and failed requests that show the background error rate: the nodes that did not
 * receive the version over the same time (`other-nodes`), or, when it reached every node, the
 * same nodes before the change (`before-change`).
 */
export interface PostmortemBackground {
  readonly source: 'other-nodes' | 'before-change';
  readonly nodes: number;
  readonly requests: number;
  readonly errors: number;
}

/** A module as declared, and what its agents reported in the window. */
export interface PostmortemModule {
  readonly name: string;
  readonly on_load_failure: OnLoadFailure | null;
  /** For fail-closed: the declared security goal; null otherwise or when not recorded. */
  readonly reason: string | null;
  /** Nodes whose agent reported a failed load of this module's artifact in the window; null when not recorded. */
  readonly nodes_failed_load: readonly string[] | null;
}

/**
 * Requests and errors over the incident window, per interval and per tier (the value of
 * one node label, `label`). Intervals are [at, at + interval_ms), in order.
 */
export interface PostmortemImpact {
  /** The node label the tiers are values of, e.g. `customer_tier`. */
  readonly label: string;
  readonly interval_ms: number;
  readonly intervals: readonly PostmortemInterval[];
  /** Nodes per tier in the fleet; null when not recorded (a tier missing from it: not recorded). */
  readonly nodes_total_by_tier: Readonly<Record<string, number>> | null;
  /** Customers per tier; null when not recorded. */
  readonly customers_total_by_tier: Readonly<Record<string, number>> | null;
  /** Requests and errors over a reference window before the change; null when not recorded. */
  readonly baseline: PostmortemBaseline | null;
}

export interface PostmortemInterval {
  readonly at: number;
  readonly by_tier: Readonly<Record<string, PostmortemTierCounts>>;
}

export interface PostmortemTierCounts {
  readonly requests: number;
  /** Failed requests (errors of the modules involved). */
  readonly errors: number;
  /** Ids of the nodes that recorded errors in the interval. */
  readonly nodes_with_errors: readonly string[];
  /** Ids of the customers whose requests failed in the interval; absent when not recorded. */
  readonly customers_with_errors?: readonly string[];
}

export interface PostmortemBaseline {
  readonly from: number;
  readonly to: number;
  readonly requests: number;
  readonly errors: number;
}

/** A triage result: when it ran and its top hypothesis. */
export interface PostmortemTriage {
  readonly at: number;
  /** A triage class: `change-regression`, `ddos`, `internal-degradation` or `third-party-failure`. */
  readonly class: string;
  /** 0..1. */
  readonly confidence: number;
  readonly first_action: string;
}

/** A break-glass command, from the audit log. */
export interface PostmortemBreakglass {
  readonly at: number;
  readonly operator: string;
  readonly action: BreakglassAction;
  /** The artifact or module acted on. */
  readonly target: string;
  /** `pin` only. */
  readonly version: string | null;
  /** The nodes it was sent to. */
  readonly nodes: readonly string[];
  /** The nodes whose agent acknowledged applying it; null when not recorded. */
  readonly nodes_applied: readonly string[] | null;
}

export interface PostmortemAlert {
  readonly name: string;
  readonly started_at: number;
  /** Firing instances (Alertmanager groups) received. */
  readonly count: number;
}

export interface PostmortemChange {
  readonly id: string;
  readonly at: number;
  readonly summary: string;
}
