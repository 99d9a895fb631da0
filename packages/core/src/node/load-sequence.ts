import { createHash } from 'node:crypto';
import { validateContentView, type LoadRefusal } from '../loading/validate.ts';
import { afterFailedLoad, type ModuleState } from '../loading/on-failure.ts';
import type { OnFailure } from '../loading/safe-default.ts';
import type { ArtifactValidation } from '../policy/types.ts';
import { verifyVersion, type TrustedKeys } from '../signing/index.ts';
import type { LoadOutcome, LoadStage } from './types.ts';

/**
 * The load sequence every node runs, and the simulator with it: verify (sha256, then the
 * artifact key's signature) → validate (declared limits and JSON Schema, then the node's own
 * validator command) → apply → confirm, or fall back as the module's `on_load_failure` says.
 * The decisions are here; the IO (running a command, writing the file, reloading the module,
 * putting the last known-good back) is the caller's. The caller asks `nextLoadStep` what to do,
 * does it, and asks again with what came of it, until the step is `done`.
 */

/** A version offered to the node: its bytes and what the control plane says of them. */
export interface LoadCandidate {
  readonly artifact: string;
  readonly version: string;
  readonly sha256: string | null;
  readonly signature?: string | null;
  readonly content: Uint8Array;
  readonly validation?: ArtifactValidation;
}

export interface CheckKeys {
  /** The artifact key's public half (or several, during a rotation). */
  readonly publicKey?: TrustedKeys;
  /** Development only: with no public key, accept a version with no signature. */
  readonly allowUnsigned?: boolean;
}

export type CheckResult =
  | { readonly ok: true; readonly sha256: string; readonly json?: { readonly value: unknown } }
  | { readonly ok: false; readonly stage: Exclude<LoadStage, 'apply'>; readonly refusal: LoadRefusal };

/**
 * The checks that need no process: the bytes are the ones announced (sha256), signed by the
 * artifact key for this artifact and version, and within the declared limits and schema. The
 * parsed JSON comes back, so an in-process module takes the value without parsing it again.
 */
export function checkCandidate(c: LoadCandidate, keys: CheckKeys): CheckResult {
  const sha = createHash('sha256').update(c.content).digest('hex');
  if (c.sha256 === null || sha !== c.sha256) {
    return { ok: false, stage: 'verify', refusal: { code: 'SHA256', message: `sha256 mismatch (truncated or altered in transit): got ${sha.slice(0, 12)}…, expected ${c.sha256?.slice(0, 12) ?? 'none'}…` } };
  }
  if (keys.publicKey) {
    const v = verifyVersion(keys.publicKey, c.artifact, c.version, sha, c.signature);
    if (!v.ok) return { ok: false, stage: 'verify', refusal: { code: 'SIGNATURE', message: v.message } };
  } else if (!keys.allowUnsigned) {
    return { ok: false, stage: 'verify', refusal: { code: 'SIGNATURE', message: 'this agent has no artifact public key, so it cannot check signatures (pass --public-key; --allow-unsigned is for development only)' } };
  }
  const { refusals, json } = validateContentView(c.content, c.validation ?? {});
  if (refusals.length > 0) return { ok: false, stage: 'validate', refusal: { code: refusals[0]?.code ?? 'SCHEMA', message: refusals.map((r) => r.message).join('; ') } };
  return json ? { ok: true, sha256: sha, json } : { ok: true, sha256: sha };
}

/** What has happened so far in one load; the caller fills it in as it carries out each step. */
export interface LoadProgress {
  readonly check: CheckResult;
  /** Whether this node runs a validator command for the artifact. */
  readonly hasCommand: boolean;
  /** The validator command's verdict, once run. */
  readonly command?: { readonly ok: true } | { readonly ok: false; readonly error: string };
  /** The module's answer to the apply, once made. */
  readonly apply?: { readonly ok: true } | { readonly ok: false; readonly error: string };
  /** The module's failure policy, as this node may act on it (trustedOnFailure). */
  readonly onFailure?: OnFailure;
  /**
   * The version of the last known-good copy on the node, or null when there is none (or it is
   * unusable). Left out until it is read: a load that succeeds never needs it, so the agent reads
   * the copy (a megabyte and its checksum) only when `nextLoadStep` asks for it.
   */
  readonly lastKnownGood?: string | null;
}

export type LoadStep =
  | { readonly type: 'run-command' }
  | { readonly type: 'apply' }
  /** The load falls back, and the fallback depends on the last known-good: read it and say which version it is. */
  | { readonly type: 'read-lkg' }
  | {
    readonly type: 'done';
    readonly outcome: LoadOutcome;
    /**
     * What the caller does to the module before reporting: `restore` hands it the last known-good
     * copy again (the refused version may be half in it); `enact` carries out fail-open,
     * fail-closed or empty on its file; `keep` leaves it untouched (a refusal before apply while
     * the module keeps serving its last known-good); `save-lkg` records the applied version as
     * the new last known-good.
     */
    readonly then: 'save-lkg' | 'restore' | 'enact' | 'keep';
    /** Whether the refused version reached the module's file (an apply that failed). */
    readonly touched: boolean;
  };

const SERVE_STALE: OnFailure = { on_load_failure: 'serve-stale' };

/** The next step of a load, from what happened so far. Pure. */
export function nextLoadStep(p: LoadProgress, version: string): LoadStep {
  if (!p.check.ok) return fallback(p, p.check.stage, p.check.refusal.code, p.check.refusal.message, false);
  if (p.hasCommand && p.command === undefined) return { type: 'run-command' };
  if (p.command && !p.command.ok) return fallback(p, 'validate', 'COMMAND', p.command.error, false);
  if (p.apply === undefined) return { type: 'apply' };
  if (!p.apply.ok) return fallback(p, 'apply', 'APPLY', p.apply.error, true);
  return { type: 'done', outcome: { ok: true, state: { state: 'serving', version } }, then: 'save-lkg', touched: true };
}

function fallback(p: LoadProgress, stage: LoadStage, code: LoadRefusal['code'], message: string, touched: boolean): LoadStep {
  if (p.lastKnownGood === undefined) return { type: 'read-lkg' };
  const state: ModuleState = afterFailedLoad(p.onFailure ?? SERVE_STALE, p.lastKnownGood);
  // A stale module holds its last known-good unless the refused version reached it: then hand it back.
  const then = state.state === 'stale' ? (touched ? 'restore' : 'keep') : 'enact';
  return { type: 'done', outcome: { ok: false, stage, code, error: `${stage}: ${message}`, state }, then, touched };
}
