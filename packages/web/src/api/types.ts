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
