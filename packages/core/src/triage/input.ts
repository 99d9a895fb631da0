import type { ArtifactKind } from '../policy/types.ts';

/**
 * What triage reads: time-stamped signals around an incident, as plain data. Times are
 * milliseconds since the epoch. Every family is optional or may be empty: a family that is
 * absent is a *missing signal* (it lowers the confidence of every hypothesis and is listed),
 * never evidence either way. Samples later than the `now` handed to `triage` are ignored,
 * so a replay can hand the whole series and move the clock.
 *
 * The server will build this from its stored events and metrics (section 1 of issue 6); the
 * simulator builds it from a triage scenario (`packages/sim/src/triage`).
 */
export interface TriageInput {
  /** Requests per second over the whole fleet, with the rate expected at this hour. */
  readonly requests?: MeasuredSeries;
  /** Where requests come from; agents report both per step. */
  readonly sources?: SourceSignals;
  /** What requests ask for: the mix of methods, path classes and clients, and what each costs to serve. */
  readonly request_mix?: RequestMixSignals;
  /** 5xx counts per module, and per rollout cohort (nodes with the rollout's version vs the others). */
  readonly errors?: ErrorSignals;
  /** failsmall rollouts and change events from elsewhere, in the lookback window. */
  readonly changes?: Changes;
  /** Services we call: our own (`vendor` absent) and vendors' APIs. */
  readonly dependencies?: readonly DependencySignal[];
  /** Vendors' public status pages, as polled. */
  readonly vendors?: readonly VendorStatus[];
  /** Alerts that fired (Alertmanager or failsmall gates); the earliest marks the incident. */
  readonly alerts?: readonly Alert[];
}

export interface Sample {
  readonly at_ms: number;
  readonly value: number;
}

/** A series and the value it normally has (e.g. the same hour last week, or a trailing median). */
export interface MeasuredSeries {
  readonly baseline: number;
  readonly samples: readonly Sample[];
  /**
   * The value expected at each time where it is not flat (a scheduled sale, a match, the
   * Monday-morning ramp: the same hour last week); between samples the nearest earlier one
   * holds, and `baseline` where there is none. A surge the schedule expected is not anomalous.
   */
  readonly expected?: readonly Sample[];
}

export interface SourceSignals {
  /** Shannon entropy (bits) of requests over client prefixes (/24 for IPv4, /48 for IPv6). */
  readonly entropy_bits?: MeasuredSeries;
  /** Share of requests from prefixes never seen in the last 30 days (0..1). */
  readonly never_seen_share?: MeasuredSeries;
}

/**
 * Request-mix aggregates agents report per push (`meter.mix`), never raw requests. An
 * application-layer attack changes what is asked (one expensive search path, one client
 * library, one method) more than how much; a flash crowd asks for what users always ask for.
 */
export interface RequestMixSignals {
  /** Shannon entropy (bits) of requests over HTTP methods. */
  readonly method_entropy_bits?: MeasuredSeries;
  /** Entropy (bits) over path classes (routes, not raw paths: `/search`, `/item/:id`). */
  readonly path_entropy_bits?: MeasuredSeries;
  /** Entropy (bits) over user-agent families. */
  readonly user_agent_entropy_bits?: MeasuredSeries;
  /** Share of requests to path classes the service marks expensive (0..1). */
  readonly expensive_share?: MeasuredSeries;
  /** Mean server time per request, in ms: what a request costs to answer. */
  readonly cost_ms_per_request?: MeasuredSeries;
}

/** Requests and 5xx errors counted over one step. */
export interface CountSample {
  readonly at_ms: number;
  readonly requests: number;
  readonly errors: number;
}

export interface ModuleErrors {
  readonly module: string;
  /** The module's usual error ratio (errors / requests). */
  readonly baseline: number;
  readonly samples: readonly CountSample[];
}

/** One step of a rollout's cohort split: counts on the nodes that have its version, and on the others. */
export interface CohortSample {
  readonly at_ms: number;
  readonly with_version: { readonly nodes: number; readonly requests: number; readonly errors: number };
  readonly without_version: { readonly nodes: number; readonly requests: number; readonly errors: number };
}

export interface CohortErrors {
  /** The rollout whose version splits the fleet. */
  readonly rollout: string;
  readonly version: string;
  /** The usual error ratio of a node, all modules together. */
  readonly baseline: number;
  readonly samples: readonly CohortSample[];
}

export interface ErrorSignals {
  readonly by_module: readonly ModuleErrors[];
  readonly by_cohort?: readonly CohortErrors[];
}

/**
 * What a change touched beyond its own module: the dependencies it alters (a schema migration's
 * database, a cache's eviction setting), other services, and the regions it reached. Triage
 * links a change to a degraded dependency it touched.
 */
export interface ChangeTouches {
  readonly services?: readonly string[];
  readonly dependencies?: readonly string[];
  readonly regions?: readonly string[];
}

/** Where a rollout stands at `now`, as the control plane recorded it. */
export type RolloutChangeState = 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';

/** A failsmall rollout: one artifact from version `from_version` to `version`. */
export interface RolloutChange {
  readonly id: string;
  readonly artifact: string;
  readonly module: string;
  readonly kind: ArtifactKind;
  readonly version: string;
  readonly from_version?: string;
  readonly started_at_ms: number;
  readonly touches?: ChangeTouches;
  /** Absent: running. A rollout already rolled back or aborted is not advised to be rolled back again. */
  readonly state?: RolloutChangeState;
  /** When it reached `state` (completed, rolled back, aborted). */
  readonly ended_at_ms?: number;
  /** When the control plane learned of it, if later than `started_at_ms` (late or skewed reports); unseen before then. */
  readonly recorded_at_ms?: number;
}

/**
 * A change made outside failsmall, in the shape of a PagerDuty change event
 * (Events API v2: `payload.summary`, `payload.timestamp`, `payload.source`,
 * `payload.custom_details`, `links`), plus the services it touched and an id of ours.
 */
export interface ExternalChange {
  readonly id: string;
  readonly summary: string;
  /** ISO 8601, as PagerDuty sends it. */
  readonly timestamp: string;
  readonly source?: string;
  /** Services or modules the change touched. */
  readonly services: readonly string[];
  /** Dependencies and regions it touched (a migration names its database). */
  readonly touches?: ChangeTouches;
  /** A feature flag or staged change at this share of users or nodes (0..1); absent: everyone. */
  readonly share?: number;
  /** When it was recorded, if later than `timestamp` (a change logged after the fact); unseen before then. */
  readonly recorded_at_ms?: number;
  readonly links: readonly { readonly href: string; readonly text?: string }[];
  readonly custom_details: Readonly<Record<string, string | number | boolean>>;
}

export interface Changes {
  readonly rollouts: readonly RolloutChange[];
  readonly external: readonly ExternalChange[];
}

export interface DependencySignal {
  readonly name: string;
  /** Set for a vendor's API (a third party); absent for our own services. */
  readonly vendor?: string;
  /** Modules that call it. */
  readonly used_by: readonly string[];
  /** Other dependencies it calls (from the dependency graph), so that a symptom is told from its cause. */
  readonly depends_on?: readonly string[];
  /**
   * It sits in front of us in the request path (a CDN, a DDoS scrubber, an edge proxy): when it
   * fails, clients come straight to the origin, and the origin sees a surge from new sources.
   */
  readonly in_request_path?: boolean;
  /** p99 latency in ms. */
  readonly latency_ms?: MeasuredSeries;
  /** Errors / calls. */
  readonly error_ratio?: MeasuredSeries;
}

/** Statuspage's `status.indicator` (`maintenance` while a scheduled maintenance is in progress). */
export type StatusIndicator = 'none' | 'minor' | 'major' | 'critical' | 'maintenance';
/** Statuspage's component statuses. */
export type ComponentStatus = 'operational' | 'degraded_performance' | 'partial_outage' | 'major_outage' | 'under_maintenance';

/** One poll of a status page. `reachable: false` means the page itself did not answer. */
export interface StatusPoll {
  readonly at_ms: number;
  readonly reachable: boolean;
  readonly indicator?: StatusIndicator;
  readonly components?: readonly { readonly name: string; readonly status: ComponentStatus }[];
}

export interface VendorStatus {
  readonly vendor: string;
  readonly polls: readonly StatusPoll[];
}

export interface Alert {
  readonly name: string;
  readonly started_at_ms: number;
  readonly labels?: Readonly<Record<string, string>>;
}
