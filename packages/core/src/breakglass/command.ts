import { NAME } from '../names/index.ts';
/**
 * A break-glass command: one emergency instruction to the agents of some nodes, made and
 * signed by an operator with the break-glass key, and carried to the agents without the
 * control plane (the agent's admin endpoint, or a file that rsync or config management
 * drops on the node).
 */
/**
 * `drill` changes nothing: the agent verifies the command like any other (key, expiry, node,
 * nonce, clock) and answers whether `lkg` and `kill-switch` would work for the target now.
 */
export const BREAKGLASS_ACTIONS = ['pin', 'lkg', 'kill-switch', 'unpin', 'drill'] as const;
export type BreakglassAction = (typeof BREAKGLASS_ACTIONS)[number];

export interface BreakglassCommand {
  /** Format version. */
  readonly v: 1;
  readonly action: BreakglassAction;
  /** The nodes this command is for; an agent refuses a command that does not name it. */
  readonly nodes: readonly string[];
  /**
   * The artifact to pin, return to its last known-good or unpin; for `kill-switch` and `drill`,
   * a module (every artifact of it) or one artifact.
   */
  readonly target: string;
  /** `pin` only: the version to serve. */
  readonly version?: string;
  /**
   * `pin` only, when the version is not on the node: its content (base64), with its sha256 and
   * the artifact key's signature, which the agent checks like any other version.
   */
  readonly content?: string;
  readonly sha256?: string;
  readonly artifact_signature?: string;
  /** Who ran it. */
  readonly operator: string;
  /** Why, in words: it goes to the node's log, the control plane and the postmortem. */
  readonly reason: string;
  /** ISO 8601 (UTC). */
  readonly issued_at: string;
  /** ISO 8601 (UTC): after this, agents refuse the command. */
  readonly expires_at: string;
  /** Random, unique per command: an agent refuses a nonce it has seen. */
  readonly nonce: string;
}

/** What goes over the wire: the command's exact bytes, and the signature over them. */
export interface BreakglassEnvelope {
  /** base64 of the command's JSON. Signing bytes, not a re-serialised object, avoids canonicalisation bugs. */
  readonly payload: string;
  /** base64 ed25519 signature of `BREAKGLASS_DOMAIN + payload bytes`. */
  readonly signature: string;
}

/**
 * Every signed message starts with its purpose, so a signature made for one use (an
 * artifact version) can never verify as another (a break-glass command), even under the
 * same key.
 */
export const BREAKGLASS_DOMAIN = 'failsmall-breakglass-v1\n';

/** Longest validity a command may have: a signed command is a bearer instrument, so it must die soon. */
export const MAX_COMMAND_LIFETIME_MS = 24 * 3600_000;
/** How far in the future `issued_at` may be: clocks on a fleet drift. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** The largest envelope accepted (a pin may carry a version's content). */
export const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024;

/** Targets, versions and node ids in a command follow the one name rule (core/names). */
export const SAFE_NAME = NAME;
export const NONCE = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * What a drill found for one artifact: whether each break-glass action would work on this node
 * now. The last known-good is checked the way `lkg` would load it (bytes on the node, sha256,
 * the artifact key's signature, validation, the node's validator command), without applying it.
 */
export interface DrillReadiness {
  readonly artifact: string;
  readonly module: string;
  readonly serving: string | null;
  readonly state: string;
  /** Who pinned it, if it is pinned. */
  readonly pinned: string | null;
  /** `lkg` would serve this version; `problem` says why it would not work. */
  readonly lkg: { readonly version: string | null; readonly ok: boolean; readonly problem?: string };
  /** `kill-switch` has a safe default to fail open to. */
  readonly kill_switch: { readonly ok: boolean; readonly problem?: string };
}
