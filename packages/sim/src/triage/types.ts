import { TRIAGE_CLASSES, type ArtifactKind, type ChangeTouches, type ComponentStatus, type StatusIndicator, type TriageClass } from '@failsmall/core';

/**
 * A labelled triage scenario: a fleet, its normal traffic and dependencies, and the events
 * injected into it. `generateTriageInput` turns it into the signals triage reads, in
 * virtual time; docs/triage.md documents the YAML, key by key. Times are ms after `start_ms`.
 */
export interface TriageScenario {
  readonly name: string;
  readonly description: string | null;
  readonly label: TriageLabel;
  readonly seed: number;
  /** Virtual time 0, in ms since the epoch. */
  readonly start_ms: number;
  readonly duration_ms: number;
  readonly step_ms: number;
  /** How long a push takes to reach the share of nodes its stage asks for. */
  readonly propagation_ms: number;
  readonly nodes: number;
  readonly baseline: TrafficBaseline;
  readonly modules: readonly string[];
  readonly dependencies: readonly DependencyDecl[];
  /** Vendors whose status pages are polled. */
  readonly vendors: readonly VendorDecl[];
  /** Signal families this fleet does not measure: they are left out of the input. */
  readonly unmeasured: readonly UnmeasuredSignal[];
  /** Alerts that fire besides the generated ones (a synthetic probe, a customer report, a noisy rule). */
  readonly alerts: readonly ScenarioAlert[];
  /** Surges the schedule expects (a sale, a match, a batch job): the expected rate rises with them. */
  readonly schedule: readonly ScheduledSurge[];
  readonly events: readonly TriageEvent[];
}

/** What a label can say: one of the four causes, or `benign` (nothing is wrong; the correct verdict is `unknown`). */
export const LABEL_CLASSES = [...TRIAGE_CLASSES, 'benign'] as const;
export type LabelClass = (typeof LABEL_CLASSES)[number];

export interface TriageLabel {
  readonly class: LabelClass;
  /** The rollout or change id (change-regression), dependency or vendor the verdict must name. */
  readonly target: string | null;
  /** A second cause running at the same time: a verdict that names it is correct too. */
  readonly also: readonly { readonly class: TriageClass; readonly target: string | null }[];
}

export interface TrafficBaseline {
  /** Requests per second over the fleet. */
  readonly rps: number;
  /** Each module's usual error ratio. */
  readonly error_ratio: number;
  readonly entropy_bits: number;
  readonly never_seen_share: number;
  /** Coefficient of variation of the request rate per step. */
  readonly noise: number;
  /** What the usual clients ask for. */
  readonly mix: RequestMix;
}

/** A request mix: what a population of clients asks for, and what it costs to answer. */
export interface RequestMix {
  /** Entropy (bits) over HTTP methods, path classes and user-agent families. */
  readonly method_entropy_bits: number;
  readonly path_entropy_bits: number;
  readonly ua_entropy_bits: number;
  /** Share of requests to path classes marked expensive. */
  readonly expensive_share: number;
  /** Mean server time per request. */
  readonly cost_ms: number;
}

export interface ScenarioAlert {
  readonly at_ms: number;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A scheduled surge: extra requests from the usual population, which the same hour last week saw too. */
export interface ScheduledSurge {
  readonly at_ms: number;
  readonly until_ms: number | null;
  readonly ramp_ms: number;
  /** Request rate at full strength, as a multiple of the baseline. */
  readonly rate: number;
}

export interface DependencyDecl {
  readonly name: string;
  readonly vendor: string | null;
  readonly used_by: readonly string[];
  /** Other declared dependencies it calls. */
  readonly depends_on: readonly string[];
  readonly latency_ms: number;
  readonly error_ratio: number;
  /** It sits in front of us (a CDN, a scrubber, an edge proxy): when it fails, clients come straight to the origin. */
  readonly in_request_path: boolean;
}

export interface VendorDecl {
  readonly name: string;
  readonly components: readonly string[];
}

export const UNMEASURED_SIGNALS = ['request_rate', 'source_entropy', 'never_seen_sources', 'errors_by_cohort', 'dependencies', 'vendor_apis', 'vendor_status', 'changes', 'request_mix'] as const;
export type UnmeasuredSignal = (typeof UNMEASURED_SIGNALS)[number];

/** Extra 5xx on some modules: on the nodes serving a bad version (rollouts) or on every node. */
export interface ErrorsEffect {
  readonly modules: readonly string[];
  readonly ratio: number;
  readonly delay_ms: number;
}

/** What an event does to a dependency: its p99 latency multiplied, its error ratio raised. */
export interface Strain {
  readonly dependency: string;
  readonly latency: number;
  readonly errors: number;
}

/** A generated artifact or config pushed again every `every_ms`, bad with a probability. */
export interface Regeneration {
  readonly every_ms: number;
  readonly bad_share: { readonly from: number; readonly to: number; readonly over_ms: number };
}

/**
 * Clients that cannot reach our fronting dependency come straight to the origin: extra
 * requests from prefixes the origin has not seen, which spread its source entropy.
 */
export interface Bypass {
  /** Request rate at full strength, as a multiple of the baseline. */
  readonly rate: number;
  /** Share of the bypassing requests from prefixes the origin has never seen. */
  readonly never_seen: number;
  readonly entropy_shift_bits: number;
}

/** One stage of a staged push: the share of nodes (or users) it reaches from `after_ms` after the start. */
export interface Stage {
  readonly after_ms: number;
  readonly share: number;
}

interface EventBase {
  readonly at_ms: number;
  /** null: until the end of the scenario. */
  readonly until_ms: number | null;
  /** Time to reach full strength. */
  readonly ramp_ms: number;
  readonly errors: ErrorsEffect | null;
  readonly strains: readonly Strain[];
  /** Share of requests the event keeps from reaching the fleet at full strength (0: none). */
  readonly drop: number;
  /** Clients retry the event's failed requests with this factor (null: the model's usual retries). */
  readonly retries: number | null;
  /** Only on a failing dependency in the request path (dependency_degradation, vendor_outage). */
  readonly bypass: Bypass | null;
  /** Where the event was declared, for messages. */
  readonly line: number;
}

/** How a change was recorded, which can differ from what happened. */
export interface ChangeRecord {
  /** What it touched beyond its module (null: not said). */
  readonly touches: ChangeTouches | null;
  /** The change becomes visible only this long after it started (null: at once). */
  readonly recorded_after_ms: number | null;
  /** The recorded start time is off by this much (negative: recorded early). */
  readonly clock_skew_ms: number;
}

export const ROLLOUT_END_STATES = ['completed', 'rolled_back', 'aborted', 'paused'] as const;
export type RolloutEndState = (typeof ROLLOUT_END_STATES)[number];

export interface RolloutEvent extends EventBase, ChangeRecord {
  readonly type: 'rollout';
  readonly id: string;
  readonly artifact: string;
  readonly module: string;
  readonly kind: ArtifactKind;
  readonly version: string;
  readonly from: string | null;
  /** Share of nodes that have the version, from `after_ms` after the start (each reached within propagation_ms). */
  readonly stages: readonly Stage[];
  readonly regenerate: Regeneration | null;
  /**
   * When the rollout stopped, and how (ms from the scenario start). Rolled back and aborted
   * take the version off the nodes (`until_ms` is then the same time); `until:` alone means
   * rolled back. Paused freezes its share; completed takes it to every node.
   */
  readonly ended: { readonly at_ms: number; readonly state: RolloutEndState } | null;
}

export interface ExternalChangeEvent extends EventBase, ChangeRecord {
  readonly type: 'external_change';
  readonly id: string;
  readonly summary: string;
  readonly source: string | null;
  readonly services: readonly string[];
  readonly links: readonly { readonly href: string; readonly text?: string }[];
  readonly custom_details: Readonly<Record<string, string | number | boolean>>;
  readonly regenerate: Regeneration | null;
  /** A staged change or a feature flag: the share of users it reaches over time (null: everyone at once). */
  readonly stages: readonly Stage[] | null;
}

/** A DDoS: extra requests from the attack's own prefixes, mostly never seen before. */
export interface DdosEvent extends EventBase {
  readonly type: 'ddos';
  /** Request rate at full strength, as a multiple of the baseline. */
  readonly rate: number;
  /** Entropy (bits) of the attack traffic's own prefixes: 3 for a few reflectors, 20 for spoofed random sources. */
  readonly source_entropy_bits: number;
  /** Share of the attack's own requests from never-seen prefixes. */
  readonly never_seen: number;
  /** Share of the attack's requests from prefixes real clients also use: they count as seen. */
  readonly overlap: number;
  /** What the attack asks for (the usual mix for a pure volumetric flood). */
  readonly mix: RequestMix;
}

/** A flash crowd: extra requests from the usual population of clients. */
export interface FlashCrowdEvent extends EventBase {
  readonly type: 'flash_crowd';
  readonly rate: number;
  /** How far the fleet's source entropy moves at full strength (bits; small for a real crowd). */
  readonly entropy_shift_bits: number;
  /** Share of the crowd's requests from never-seen prefixes (new visitors). */
  readonly never_seen: number;
  readonly mix: RequestMix;
}

/** Fewer requests reach the fleet (an expired certificate, DNS or routing upstream of us): no 5xx of ours. */
export interface TrafficDropEvent extends EventBase {
  readonly type: 'traffic_drop';
  /** Share of requests lost at full strength. */
  readonly share: number;
}

export interface DependencyEvent extends EventBase {
  readonly type: 'dependency_degradation';
  readonly dependency: string;
  readonly latency: number;
  readonly error_ratio: number;
}

export interface VendorOutageEvent extends EventBase {
  readonly type: 'vendor_outage';
  readonly vendor: string;
  readonly latency: number;
  readonly error_ratio: number;
  /** What the vendor's status page says, and how long after the outage it says it (null: it never does). */
  readonly status: { readonly after_ms: number; readonly indicator: StatusIndicator; readonly components: readonly { readonly name: string; readonly status: ComponentStatus }[] } | null;
}

export interface StatusPageDownEvent extends EventBase {
  readonly type: 'status_page_down';
  readonly vendor: string;
}

export interface VendorIncidentEvent extends EventBase {
  readonly type: 'vendor_incident';
  readonly vendor: string;
  readonly indicator: StatusIndicator;
  readonly components: readonly { readonly name: string; readonly status: ComponentStatus }[];
}

export type TriageEvent = RolloutEvent | ExternalChangeEvent | DdosEvent | FlashCrowdEvent | TrafficDropEvent | DependencyEvent | VendorOutageEvent | StatusPageDownEvent | VendorIncidentEvent;
