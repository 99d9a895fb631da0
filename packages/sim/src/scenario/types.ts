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
  readonly at_ms: number;
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
