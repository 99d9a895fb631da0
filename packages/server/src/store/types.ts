import type { ApprovalStore } from './approval-store.ts';
import type { NodeCredentialStore } from './credential-store.ts';
import type { ChainHead, ChainVerdict } from './event-chain.ts';
import type { IncidentStore } from './incident-store.ts';
import type { OutboxStore } from './outbox-store.ts';
import type { Fence, LeaseStore } from './lease-store.ts';
import type { Change } from './change-feed.ts';
import type {
  ArtifactDecl, ArtifactVersion, VersionCheck, VersionSigner, BreakglassEnvelope, Declarations, MetricAggregate, ModuleCounters, ModuleDecl, PolicySpec, RolloutEvent, RolloutState, RolloutStatus, SummaryLoad, VersionManifest,
} from '@failsmall/core';

export type { OutboxEntry, OutboxState, OutboxUpdate } from './outbox-store.ts';
export type { ChainBreak, ChainBreakReason, ChainHead, ChainVerdict, Checkpoint } from './event-chain.ts';

/**
 * One store interface, two engines: SQLite (embedded default) and PostgreSQL (scale-out).
 * Every method is one transaction. Methods that change state also append to the event log,
 * in the same transaction, so the log never disagrees with the state it describes.
 */
export interface Store {
  /** Incidents, their timelines and alerts, external changes and vendor polls. */
  readonly incidents: IncidentStore;
  /** Dependency-gate approvals, each made by a second person with their own token. */
  readonly approvals: ApprovalStore;
  /** Each node's own credential, bound when it first registers. */
  readonly credentials: NodeCredentialStore;
  /** The notifier's outbox: each notice per target until it is delivered or dropped, so a restart loses none. */
  readonly outbox: OutboxStore;
  /** Who does which rollout's controller work, and which replica runs a one-replica job. */
  readonly leases: LeaseStore;
  readonly engine: 'sqlite' | 'postgres';
  /** This store instance's name among the replicas sharing its database. */
  readonly origin: string;
  /** Commits that appended events, here or by another replica (types only; `resync` after the feed was down). */
  onChange(fn: (c: Change) => void): () => void;
  /** Starts hearing the other replicas' commits (PostgreSQL); a no-op on SQLite. */
  listen(): Promise<void>;
  /** Whether the other replicas' commits are being heard now. */
  readonly hearing: boolean;

  // ── declarations ──────────────────────────────────────────────────────────
  /** Idempotent: an unchanged declaration keeps its version; a changed one gets version+1. */
  applyDeclarations(d: Declarations, meta: { actor: string; file?: string }): Promise<ApplyResult>;
  listModules(): Promise<ModuleDecl[]>;
  listArtifacts(): Promise<ArtifactRecord[]>;
  listPolicies(): Promise<PolicySpec[]>;
  getModule(name: string): Promise<ModuleDecl | undefined>;
  getArtifact(name: string): Promise<ArtifactRecord | undefined>;
  getPolicy(name: string): Promise<PolicySpec | undefined>;
  /** Every version of one declaration, oldest first. */
  declarationHistory(kind: DeclarationKind, name: string): Promise<DeclarationVersion[]>;

  // ── artifact versions (immutable, content-addressed) ──────────────────────
  /** Same (artifact, version) with the same sha256 and manifest is a no-op (created: false); a different sha256 or manifest is a conflict. */
  putVersion(v: NewVersion, meta: { actor: string }): Promise<PutVersionResult>;
  getVersion(artifact: string, version: string): Promise<VersionRecord | undefined>;
  getVersionContent(artifact: string, version: string): Promise<Buffer | undefined>;
  listVersions(artifact: string): Promise<VersionRecord[]>;

  // ── nodes ─────────────────────────────────────────────────────────────────
  /** Register or update a node (labels, modules); sets last_seen_at. Appends node.registered when new, node.updated when its labels or modules changed. */
  /**
   * Registers a node or updates its labels and modules. A new node is `pending` unless `admit`
   * (a join token, an admin, open enrolment); `admit` also approves a pending one.
   */
  upsertNode(n: { id: string; labels: Record<string, string>; modules: string[] }, at: number, admit?: boolean): Promise<NodeRecord>;
  touchNode(id: string, at: number): Promise<void>;
  getNode(id: string): Promise<NodeRecord | undefined>;
  listNodes(): Promise<NodeRecord[]>;
  /** Nodes whose labels, modules, enrolment, pins or signal problems changed at or after `since` (not heartbeats). */
  nodesChangedSince(since: number): Promise<NodeRecord[]>;
  /** Load reports of `artifact` received at or after `since`. */
  loadsChangedSince(artifact: string, since: number): Promise<LoadReport[]>;
  /** The latest load report of one node for one artifact (upsert, plus a node.load_reported event when it changes). */
  recordLoad(report: LoadReport): Promise<void>;
  /** Latest load report per node for one artifact. */
  listLoads(artifact: string): Promise<LoadReport[]>;
  listNodeLoads(nodeId: string): Promise<LoadReport[]>;
  /** Replaces a node's break-glass pins as its agent reports them; appends node.pins_changed when they differ. */
  setNodePins(id: string, pins: readonly PinRecord[], at: number): Promise<void>;
  /**
   * Replaces a node's signal problems as its agent reports them with its metrics (each module
   * whose application it cannot scrape, and why); appends node.signal_problems_changed when the
   * set of (module, reason, message) changes. A problem that goes on keeps its first `since`.
   */
  setNodeSignalProblems(id: string, problems: readonly SignalProblem[], at: number): Promise<void>;
  /**
   * Stores break-glass log entries a node reported (a resent one is ignored); appends a breakglass.command event for each new one.
   * An entry's `envelope` is stored once per distinct envelope (getBreakglassEnvelope); the entry and its event keep `envelope_sha256`.
   */
  recordBreakglass(nodeId: string, entries: readonly BreakglassRecord[], at: number): Promise<number>;
  /** A signed break-glass envelope a node reported, by the sha256 its records carry. */
  getBreakglassEnvelope(sha256: string): Promise<BreakglassEnvelope | undefined>;
  listBreakglass(filter?: { node?: string; limit?: number }): Promise<(BreakglassRecord & { node_id: string; received_at: number })[]>;

  // ── metrics (builtin signal source) ───────────────────────────────────────
  insertMetrics(nodeId: string, at: number, modules: Record<string, ModuleCounters>): Promise<void>;
  /** Per-node sums of one module's counters over [fromMs, toMs]. Nodes with no sample are absent. */
  metricsByNode(module: string, fromMs: number, toMs: number): Promise<Map<string, MetricAggregate>>;
  pruneMetrics(beforeMs: number): Promise<number>;
  /** A module's metric samples received at or after `atMs`, or with an id above `afterId` (the controller's metrics view). */
  metricSamplesSince(module: string, since: { atMs: number } | { afterId: number }): Promise<MetricSample[]>;

  // ── rollouts ──────────────────────────────────────────────────────────────
  /**
   * Fails with ROLLOUT_ACTIVE when the artifact already has a non-terminal rollout. With
   * `spendApproval`, marks that dependency-gate approval used by this rollout in the same
   * transaction, or fails with APPROVAL_SPENT when another rollout already used it. Fails
   * with CURRENT_CHANGED when the artifact's current version is no longer `from_version`.
   */
  createRollout(state: RolloutState, events: RolloutEvent[], opts?: { spendApproval?: string }): Promise<CreateRolloutResult>;
  getRollout(id: string): Promise<RolloutState | undefined>;
  /**
   * Newest first (created_at, then id). `status` keeps those states; `before` keeps the rollouts
   * older than that one, a keyset cursor for paging that holds while new rollouts start.
   */
  listRollouts(filter?: RolloutListFilter): Promise<RolloutState[]>;
  /**
   * Compare-and-set: writes `next` only if the stored rev is `next.rev - 1`, appends `events`, and
   * when `next.status` is 'completed' sets the artifact's current version to next.to_version — all
   * in one transaction. Returns false (and changes nothing) on a stale rev.
   */
  /** With a fence (a lease's holder and epoch), writes only while that lease still holds (lease-store.ts). */
  transitionRollout(next: RolloutState, events: RolloutEvent[], fence?: Fence): Promise<boolean>;

  // ── event log (append-only; UPDATE and DELETE are refused by the database) ─
  // Hash-chained (event-chain.ts): each event carries the hash of the one before it.
  appendEvents(events: RolloutEvent[]): Promise<void>;
  /**
   * Calls `fn` with the events of each write transaction of this Store once it has committed (the
   * server's log lines and metrics). Events other processes or replicas commit do not come here.
   * Returns the unsubscribe function.
   */
  onCommit(fn: (events: readonly RolloutEvent[]) => void): () => void;
  listEvents(filter: EventFilter): Promise<StoredEvent[]>;
  /** Walks the whole chain in pages; names the first broken link. `checkpoints` must be verified (signatures) already. */
  verifyEvents(opts?: { checkpoints?: readonly ChainHead[]; pageSize?: number }): Promise<ChainVerdict>;

  // ── API tokens (only hashes are stored) ───────────────────────────────────
  createToken(t: { name: string; role: TokenRole; hash: string; created_by?: string | null; expires_at?: number | null; uses_left?: number | null }, at: number): Promise<void>;
  /** Admin tokens by person key (personKey), each with the key of the token that created it. */
  tokenLineage(): Promise<Map<string, string | null>>;
  /** A live token by hash: never a revoked one (an expired one is returned; the caller says why it fails). */
  findToken(hash: string): Promise<{ name: string; role: TokenRole; expires_at: number | null } | undefined>;
  countTokens(role?: TokenRole): Promise<number>;
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes every live token with this name, with a `token.revoked` event; the number revoked. */
  revokeTokens(name: string, actor: string, at: number): Promise<number>;
  /** Takes one use of a join token; false when it has none left (or is not one). */
  takeJoinUse(hash: string): Promise<boolean>;
  /** Admits a pending node into the fleet, with a `node.approved` event; false when it is unknown or already in. */
  approveNode(id: string, actor: string, at: number): Promise<boolean>;

  close(): Promise<void>;
}

export type DeclarationKind = 'module' | 'artifact' | 'policy';
/**
 * Token roles (docs/security.md): people are viewers, deployers, approvers or admins; machines
 * are `ingest` (alerts, change events), `agent` (the fleet token: nodes it registers wait for an
 * admin's approval) and `join` (a join token: nodes it registers are admitted at once).
 */
export const TOKEN_ROLES = ['viewer', 'deployer', 'approver', 'ingest', 'agent', 'join', 'admin'] as const;
export type TokenRole = typeof TOKEN_ROLES[number];

export interface TokenRecord {
  readonly name: string;
  readonly role: TokenRole;
  /** The first 8 hex digits of the token's sha256: tells two tokens of one name apart, reveals nothing. */
  readonly id: string;
  readonly created_at: number;
  readonly created_by: string | null;
  readonly expires_at: number | null;
  readonly revoked_at: number | null;
  readonly revoked_by: string | null;
  readonly uses_left: number | null;
}

/** Whether a node counts: `approved` nodes join cohorts, baselines and gates; `pending` ones wait for an admin. */
export type Enrolment = 'approved' | 'pending';

export interface ApplyResult {
  readonly changes: readonly { kind: DeclarationKind; name: string; change: 'created' | 'updated' | 'unchanged'; version: number }[];
}

export interface DeclarationVersion {
  readonly kind: DeclarationKind;
  readonly name: string;
  readonly version: number;
  readonly spec: ModuleDecl | ArtifactDecl | PolicySpec;
  readonly applied_at: number;
  readonly actor: string;
}

export interface ArtifactRecord extends ArtifactDecl {
  /** The version every node outside an active rollout should run; null before the first rollout completes. */
  readonly current_version: string | null;
  readonly declaration_version: number;
}

export interface NewVersion {
  readonly artifact: string;
  readonly version: string;
  readonly sha256: string;
  readonly content: Buffer;
  /** Pushed past the artifact's declared limits (for tests and drills). */
  readonly forced: boolean;
  readonly created_at: number;
  /** base64 ed25519 signature (see signingMessage in core); absent or null when pushed unsigned. */
  readonly signature?: string | null;
  /** What the version declares it depends on; absent or null when pushed without a manifest. */
  readonly manifest?: VersionManifest | null;
  /** What the push established (entries, signer, each check); absent where nobody recorded it. */
  readonly entries?: number | null;
  readonly signer?: VersionSigner | null;
  readonly checks?: readonly VersionCheck[] | null;
}

export type PutVersionResult =
  | { ok: true; created: boolean; version: VersionRecord }
  | { ok: false; code: 'VERSION_CONFLICT'; existing: VersionRecord };

export interface RolloutListFilter {
  readonly active?: boolean;
  readonly artifact?: string;
  readonly status?: readonly RolloutStatus[];
  readonly before?: { readonly created_at: number; readonly id: string };
  readonly limit?: number;
}

/** One push of one node's counters for one module, as received (`at`: the server's clock). */
export interface MetricSample {
  readonly id: number;
  readonly node_id: string;
  readonly at: number;
  readonly counters: MetricAggregate;
}

/** A version as stored: core's ArtifactVersion, the same shape the API answers with. */
export type VersionRecord = ArtifactVersion;

export interface NodeRecord {
  readonly id: string;
  readonly labels: Record<string, string>;
  readonly modules: string[];
  readonly registered_at: number;
  readonly last_seen_at: number;
  /** Break-glass pins the node's agent reported: rollouts leave these artifacts alone on this node. */
  readonly pins: PinRecord[];
  /** Modules this node sends no request metrics for, and why (the store always sets it; empty when it sends them all). */
  readonly signal_problems?: SignalProblem[];
  /** Absent means approved (records made by hand in tests and tools). */
  readonly enrolment?: Enrolment;
}

/**
 * Why a node sends no request metrics for a module: its agent cannot scrape the module's
 * application. A gate on that module sees no data from the node, and this says why.
 */
export interface SignalProblem {
  readonly module: string;
  /** Where the metrics should come from: `scrape` (the application's Prometheus endpoint). */
  readonly source: string;
  /** unreachable, timeout, http_status, too_large, not_prometheus, missing_metric or inconsistent. */
  readonly reason: string;
  readonly message: string;
  /** Epoch ms (control-plane clock) since when the problem has lasted, as far as the agent knows. */
  readonly since: number;
}

/** A break-glass pin, as the agent holds it. */
export interface PinRecord {
  readonly artifact: string;
  readonly action: 'pin' | 'lkg' | 'kill-switch';
  readonly version: string | null;
  readonly state: string;
  readonly operator: string;
  readonly reason: string;
  readonly nonce: string;
  readonly since: string;
  /** Versions the pin moved the node away from. */
  readonly replaced?: readonly string[];
}

export type CreateRolloutResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'ROLLOUT_ACTIVE'; readonly active: string }
  | { readonly ok: false; readonly code: 'APPROVAL_SPENT'; readonly approval: string }
  /** The artifact's current version is no longer the rollout's `from_version`: another rollout completed meanwhile. */
  | { readonly ok: false; readonly code: 'CURRENT_CHANGED'; readonly current: string | null };

/** One line of a node's break-glass log, as the agent reported it. */
export interface BreakglassRecord {
  readonly seq: number;
  readonly at: string;
  /** `checked`: a drill, which changed nothing. */
  readonly outcome: 'applied' | 'refused' | 'checked';
  readonly [field: string]: unknown;
}

/** A node's report of one load: core's SummaryLoad, with the artifact it is of. */
export interface LoadReport extends SummaryLoad {
  readonly artifact: string;
}

/** Which events listEvents returns; every field narrows. Oldest first, the first `limit` (default 1000). */
export interface EventFilter {
  rolloutId?: string;
  afterSeq?: number;
  limit?: number;
  /** Exact types. */
  types?: string[];
  /** Types that start with this, e.g. `rollout.`. */
  typePrefix?: string;
  /** At or after this time (ms). */
  since?: number;
  /** The newest `limit` instead of the oldest, still oldest first. */
  newest?: boolean;
}

export interface StoredEvent extends RolloutEvent {
  readonly seq: number;
}
