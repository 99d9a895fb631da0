import type { ArtifactKind, ComponentStatus, StatusIndicator, TriageClass } from '@failsmall/core';

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
  readonly events: readonly TriageEvent[];
}

export interface TriageLabel {
  readonly class: TriageClass;
  /** The rollout or change id (change-regression), dependency or vendor the verdict must name. */
  readonly target: string | null;
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
}

export interface DependencyDecl {
  readonly name: string;
  readonly vendor: string | null;
  readonly used_by: readonly string[];
  /** Other declared dependencies it calls. */
  readonly depends_on: readonly string[];
  readonly latency_ms: number;
  readonly error_ratio: number;
}

export interface VendorDecl {
  readonly name: string;
  readonly components: readonly string[];
}

export const UNMEASURED_SIGNALS = ['request_rate', 'source_entropy', 'never_seen_sources', 'errors_by_cohort', 'dependencies', 'vendor_apis', 'vendor_status', 'changes'] as const;
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

interface EventBase {
  readonly at_ms: number;
  /** null: until the end of the scenario. */
  readonly until_ms: number | null;
  /** Time to reach full strength. */
  readonly ramp_ms: number;
  readonly errors: ErrorsEffect | null;
  readonly strains: readonly Strain[];
  /** Where the event was declared, for messages. */
  readonly line: number;
}

export interface RolloutEvent extends EventBase {
  readonly type: 'rollout';
  readonly id: string;
  readonly artifact: string;
  readonly module: string;
  readonly kind: ArtifactKind;
  readonly version: string;
  readonly from: string | null;
  /** Share of nodes that have the version, from `after_ms` after the start (each reached within propagation_ms). */
  readonly stages: readonly { readonly after_ms: number; readonly share: number }[];
  readonly regenerate: Regeneration | null;
}

export interface ExternalChangeEvent extends EventBase {
  readonly type: 'external_change';
  readonly id: string;
  readonly summary: string;
  readonly source: string | null;
  readonly services: readonly string[];
  readonly links: readonly { readonly href: string; readonly text?: string }[];
  readonly custom_details: Readonly<Record<string, string | number | boolean>>;
  readonly regenerate: Regeneration | null;
}

/** A DDoS: extra requests from the attack's own prefixes, mostly never seen before. */
export interface DdosEvent extends EventBase {
  readonly type: 'ddos';
  /** Request rate at full strength, as a multiple of the baseline. */
  readonly rate: number;
  /** Entropy (bits) of the attack traffic's own prefixes: 3 for a few reflectors, 20 for spoofed random sources. */
  readonly source_entropy_bits: number;
  /** Share of the attack's requests from never-seen prefixes. */
  readonly never_seen: number;
}

/** A flash crowd: extra requests from the usual population of clients. */
export interface FlashCrowdEvent extends EventBase {
  readonly type: 'flash_crowd';
  readonly rate: number;
  /** How far the fleet's source entropy moves at full strength (bits; small for a real crowd). */
  readonly entropy_shift_bits: number;
  /** Share of the crowd's requests from never-seen prefixes (new visitors). */
  readonly never_seen: number;
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

export type TriageEvent = RolloutEvent | ExternalChangeEvent | DdosEvent | FlashCrowdEvent | DependencyEvent | VendorOutageEvent | StatusPageDownEvent | VendorIncidentEvent;
