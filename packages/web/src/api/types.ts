import type { ArtifactValidation, ArtifactVersion, EventRecord, Incident, RolloutState, RolloutStatus, TimelineEntry as IncidentEntry, Verdict } from '@failsmall/core';

export type { EventRecord, RolloutState, RolloutStatus, Verdict };

/** What `GET /v1/rollouts/:id` says of the cohort: assigned nodes, those that reported the new version's load, those that refused it. */
export interface CohortCount {
  readonly nodes: number;
  readonly reported: number;
  readonly failed_loads: number;
}

/** `GET /v1/rollouts/:id`: the state, the cohort and the control plane's clock (bake and age are read against it). */
export interface RolloutAnswer {
  readonly rollout: RolloutState;
  readonly cohort: CohortCount;
  readonly now: number;
}

/** `GET /v1/whoami`: the token's name and role, and every role whose calls it may make. */
export interface Whoami {
  readonly name: string;
  readonly role: string;
  readonly grants: readonly string[];
}

export type { FleetGroup, FleetRefusal, FleetSummary } from '@failsmall/core';

/** One artifact of `GET /v1/artifacts`: what the Fleet and Artifacts pages choose from. */
export interface ArtifactInfo {
  readonly name: string;
  readonly kind: string;
  readonly module: string;
  readonly validation: ArtifactValidation;
  readonly policy?: string;
  readonly current_version: string | null;
}

/** One pushed version of `GET /v1/artifacts/:name`. */
export type VersionInfo = ArtifactVersion;

export type { Evidence, Hypothesis, IncidentStatus, Triage } from '@failsmall/core';
export type { Incident, IncidentEntry };

/** `GET /v1/incidents/:id`: the incident, its timeline (oldest first) and its alerts counted by name. */
export interface IncidentAnswer {
  readonly incident: Incident;
  readonly timeline: readonly IncidentEntry[];
  readonly alerts: { readonly total: number; readonly by_name: readonly { readonly name: string; readonly firing: number; readonly resolved: number; readonly receipts: number; readonly first_at: number }[] };
}

/** One break-glass command a node reported (`GET /v1/breakglass`): its log line, and whether the control plane verified it. */
export interface BreakglassEntry {
  readonly node_id: string;
  readonly seq: number;
  /** ISO 8601, the node's clock. */
  readonly at: string;
  readonly received_at: number;
  /** `checked`: a drill, which changed nothing. */
  readonly outcome: 'applied' | 'refused' | 'checked';
  readonly action?: string;
  readonly target?: string;
  readonly version?: string;
  readonly operator?: string;
  readonly reason?: string;
  readonly issued_at?: string;
  readonly expires_at?: string;
  readonly code?: string;
  readonly message?: string;
  /** true: the control plane checked its signed envelope against the break-glass public key. */
  readonly verified: boolean;
  /** Why it is not verified, when it is not. */
  readonly verification?: string;
  readonly envelope_sha256?: string;
  /** An artifact, when the line names one. */
  readonly artifact?: string;
}

/** A node's pin now (`GET /v1/breakglass`'s `pins`). */
export interface BreakglassPin {
  readonly node: string;
  readonly artifact: string;
  readonly action: 'pin' | 'lkg' | 'kill-switch';
  readonly version: string | null;
  readonly operator: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly since: string;
}

export interface BreakglassAnswer {
  readonly entries: readonly BreakglassEntry[];
  readonly pins: readonly BreakglassPin[];
}

/** `GET /v1/audit/verify`: whether the event log's hash chain is intact, and where it first breaks if not. */
export type ChainAnswer =
  | { readonly ok: true; readonly events: number; readonly head: { readonly seq: number; readonly hash: string }; readonly checkpoints: number; readonly message: string }
  | { readonly ok: false; readonly first_broken: { readonly seq: number; readonly type: string | null; readonly at: number | null; readonly reason: string; readonly detail: string }; readonly checked: number; readonly message: string };
