import type { Generated } from 'kysely';

/**
 * Row shapes of the store's tables as Kysely sees them. Both engines share them: timestamps are
 * epoch ms (bigint in PostgreSQL, parsed to number on read), booleans are 0/1 integers and JSON is
 * TEXT, so that one set of queries serves SQLite and PostgreSQL alike.
 */
export interface StoreSchema {
  declarations: DeclarationRow;
  declaration_versions: DeclarationRow;
  artifacts: ArtifactRow;
  versions: VersionRow;
  nodes: NodeRow;
  node_loads: NodeLoadRow;
  metric_samples: MetricSampleRow;
  rollouts: RolloutRow;
  events: EventRow;
  event_chain_head: EventChainHeadRow;
  tokens: TokenRow;
  breakglass_log: BreakglassLogRow;
  /** Each distinct signed envelope of a reported break-glass command, once: `{"payload":…,"signature":…}` (core envelopeText). */
  breakglass_envelopes: { sha256: string; envelope: string; received_at: number };
  incidents: IncidentRow;
  incident_timeline: TimelineRow;
  incident_alerts: IncidentAlertRow;
  external_changes: ExternalChangeRow;
  vendor_polls: VendorPollRow;
  cursors: { name: string; seq: number };
  gate_approvals: GateApprovalRow;
  node_credentials: { node_id: string; hash: string; created_at: number };
  notification_outbox: OutboxRow;
  /** Who does a piece of work now (store/lease-store.ts). */
  leases: { name: string; holder: string; epoch: number; expires_at: number };
}

export interface OutboxRow {
  /** Creation order. */
  seq: Generated<number>;
  /** The target's label (targetLabel); with a short hash of its URL when two targets share one. */
  target: string;
  event_id: string;
  kind: string;
  /** JSON: the event as notified. */
  event: string;
  /** Attempts made so far. */
  attempts: number;
  /** When the next attempt is due (epoch ms). */
  next_at: number;
  /** pending, delivered or dropped. */
  state: string;
  /** Why the last attempt failed, or why the event was dropped. */
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface GateApprovalRow {
  id: string;
  artifact: string;
  version: string;
  from_version: string | null;
  /** JSON: the findings approved. */
  findings: string;
  digest: string;
  approver: string;
  reason: string;
  created_at: number;
  expires_at: number;
  used_by: string | null;
  used_at: number | null;
}

export interface IncidentRow {
  id: string;
  title: string;
  severity: string;
  status: string;
  opened_by: string;
  opened_at: number;
  resolved_at: number | null;
  rollout_id: string | null;
  /** JSON IncidentSubject; null on incidents from before migration 0016. */
  about: string | null;
  last_signal_at: number | null;
}

export interface TimelineRow {
  seq: Generated<number>;
  incident_id: string;
  at: number;
  kind: string;
  text: string;
  /** JSON object. */
  data: string;
  /** Makes an insert idempotent: the same source (an event's seq, an alert's fingerprint) is recorded once per incident. */
  dedup: string | null;
}

export interface IncidentAlertRow {
  incident_id: string;
  fingerprint: string;
  name: string;
  labels: string;
  status: string;
  starts_at: number;
  ends_at: number | null;
  last_seen_at: number;
  /** How many times Alertmanager sent it (a storm re-sends the same alerts). */
  receipts: number;
}

export interface ExternalChangeRow {
  id: string;
  at: number;
  received_at: number;
  /** The change (ExternalChange from core's triage input) as JSON. */
  change: string;
}

export interface VendorPollRow {
  seq: Generated<number>;
  vendor: string;
  at: number;
  /** The poll (StatusPoll plus incidents) as JSON. */
  poll: string;
}

export interface BreakglassLogRow {
  node_id: string;
  /** The entry's line in the node's own log. */
  seq: number;
  /** When the agent logged it (its clock, ISO 8601). */
  at: string;
  received_at: number;
  /** The entry as the agent logged it (JSON). */
  entry: string;
}

export interface DeclarationRow {
  kind: string;
  name: string;
  version: number;
  /** Canonical JSON (sorted keys): equal specs give equal text. */
  spec: string;
  applied_at: number;
  actor: string;
}

export interface ArtifactRow {
  name: string;
  current_version: string | null;
}

export interface VersionRow {
  artifact: string;
  version: string;
  sha256: string;
  size: number;
  content: Buffer;
  forced: number;
  created_at: number;
  /** base64 ed25519 signature over signingMessage(artifact, version, sha256); null when unsigned. */
  signature: string | null;
  /** The version's manifest as canonical JSON (`{"depends_on":[…]}`); null when pushed without one. */
  manifest: string | null;
  /** Entries counted at push; null before 0017. */
  entries: number | null;
  /** The pushing token's name; null before 0017. */
  pushed_by: string | null;
  /** VersionSigner as JSON; null when unsigned or before 0017. */
  signer: string | null;
  /** VersionCheck[] as JSON; null before 0017. */
  checks: string | null;
}

export interface NodeRow {
  id: string;
  labels: string;
  modules: string;
  registered_at: number;
  last_seen_at: number;
  /** Active break-glass pins as the agent last reported them (JSON list); null when none. */
  pins: string | null;
  /** Why the node's agent sends no request metrics for a module, as it last reported (JSON list of SignalProblem); null when none. */
  signal_problems: string | null;
  /** 'approved' or 'pending' (migration 0013). */
  enrolment: string;
  /** When labels, modules, enrolment, pins or signal problems last changed (migration 0019; not on a heartbeat). */
  changed_at: number | null;
}

export interface NodeLoadRow {
  node_id: string;
  artifact: string;
  version: string | null;
  ok: number;
  serving: string | null;
  error: string | null;
  at: number;
  module_state: string | null;
}

export interface MetricSampleRow {
  id: Generated<number>;
  node_id: string;
  module: string;
  at: number;
  requests: number;
  errors: number;
  loads_attempted: number;
  loads_succeeded: number;
  latency_buckets: string;
  counters: string;
}

export interface RolloutRow {
  id: string;
  artifact: string;
  status: string;
  rev: number;
  state: string;
  created_at: number;
  updated_at: number;
}

export interface EventRow {
  seq: Generated<number>;
  at: number;
  type: string;
  rollout_id: string | null;
  payload: string;
  /** The previous event's hash (64 zeros for the first); migration 0011, see event-chain.ts. */
  prev_hash: string;
  /** hex sha256 of this event's canonical encoding (eventHash). Written only by appendChained. */
  hash: string;
}

/** The event chain's head (one row, id 1): the last event's seq and hash; its row lock serialises appends. */
export interface EventChainHeadRow {
  id: number;
  seq: number;
  hash: string;
}

export interface TokenRow {
  hash: string;
  name: string;
  role: string;
  created_at: number;
  /** The name of the token that created this one; null for the first admin token (and older rows). */
  created_by: string | null;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  /** Join tokens (role agent): how many more nodes it may enrol approved; null for no limit or not a join token. */
  uses_left: number | null;
}
