import type { ModuleState } from '../loading/on-failure.ts';
import type { LoadRefusal } from '../loading/validate.ts';
import type { OnFailure } from '../loading/safe-default.ts';
import type { ArtifactValidation } from '../policy/types.ts';

/**
 * The node's vocabulary: what the control plane asks of it (a desired entry), what it serves,
 * what it served before (its history, where "last known-good" points), the pins break-glass put
 * on it, and the loads it will retry. Plain data: the agent persists it, the simulator holds
 * ten thousand of them.
 */

/** One artifact of the node's desired state, as the control plane sends it. */
export interface DesiredEntry {
  readonly artifact: string;
  readonly module: string;
  /** null: the artifact should be absent. */
  readonly version: string | null;
  readonly sha256: string | null;
  readonly signature?: string | null;
  readonly validation?: ArtifactValidation;
  readonly on_failure?: OnFailure;
}

/** What one artifact is served at, and what the node needs to recover it without the control plane. */
export interface Serving {
  readonly version: string | null;
  readonly sha256: string | null;
  readonly module: string;
  readonly state: ModuleState['state'];
  /** As this node may act on it: a safe default here is signed, or the node's own (trustedOnFailure). */
  readonly on_failure?: OnFailure;
  /** The artifact's declared checks, kept so that a break-glass pin is validated like any load. */
  readonly validation?: ArtifactValidation;
}

/** A version this node served successfully, newest last: where "back to last known-good" goes. */
export interface ServedVersion {
  readonly version: string;
  readonly sha256: string;
  readonly signature: string | null;
}

/**
 * A break-glass pin: while it holds, the node ignores the control plane's desired state for
 * the artifact. Only an `unpin` command lifts it.
 */
export interface Pin {
  readonly artifact: string;
  readonly action: 'pin' | 'lkg' | 'kill-switch';
  /** The version pinned (null for a kill switch: the safe default). */
  readonly version: string | null;
  readonly state: ModuleState['state'];
  readonly operator: string;
  readonly reason: string;
  readonly nonce: string;
  /** ISO 8601, when the pin was put in place. */
  readonly since: string;
  /**
   * The versions break-glass moved this artifact away from while pinned (the bad ones): "back to
   * last known-good" never chooses them, however often it is repeated.
   */
  readonly replaced?: readonly string[];
}

/** A version that failed to load, and when the node tries it again. */
export interface FailedLoad {
  readonly version: string | null;
  readonly attempts: number;
  /** ms since the epoch (virtual time in the simulator). */
  readonly retryAt: number;
}

/** Everything the node knows of one artifact. */
export interface ArtifactNode {
  readonly serving?: Serving;
  readonly history: readonly ServedVersion[];
  readonly pin?: Pin;
  readonly failed?: FailedLoad;
}

/** The whole node: its artifacts, by name. */
export interface NodeState {
  readonly artifacts: Readonly<Record<string, ArtifactNode>>;
}

/** How a load ended, as the load sequence (verify → validate → apply → confirm or fall back) says. */
export type LoadOutcome =
  | { readonly ok: true; readonly state: ModuleState }
  | { readonly ok: false; readonly stage: LoadStage; readonly code: LoadRefusal['code']; readonly error: string; readonly state: ModuleState };

export type LoadStage = 'verify' | 'validate' | 'apply';

/** What the node tells the control plane after a load (POST /v1/nodes/:id/loads). */
export interface LoadReport {
  readonly artifact: string;
  readonly version: string | null;
  readonly ok: boolean;
  readonly serving: string | null;
  readonly error: string | null;
  readonly module_state: ModuleState['state'];
}
