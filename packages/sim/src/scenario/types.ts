import type { ArtifactDecl, Declarations, ModuleDecl, PolicySpec } from '@failsmall/core';

/**
 * A parsed scenario: plain data, durations in milliseconds. `docs/scenarios.md` documents
 * the YAML it comes from, key by key.
 */
export interface Scenario {
  readonly name: string;
  readonly description: string | null;
  readonly seed: number;
  readonly duration_ms: number;
  readonly tick_ms: number;
  /** Mean delay between a desired-state change and an agent applying it (each node: 0.5–1.5×). */
  readonly propagation_ms: number;
  readonly fleet: FleetSpec;
  readonly traffic: TrafficSpec;
  /** Everything the `modules:`, `artifacts:` and `policies:` sections declare. */
  readonly declarations: Declarations;
  readonly artifact: ArtifactDecl;
  readonly module: ModuleDecl;
  readonly policy: PolicySpec;
  /** Rules for the module that loads the artifact, first match wins. */
  readonly behaviour: readonly BehaviourRule[];
  readonly change: ChangeSpec;
  readonly manual: ManualResponse | null;
  /** A person in the staged regimes: approves stages that wait for one, aborts a bad rollout the gates let through. */
  readonly human: StagedHuman | null;
  /** What breaks in the control plane's view of the fleet (metrics, agents, load reports), in file order. */
  readonly faults: readonly Fault[];
}

export interface FleetSpec {
  readonly nodes: number;
  /** Each label key with its values and their shares (summing to 1), in file order. */
  readonly labels: readonly LabelDistribution[];
}

export interface LabelDistribution {
  readonly key: string;
  readonly values: readonly { readonly value: string; readonly share: number }[];
}

export interface TrafficSpec {
  readonly rps_per_node: number;
  /** Background 5xx ratio, with no change at all. */
  readonly error_rate: number;
  readonly latency_median_ms: number;
  readonly latency_p99_ms: number;
  /** Coefficient of variation of each node's per-tick traffic, error rate and latency. */
  readonly noise: number;
  /** Nodes unhealthy whatever they serve (null: none): real fleets are uneven. */
  readonly bad_nodes: BadNodes | null;
  /** Correlated noise: bursts of errors on many nodes at once (null: none). */
  readonly bursts: Bursts | null;
}

/**
 * A few nodes with a persistently higher error rate, before and after any change (a failing disk,
 * a noisy neighbour, a bad NIC). Which nodes is drawn once per run; when one of them lands in a
 * small canary cohort, the cohort looks worse than the baseline with no bad version at all.
 */
export interface BadNodes {
  readonly share: number;
  readonly error_rate: number;
}

/**
 * Bursts of errors that hit many nodes together (an upstream hiccup, a rack's switch, a noisy
 * peering link), at random times: a burst starts on average every `every_ms`, lasts `length_ms`,
 * and adds `error_rate` on a `share` of the nodes `where` selects, drawn afresh at each burst.
 */
export interface Bursts {
  readonly every_ms: number;
  readonly length_ms: number;
  readonly error_rate: number;
  readonly share: number;
  readonly where: readonly LabelCondition[];
}

/** A window of time in which part of the fleet is invisible to, or out of touch with, the control plane. */
export interface FaultWindow {
  readonly from_ms: number;
  readonly until_ms: number;
  /** Which nodes it can hit (empty: all). */
  readonly where: readonly LabelCondition[];
  /** The share of those nodes it hits (1: all), drawn once per fault. */
  readonly share: number;
}

/**
 * - `metrics_outage`: the nodes' request metrics never reach the control plane (a metrics
 *   pipeline down); users still get what the nodes serve.
 * - `silent_agents`: agents out of touch (a partition, a hung agent): they neither learn of a new
 *   desired state nor report loads or metrics until the window ends; they keep serving what they have.
 * - `lost_load_reports`: a load report the node sends never arrives (the agent restarted before
 *   its retry, a proxy dropped it); the load itself happened.
 */
export type Fault = FaultWindow & { readonly type: 'metrics_outage' | 'silent_agents' | 'lost_load_reports' };

/** A person watching a staged rollout (`human:`); the global-push human is `manual:`. */
export interface StagedHuman {
  /** A stage that waits for a manual promote gets it this long after it asks (null: nobody approves). */
  readonly approve_after_ms: number | null;
  /** A rollout the engine paused for a human (inconclusive data) is resumed this long after it paused (null: it stays paused). */
  readonly resume_after_ms: number | null;
  /**
   * This long after the first bad push, the person aborts the active rollout if a node still
   * serves a bad version and the gates have not rolled it back (null: never).
   */
  readonly rollback_after_ms: number | null;
}

/** What "content it cannot handle" means: every condition given must hold. */
export interface ContentPredicate {
  readonly entries_over?: number;
  readonly bytes_over?: number;
  readonly contains?: string;
  readonly version?: string;
}

/** What the module does while it serves content it cannot handle. */
export interface Effect {
  /** Every request gets a 5xx. */
  readonly crash: boolean;
  /**
   * The failure shows when the module takes the file (a panic at load): a safe loader's test load
   * catches it and keeps the last known-good. Without it, the module takes the file and fails
   * while serving requests (5 December: a Lua error per request), which no validation or test
   * load of the file can catch.
   */
  readonly at_load: boolean;
  /** Requests succeed but are counted as degraded (e.g. bot score 0), and in the `degraded` custom counter. */
  readonly degrade: boolean;
  /** Extra 5xx ratio on top of the background. */
  readonly error_rate: number;
  /** Latency added to every request (ms). */
  readonly add_latency_ms: number;
  /**
   * Every request's latency multiplied by this (1: none): the whole distribution scales, so a
   * "+30% p99" is `latency_factor: 1.3` and moves the median by 30% too, not by 4× as adding
   * 30% of the p99 to every request would.
   */
  readonly latency_factor: number;
  /** error_rate, add_latency and latency_factor grow linearly from 0 over this long after the node applied the content (0: at once). */
  readonly ramp_ms: number;
}

/** One condition of a rule's `where:`: the node's label is (or, negated, is not) one of `values`. */
export interface LabelCondition {
  readonly key: string;
  readonly values: readonly string[];
  readonly negated: boolean;
}

export interface BehaviourRule {
  /** Conditions a node's labels must all meet for the rule to apply (empty: every node). */
  readonly where: readonly LabelCondition[];
  readonly cannot_handle: ContentPredicate;
  readonly effect: Effect;
}

/** Where a version's bytes come from. */
export type ContentSource =
  | { readonly type: 'literal'; readonly text: string }
  | { readonly type: 'generate'; readonly entries: number; readonly doubled: boolean; readonly format: 'json' | 'lines' };

export interface VersionPush {
  /** When the pipeline pushes it (null: `after_detection_ms` says). */
  readonly at_ms: number | null;
  /**
   * Pushed this long after the regime detected the bad version (a fix written in response), so
   * each regime pushes it at its own time, and never where nothing was detected.
   */
  readonly after_detection_ms: number | null;
  readonly source: ContentSource;
  /** A label to show instead of the automatic one (v1, v2, …). */
  readonly version: string | null;
}

/** A generator that runs every `every`, producing the good or the bad content at random. */
export interface Regenerate {
  readonly start_ms: number;
  readonly every_ms: number;
  readonly until_ms: number;
  readonly good: ContentSource;
  readonly bad: ContentSource;
  /** Probability that one run produces the bad content: `from` at start, growing linearly to `to` over `over_ms`. */
  readonly bad_share: { readonly from: number; readonly to: number; readonly over_ms: number };
}

export interface ChangeSpec {
  /** What every node serves at time 0 (null: nothing yet). */
  readonly initial: ContentSource | null;
  readonly versions: readonly VersionPush[];
  readonly regenerate: Regenerate | null;
}

/** A human's response under global push: detect, then push the last good version everywhere and stop the generator. */
export interface ManualResponse {
  readonly detect_after_ms: number;
  readonly rollback_after_ms: number;
}
