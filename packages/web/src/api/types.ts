import type { EventRecord, RolloutState, RolloutStatus, Verdict } from '@failsmall/core';

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
  readonly current_version: string | null;
}
