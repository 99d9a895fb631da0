import type { VersionManifest } from '../dependency-gate/types.ts';
import type { ChangeTouches } from '../triage/input.ts';

/**
 * The parsed, validated shape of a declarations file (`failsmall apply FILE`) and of a
 * deployment policy. Durations are milliseconds; everything is plain data so that the
 * rollout engine, the store and the API can pass it around as JSON.
 */

export type OnLoadFailure = 'serve-stale' | 'fail-open' | 'fail-closed';
export type ArtifactKind = 'code' | 'config' | 'feature-file';

export interface ModuleDecl {
  readonly name: string;
  readonly on_load_failure: OnLoadFailure;
  /** Required for fail-closed: the security goal that hard-failing serves. */
  readonly reason?: string;
  /** For fail-open: the safe default the module falls back to (free text or a file name). */
  readonly safe_default?: string;
  /**
   * base64 ed25519 signature of the safe default (core/signing signSafeDefault) by the artifact
   * key: signed offline (`failsmall artifact sign-default`) or by the control plane at apply when
   * it holds the key. Agents write a declared safe default only when this verifies.
   */
  readonly safe_default_signature?: string;
}

export interface ArtifactValidation {
  readonly max_bytes?: number;
  readonly max_entries?: number;
  /** A JSON Schema (object) the content must satisfy; enforced by the safe loader (next issue). */
  readonly json_schema?: Record<string, unknown>;
  /** A custom validator command; run by the safe loader with a timeout (next issue). */
  readonly command?: string;
  readonly timeout_ms?: number;
}

export interface ArtifactDecl {
  readonly name: string;
  readonly kind: ArtifactKind;
  readonly module: string;
  readonly validation: ArtifactValidation;
  /** The policy used when a rollout of this artifact does not name one. */
  readonly policy?: string;
  /**
   * What every version of it touches beyond its module (a config that points at a database, a
   * feature file a service reads): recorded on its rollouts, so triage and incidents link them.
   */
  readonly touches?: ChangeTouches;
}

/**
 * One pushed version of an artifact, without its bytes: what the store keeps and
 * `GET /v1/artifacts/:name` lists (the CLI and the dashboard read it).
 */
export interface ArtifactVersion {
  readonly artifact: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  /** Pushed past the declared limits (for tests and drills). */
  readonly forced: boolean;
  readonly created_at: number;
  /** The ed25519 signature, base64; null for an unsigned version. */
  readonly signature: string | null;
  readonly manifest: VersionManifest | null;
  /**
   * Entries counted at push (array length, object keys, or non-comment lines: countEntries);
   * null for versions pushed before the control plane recorded it.
   */
  readonly entries: number | null;
  /** The name of the token that pushed it; null for versions pushed before it was recorded. */
  readonly pushed_by: string | null;
  /** The key that signed it, as the control plane knows it; null when unsigned or not recorded. */
  readonly signer: VersionSigner | null;
  /** Each declared check as it ran at push, in order; null for versions pushed before they were recorded. */
  readonly checks: readonly VersionCheck[] | null;
}

/**
 * Who signed a version: the control plane with its own key at push, or someone offline whose
 * signature the control plane verified (or could not verify, holding no public key).
 */
export interface VersionSigner {
  readonly by: 'control-plane' | 'offline';
  /** keyFingerprint of the signing key (`sha256:` and 16 hex digits); null when it could not be told. */
  readonly key: string | null;
  /** Whether the control plane checked the signature against a key it trusts. */
  readonly verified: boolean;
}

/** One declared check on a version's content, as it ran when the version was pushed. */
export interface VersionCheck {
  readonly check: 'max_bytes' | 'max_entries' | 'json_schema' | 'command';
  /** `skipped`: not run, because an earlier check failed (the message says which). */
  readonly outcome: 'passed' | 'failed' | 'skipped';
  /** `812 bytes ≤ max_bytes 4096`, `fails its JSON Schema: /0 must be object`. */
  readonly message: string;
}

/** A label selector: every pair must hold (`=` equal, `!=` not equal). */
export interface LabelMatcher {
  readonly key: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

export type Scope =
  | { readonly type: 'percent'; readonly percent: number; readonly selector: readonly LabelMatcher[]; readonly text: string }
  | { readonly type: 'count'; readonly count: number; readonly selector: readonly LabelMatcher[]; readonly text: string };

export type GateDirection = 'min' | 'max';

export interface GateSpec {
  /** `module/metric` unless named explicitly; unique within a stage. */
  readonly name: string;
  readonly module: string;
  readonly metric: string;
  /** `min`: the value must stay at or above the threshold; `max`: at or below. */
  readonly direction: GateDirection;
  readonly threshold: number;
  readonly window_ms: number;
  /** Fewer samples than this in the window gives `inconclusive`. */
  readonly min_samples: number;
  /** Share of cohort nodes that must have reported in the window (0..1]; silent nodes are no data. */
  readonly min_coverage: number;
  /** Where the metric comes from: agents' pushes (builtin, the default) or a PromQL query. */
  readonly source?: 'builtin' | 'prometheus';
  /** PromQL, with {{cohort_selector}}, {{baseline_selector}}, {{window}} and {{interval}} placeholders. */
  readonly query?: string;
  /** `threshold` (the default): the value against a fixed bound; `baseline`: the cohort against the nodes still on the old version. */
  readonly compare?: 'threshold' | 'baseline';
  /** With compare: baseline, how much worse than the baseline the cohort may be. */
  readonly allowed_degradation?: { readonly absolute?: number; readonly relative?: number };
  /** False-alarm level of the sequential test (compare: baseline); default 0.001. */
  readonly alpha?: number;
  /**
   * For a prometheus gate: PromQL counting the cohort nodes Prometheus has enough samples of, so
   * that a cohort half-scraped is inconclusive rather than a value from half the nodes.
   * Default: agents' own series with at least two samples in the window; 'none' turns it off.
   */
  readonly coverage_query?: string;
  /** When the gate has no data after bake: keep extending (default), pause, or roll back. */
  readonly on_no_data?: 'extend' | 'pause' | 'rollback';
  /**
   * A node label: the gate is judged within each of its values (the cohort's nodes with that
   * value against the baseline's with the same), so that a regression confined to one hardware
   * generation is not averaged away. alpha is split across the groups.
   */
  readonly by?: string;
  /** With by: the stage may not promote until every value the fleet has is in the cohort and passes. */
  readonly require_each_group?: boolean;
}

export interface StageSpec {
  readonly name: string;
  /**
   * Set on the stage a policy's holdback: becomes (always the last): `scope` is the share of the
   * fleet kept on the previous version as its baseline, for `for_ms` (the stage's bake).
   */
  readonly holdback?: { readonly scope: Scope; readonly for_ms: number };
  readonly scope: Scope;
  readonly health_gates: readonly GateSpec[];
  readonly rollback_on_failure: boolean;
  /** Minimum time the stage is evaluated before it may promote. */
  readonly bake_ms: number;
  /** How often gates are evaluated. */
  readonly interval_ms: number;
  /** How long the engine waits for cohort nodes to report the load before baking anyway. */
  readonly load_timeout_ms: number;
  /** How long an inconclusive stage may extend past its bake before `on_inconclusive` applies. */
  readonly max_extension_ms: number;
  readonly on_inconclusive: 'pause' | 'rollback';
  /** A human must approve promotion out of this stage. */
  readonly manual_approval: boolean;
}

export interface PolicySpec {
  readonly name: string;
  /** When set, the policy may only roll out this artifact. */
  readonly artifact?: string;
  readonly stages: readonly StageSpec[];
}

export interface Declarations {
  readonly modules: readonly ModuleDecl[];
  readonly artifacts: readonly ArtifactDecl[];
  readonly policies: readonly PolicySpec[];
}
