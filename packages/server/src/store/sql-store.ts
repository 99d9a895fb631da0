import { sql, type Kysely, type Transaction } from 'kysely';
import {
  envelopeSha256, envelopeText, personKey, TERMINAL_STATUSES,
  type ArtifactDecl, type BreakglassEnvelope, type Declarations, type MetricAggregate, type ModuleCounters, type ModuleDecl, type PolicySpec,
  type RolloutEvent, type RolloutState, type VersionCheck, type VersionManifest, type VersionSigner,
} from '@failsmall/core';
import { canonicalJson } from './canonical-json.ts';
import { addBuckets, addCounters } from './sample-sums.ts';
import { verifyEventLog, type ChainHead, type ChainVerdict } from './event-chain.ts';
import { appendCommitted, Commits } from './commits.ts';
import { ApprovalStore } from './approval-store.ts';
import { NodeCredentialStore } from './credential-store.ts';
import { IncidentStore } from './incident-store.ts';
import { OutboxStore } from './outbox-store.ts';
import { LeaseStore, type Fence } from './lease-store.ts';
import { CHANGE_CHANNEL, changeOf, changePayload, type Change as StoreChange, type PgChangeFeed } from './change-feed.ts';
import { randomUUID } from 'node:crypto';
import type { StoreEngine } from './migrations.ts';
import type { NodeLoadRow, NodeRow, StoreSchema, VersionRow } from './schema.ts';
import { TOKEN_ROLES } from './types.ts';
import type {
  TokenRecord, BreakglassRecord, CreateRolloutResult, PinRecord, SignalProblem,
  ApplyResult, ArtifactRecord, DeclarationKind, DeclarationVersion, LoadReport, NewVersion, NodeRecord, PutVersionResult,
  EventFilter, MetricSample, RolloutListFilter, Store, StoredEvent, TokenRole, VersionRecord,
} from './types.ts';

type Db = Kysely<StoreSchema> | Transaction<StoreSchema>;
type Change = ApplyResult['changes'][number];

const DEFAULT_EVENT_LIMIT = 1000;
/** Every column of a version but its content, which only the content route reads. */
const VERSION_COLUMNS = ['artifact', 'version', 'sha256', 'size', 'forced', 'created_at', 'signature', 'manifest', 'entries', 'pushed_by', 'signer', 'checks'] as const;
const terminal = [...TERMINAL_STATUSES];

/**
 * The Store over Kysely: the same queries run on SQLite and PostgreSQL. Every method that writes
 * is one transaction and appends its events inside it.
 */
export class SqlStore implements Store {
  readonly engine: StoreEngine;
  readonly incidents: IncidentStore;
  readonly approvals: ApprovalStore;
  readonly credentials: NodeCredentialStore;
  readonly outbox: OutboxStore;
  readonly leases: LeaseStore;
  readonly #db: Kysely<StoreSchema>;
  readonly #closed: () => Promise<void>;
  readonly #commits: Commits;
  /** This store instance's name in the change feed: its own commits are not news to it. */
  readonly origin = randomUUID();
  readonly #feed: PgChangeFeed | undefined;
  #closing: Promise<void> | undefined;

  /**
   * `closed` resolves once the engine's connections are really gone (after `db.destroy()`).
   * `feed`: on PostgreSQL, the other replicas' commits (LISTEN); each commit here NOTIFYs them.
   */
  constructor(db: Kysely<StoreSchema>, engine: StoreEngine, closed: () => Promise<void> = async () => undefined, feed?: (origin: string) => PgChangeFeed) {
    this.#db = db;
    this.engine = engine;
    this.#feed = feed?.(this.origin);
    this.#commits = new Commits(engine === 'postgres'
      ? async (tx, events) => { await sql`SELECT pg_notify(${CHANGE_CHANNEL}, ${changePayload(this.origin, events)})`.execute(tx); }
      : undefined);
    this.incidents = new IncidentStore(db);
    this.approvals = new ApprovalStore(db, this.#commits);
    this.credentials = new NodeCredentialStore(db, this.#commits);
    this.outbox = new OutboxStore(db);
    this.leases = new LeaseStore(db, engine);
    this.#closed = closed;
  }

  onCommit(fn: (events: readonly RolloutEvent[]) => void): () => void {
    return this.#commits.listen(fn);
  }

  /**
   * Every commit that appended events, by this process or (on PostgreSQL) by another replica of
   * the same store: the types only. What keeps in-memory views (desired state, long-polls) fresh
   * across replicas; `resync` when the feed was down and anything may have changed.
   */
  onChange(fn: (c: StoreChange) => void): () => void {
    const offLocal = this.#commits.listen((events) => fn(changeOf(this.origin, events)));
    const offRemote = this.#feed?.onChange(fn);
    return () => { offLocal(); offRemote?.(); };
  }

  /** Starts listening to the other replicas (PostgreSQL); a no-op on SQLite, where one process writes. */
  async listen(): Promise<void> {
    await this.#feed?.start();
  }

  /** Whether the other replicas' commits are being heard: true on SQLite (there are none), the feed's state on PostgreSQL. */
  get hearing(): boolean {
    return this.#feed ? this.#feed.listening : true;
  }

  /** One write transaction; its events go to the commit listeners once it has committed (commits.ts). */
  #write<T>(fn: (tx: Transaction<StoreSchema>) => Promise<T>): Promise<T> {
    return this.#commits.write(this.#db, fn);
  }

  /** The Kysely instance, for tests and maintenance tools; application code goes through the Store methods. */
  get db(): Kysely<StoreSchema> {
    return this.#db;
  }

  // ── declarations ──────────────────────────────────────────────────────────

  async applyDeclarations(d: Declarations, meta: { actor: string; file?: string }): Promise<ApplyResult> {
    const at = Date.now();
    return this.#write(async (tx) => {
      const changes: Change[] = [];
      const entries: { kind: DeclarationKind; name: string; spec: unknown }[] = [
        ...d.modules.map((spec) => ({ kind: 'module' as const, name: spec.name, spec })),
        ...d.artifacts.map((spec) => ({ kind: 'artifact' as const, name: spec.name, spec })),
        ...d.policies.map((spec) => ({ kind: 'policy' as const, name: spec.name, spec })),
      ];
      for (const { kind, name, spec } of entries) {
        const text = canonicalJson(spec);
        const stored = await tx.selectFrom('declarations').select(['version', 'spec'])
          .where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
        if (stored?.spec === text) {
          changes.push({ kind, name, change: 'unchanged', version: stored.version });
          continue;
        }
        const version = (stored?.version ?? 0) + 1;
        const row = { kind, name, version, spec: text, applied_at: at, actor: meta.actor };
        if (stored) {
          await tx.updateTable('declarations').set({ version, spec: text, applied_at: at, actor: meta.actor })
            .where('kind', '=', kind).where('name', '=', name).execute();
        } else {
          await tx.insertInto('declarations').values(row).execute();
        }
        await tx.insertInto('declaration_versions').values(row).execute();
        if (kind === 'artifact') {
          await tx.insertInto('artifacts').values({ name, current_version: null })
            .onConflict((oc) => oc.column('name').doNothing()).execute();
        }
        changes.push({ kind, name, change: stored ? 'updated' : 'created', version });
      }
      const changed = changes.filter((c) => c.change !== 'unchanged');
      if (changed.length > 0) {
        await appendCommitted(tx, [{
          type: 'declarations.applied',
          at,
          rollout_id: null,
          payload: { actor: meta.actor, ...(meta.file !== undefined ? { file: meta.file } : {}), changes: changed },
        }]);
      }
      return { changes };
    });
  }

  async listModules(): Promise<ModuleDecl[]> {
    return (await this.#specs('module')).map((r) => parseJson<ModuleDecl>(r.spec));
  }

  async listPolicies(): Promise<PolicySpec[]> {
    return (await this.#specs('policy')).map((r) => parseJson<PolicySpec>(r.spec));
  }

  async listArtifacts(): Promise<ArtifactRecord[]> {
    const rows = await this.#artifactQuery().orderBy('declarations.name').execute();
    return rows.map(toArtifactRecord);
  }

  async getModule(name: string): Promise<ModuleDecl | undefined> {
    const row = await this.#spec('module', name);
    return row && parseJson<ModuleDecl>(row.spec);
  }

  async getPolicy(name: string): Promise<PolicySpec | undefined> {
    const row = await this.#spec('policy', name);
    return row && parseJson<PolicySpec>(row.spec);
  }

  async getArtifact(name: string): Promise<ArtifactRecord | undefined> {
    const row = await this.#artifactQuery().where('declarations.name', '=', name).executeTakeFirst();
    return row && toArtifactRecord(row);
  }

  async declarationHistory(kind: DeclarationKind, name: string): Promise<DeclarationVersion[]> {
    const rows = await this.#db.selectFrom('declaration_versions').selectAll()
      .where('kind', '=', kind).where('name', '=', name).orderBy('version').execute();
    return rows.map((r) => ({
      kind, name, version: r.version, spec: parseJson<DeclarationVersion['spec']>(r.spec), applied_at: r.applied_at, actor: r.actor,
    }));
  }

  #specs(kind: DeclarationKind) {
    return this.#db.selectFrom('declarations').select('spec').where('kind', '=', kind).orderBy('name').execute();
  }

  #spec(kind: DeclarationKind, name: string) {
    return this.#db.selectFrom('declarations').select('spec')
      .where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
  }

  #artifactQuery() {
    return this.#db.selectFrom('declarations')
      .leftJoin('artifacts', 'artifacts.name', 'declarations.name')
      .select(['declarations.spec', 'declarations.version', 'artifacts.current_version'])
      .where('declarations.kind', '=', 'artifact');
  }

  // ── artifact versions ─────────────────────────────────────────────────────

  async putVersion(v: NewVersion, meta: { actor: string }): Promise<PutVersionResult> {
    try {
      return await this.#write(async (tx) => {
        const existing = await selectVersion(tx, v.artifact, v.version);
        if (existing) return versionExists(existing, v);
        const row: VersionRow = {
          artifact: v.artifact, version: v.version, sha256: v.sha256, size: v.content.length,
          content: v.content, forced: v.forced ? 1 : 0, created_at: v.created_at, signature: v.signature ?? null,
          manifest: manifestText(v.manifest ?? null),
          entries: v.entries ?? null, pushed_by: meta.actor,
          signer: v.signer ? JSON.stringify(v.signer) : null, checks: v.checks ? JSON.stringify(v.checks) : null,
        };
        await tx.insertInto('versions').values(row).execute();
        const version = toVersionRecord(row);
        await appendCommitted(tx, [{
          type: 'artifact.version_pushed',
          at: v.created_at,
          rollout_id: null,
          payload: { ...version, actor: meta.actor },
        }]);
        return { ok: true as const, created: true, version };
      });
    } catch (err) {
      // Another writer inserted the same (artifact, version) between our read and our insert.
      if (!isUniqueViolation(err)) throw err;
      const existing = await selectVersion(this.#db, v.artifact, v.version);
      if (!existing) throw err;
      return versionExists(existing, v);
    }
  }

  async getVersion(artifact: string, version: string): Promise<VersionRecord | undefined> {
    return selectVersion(this.#db, artifact, version);
  }

  async getVersionContent(artifact: string, version: string): Promise<Buffer | undefined> {
    const row = await this.#db.selectFrom('versions').select('content')
      .where('artifact', '=', artifact).where('version', '=', version).executeTakeFirst();
    return row && Buffer.from(row.content);
  }

  async listVersions(artifact: string): Promise<VersionRecord[]> {
    const rows = await this.#db.selectFrom('versions')
      .select(VERSION_COLUMNS)
      .where('artifact', '=', artifact).orderBy('created_at').orderBy('version').execute();
    return rows.map(toVersionRecord);
  }

  // ── nodes ─────────────────────────────────────────────────────────────────

  async upsertNode(n: { id: string; labels: Record<string, string>; modules: string[] }, at: number, admit = true): Promise<NodeRecord> {
    const labels = canonicalJson(n.labels);
    const modules = canonicalJson(n.modules);
    return this.#write(async (tx) => {
      const stored = await tx.selectFrom('nodes').selectAll().where('id', '=', n.id).executeTakeFirst();
      if (!stored) {
        const row: NodeRow = { id: n.id, labels, modules, registered_at: at, last_seen_at: at, pins: null, signal_problems: null, enrolment: admit ? 'approved' : 'pending', changed_at: at };
        await tx.insertInto('nodes').values(row).execute();
        await appendCommitted(tx, [{ type: 'node.registered', at, rollout_id: null, payload: { node: n.id, labels: n.labels, modules: n.modules, enrolment: row.enrolment } }]);
        return toNodeRecord(row);
      }
      if (admit && stored.enrolment !== 'approved') {
        await tx.updateTable('nodes').set({ enrolment: 'approved', changed_at: at }).where('id', '=', n.id).execute();
        await appendCommitted(tx, [{ type: 'node.approved', at, rollout_id: null, payload: { node: n.id, by: 'join token' } }]);
      }
      const changed = stored.labels !== labels || stored.modules !== modules;
      await tx.updateTable('nodes').set({ labels, modules, last_seen_at: at, ...(changed ? { changed_at: at } : {}) }).where('id', '=', n.id).execute();
      if (changed) {
        await appendCommitted(tx, [{
          type: 'node.updated',
          at,
          rollout_id: null,
          payload: {
            node: n.id, labels: n.labels, modules: n.modules,
            previous: { labels: parseJson<Record<string, string>>(stored.labels), modules: parseJson<string[]>(stored.modules) },
          },
        }]);
      }
      return toNodeRecord({ ...stored, labels, modules, last_seen_at: at });
    });
  }

  async touchNode(id: string, at: number): Promise<void> {
    await this.#db.updateTable('nodes').set({ last_seen_at: at }).where('id', '=', id).execute();
  }

  async getNode(id: string): Promise<NodeRecord | undefined> {
    const row = await this.#db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toNodeRecord(row);
  }

  async listNodes(): Promise<NodeRecord[]> {
    const rows = await this.#db.selectFrom('nodes').selectAll().orderBy('id').execute();
    return rows.map(toNodeRecord);
  }

  /** Nodes whose labels, modules, enrolment, pins or signal problems changed at or after `since` (the controller's fleet view). */
  async nodesChangedSince(since: number): Promise<NodeRecord[]> {
    const rows = await this.#db.selectFrom('nodes').selectAll().where('changed_at', '>=', since).execute();
    return rows.map(toNodeRecord);
  }

  /** Load reports of `artifact` received at or after `since`. */
  async loadsChangedSince(artifact: string, since: number): Promise<LoadReport[]> {
    const rows = await this.#db.selectFrom('node_loads').selectAll().where('artifact', '=', artifact).where('at', '>=', since).execute();
    return rows.map(toLoadReport);
  }

  async approveNode(id: string, actor: string, at: number): Promise<boolean> {
    return this.#write(async (tx) => {
      const r = await tx.updateTable('nodes').set({ enrolment: 'approved', changed_at: at }).where('id', '=', id).where('enrolment', '<>', 'approved').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await appendCommitted(tx, [{ type: 'node.approved', at, rollout_id: null, payload: { node: id, by: actor } }]);
      return true;
    });
  }

  async setNodePins(id: string, pins: readonly PinRecord[], at: number): Promise<void> {
    const text = pins.length === 0 ? null : canonicalJson([...pins].sort((a, b) => a.artifact.localeCompare(b.artifact)));
    await this.#write(async (tx) => {
      const stored = await tx.selectFrom('nodes').select('pins').where('id', '=', id).executeTakeFirst();
      if (!stored || stored.pins === text) return;
      await tx.updateTable('nodes').set({ pins: text, changed_at: at }).where('id', '=', id).execute();
      await appendCommitted(tx, [{ type: 'node.pins_changed', at, rollout_id: null, payload: { node: id, pins: pins as unknown as Record<string, unknown>[], previous: parseJson<unknown[]>(stored.pins ?? '[]') } }]);
    });
  }

  async setNodeSignalProblems(id: string, problems: readonly SignalProblem[], at: number): Promise<void> {
    const sorted = [...problems].sort((a, b) => a.module.localeCompare(b.module));
    const identity = (list: readonly SignalProblem[]) => canonicalJson(list.map((p) => [p.module, p.source, p.reason, p.message]));
    await this.#write(async (tx) => {
      const stored = await tx.selectFrom('nodes').select('signal_problems').where('id', '=', id).executeTakeFirst();
      if (!stored) return;
      const previous = stored.signal_problems ? parseJson<SignalProblem[]>(stored.signal_problems) : [];
      if (identity(previous) === identity(sorted)) return;
      // A module that still fails (for another reason) keeps the time it began to.
      const kept = sorted.map((p) => ({ ...p, since: Math.min(p.since, previous.find((q) => q.module === p.module)?.since ?? p.since) }));
      await tx.updateTable('nodes').set({ signal_problems: kept.length === 0 ? null : canonicalJson(kept), changed_at: at }).where('id', '=', id).execute();
      await appendCommitted(tx, [{ type: 'node.signal_problems_changed', at, rollout_id: null, payload: { node: id, problems: kept as unknown as Record<string, unknown>[], previous: previous as unknown as Record<string, unknown>[] } }]);
    });
  }

  async recordBreakglass(nodeId: string, entries: readonly BreakglassRecord[], at: number): Promise<number> {
    if (entries.length === 0) return 0;
    return this.#write(async (tx) => {
      const known = new Set((await tx.selectFrom('breakglass_log').select('seq').where('node_id', '=', nodeId)
        .where('seq', 'in', entries.map((e) => e.seq)).execute()).map((r) => Number(r.seq)));
      const fresh = entries.filter((e, i) => !known.has(e.seq) && entries.findIndex((x) => x.seq === e.seq) === i);
      if (fresh.length === 0) return 0;
      // The envelope goes to breakglass_envelopes, once per distinct command (a fan-out sends every node the same one,
      // and a pin may carry 16 MiB of content); the entry and its event keep its sha256, so the chained event log
      // names exactly which signed bytes back each record.
      const rows = fresh.map((e) => {
        const { envelope, ...rest } = e;
        const env = isEnvelope(envelope) ? envelope : undefined;
        return { entry: env ? { ...rest, envelope_sha256: envelopeSha256(env) } : rest, env };
      });
      const envelopes = new Map(rows.flatMap((r) => (r.env ? [[envelopeSha256(r.env), envelopeText(r.env)] as const] : [])));
      for (const [sha256, text] of envelopes) {
        await tx.insertInto('breakglass_envelopes').values({ sha256, envelope: text, received_at: at }).onConflict((oc) => oc.column('sha256').doNothing()).execute();
      }
      await tx.insertInto('breakglass_log').values(rows.map(({ entry: e }) => ({ node_id: nodeId, seq: e.seq, at: e.at, received_at: at, entry: JSON.stringify(e) }))).execute();
      await appendCommitted(tx, rows.map(({ entry: e }) => ({ type: 'breakglass.command', at, rollout_id: null, payload: { ...e, node: nodeId } })));
      return fresh.length;
    });
  }

  async getBreakglassEnvelope(sha256: string): Promise<BreakglassEnvelope | undefined> {
    const row = await this.#db.selectFrom('breakglass_envelopes').select('envelope').where('sha256', '=', sha256).executeTakeFirst();
    return row ? parseJson<BreakglassEnvelope>(row.envelope) : undefined;
  }

  async listBreakglass(filter: { node?: string; limit?: number } = {}): Promise<(BreakglassRecord & { node_id: string; received_at: number })[]> {
    let q = this.#db.selectFrom('breakglass_log').selectAll();
    if (filter.node !== undefined) q = q.where('node_id', '=', filter.node);
    const rows = await q.orderBy('received_at', 'desc').orderBy('node_id').orderBy('seq', 'desc').limit(filter.limit ?? 1000).execute();
    return rows.map((r) => ({ ...parseJson<BreakglassRecord>(r.entry), node_id: r.node_id, received_at: Number(r.received_at) }));
  }

  async recordLoad(report: LoadReport): Promise<void> {
    const row: NodeLoadRow = {
      node_id: report.node_id, artifact: report.artifact, version: report.version, ok: report.ok ? 1 : 0,
      serving: report.serving, error: report.error, at: report.at, module_state: report.module_state ?? null,
    };
    await this.#write(async (tx) => {
      const stored = await tx.selectFrom('node_loads').selectAll()
        .where('node_id', '=', report.node_id).where('artifact', '=', report.artifact).executeTakeFirst();
      const changed = !stored || stored.version !== row.version || stored.ok !== row.ok
        || stored.serving !== row.serving || stored.error !== row.error || stored.module_state !== row.module_state;
      await tx.insertInto('node_loads').values(row)
        .onConflict((oc) => oc.columns(['node_id', 'artifact']).doUpdateSet({
          version: row.version, ok: row.ok, serving: row.serving, error: row.error, at: row.at, module_state: row.module_state,
        }))
        .execute();
      // Agents re-report periodically; only a change is worth a line in the log.
      if (changed) {
        await appendCommitted(tx, [{
          type: 'node.load_reported',
          at: report.at,
          rollout_id: null,
          payload: {
            node: report.node_id, artifact: report.artifact, version: report.version, ok: report.ok,
            serving: report.serving, error: report.error, module_state: row.module_state,
          },
        }]);
      }
    });
  }

  async listLoads(artifact: string): Promise<LoadReport[]> {
    const rows = await this.#db.selectFrom('node_loads').selectAll().where('artifact', '=', artifact).orderBy('node_id').execute();
    return rows.map(toLoadReport);
  }

  async listNodeLoads(nodeId: string): Promise<LoadReport[]> {
    const rows = await this.#db.selectFrom('node_loads').selectAll().where('node_id', '=', nodeId).orderBy('artifact').execute();
    return rows.map(toLoadReport);
  }

  // ── metrics ───────────────────────────────────────────────────────────────

  async insertMetrics(nodeId: string, at: number, modules: Record<string, ModuleCounters>): Promise<void> {
    const rows = Object.entries(modules).map(([module, c]) => ({
      node_id: nodeId, module, at,
      requests: c.requests, errors: c.errors, loads_attempted: c.loads_attempted, loads_succeeded: c.loads_succeeded,
      latency_buckets: JSON.stringify(c.latency_buckets), counters: JSON.stringify(c.counters),
    }));
    if (rows.length === 0) return;
    await this.#db.insertInto('metric_samples').values(rows).execute();
  }

  async metricsByNode(module: string, fromMs: number, toMs: number): Promise<Map<string, MetricAggregate>> {
    // Both reads in one snapshot, so the JSON sums and the SQL sums cover the same samples.
    return this.#db.transaction().setAccessMode('read only').execute(async (tx) => {
      const window = tx.selectFrom('metric_samples')
        .where('module', '=', module).where('at', '>=', fromMs).where('at', '<=', toMs);
      const sums = await window
        .select((eb) => [
          'node_id',
          eb.fn.sum<number>('requests').as('requests'),
          eb.fn.sum<number>('errors').as('errors'),
          eb.fn.sum<number>('loads_attempted').as('loads_attempted'),
          eb.fn.sum<number>('loads_succeeded').as('loads_succeeded'),
        ])
        .groupBy('node_id').execute();
      const jsonRows = await window.select(['node_id', 'latency_buckets', 'counters']).execute();

      const byNode = new Map<string, { latency_buckets: number[]; counters: Record<string, number> }>();
      for (const row of jsonRows) {
        let acc = byNode.get(row.node_id);
        if (!acc) byNode.set(row.node_id, acc = { latency_buckets: [], counters: {} });
        addBuckets(acc.latency_buckets, parseJson<number[]>(row.latency_buckets));
        addCounters(acc.counters, parseJson<Record<string, number>>(row.counters));
      }
      const result = new Map<string, MetricAggregate>();
      for (const s of sums) {
        const acc = byNode.get(s.node_id) ?? { latency_buckets: [], counters: {} };
        result.set(s.node_id, {
          requests: Number(s.requests), errors: Number(s.errors),
          loads_attempted: Number(s.loads_attempted), loads_succeeded: Number(s.loads_succeeded),
          latency_buckets: acc.latency_buckets, counters: acc.counters, nodes: 1,
        });
      }
      return result;
    });
  }

  async metricSamplesSince(module: string, since: { atMs: number } | { afterId: number }): Promise<MetricSample[]> {
    const q = this.#db.selectFrom('metric_samples').selectAll().where('module', '=', module);
    const rows = await ('atMs' in since ? q.where('at', '>=', since.atMs) : q.where('id', '>', since.afterId)).execute();
    return rows.map((r) => ({
      id: Number(r.id), node_id: r.node_id, at: Number(r.at),
      counters: {
        requests: Number(r.requests), errors: Number(r.errors), loads_attempted: Number(r.loads_attempted), loads_succeeded: Number(r.loads_succeeded),
        latency_buckets: parseJson<number[]>(r.latency_buckets), counters: parseJson<Record<string, number>>(r.counters), nodes: 1,
      },
    }));
  }

  async pruneMetrics(beforeMs: number): Promise<number> {
    const r = await this.#db.deleteFrom('metric_samples').where('at', '<', beforeMs).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ── rollouts ──────────────────────────────────────────────────────────────

  async createRollout(state: RolloutState, events: RolloutEvent[], opts: { spendApproval?: string } = {}): Promise<CreateRolloutResult> {
    try {
      return await this.#write(async (tx) => {
        const active = await activeRolloutId(tx, state.artifact);
        if (active !== undefined) return { ok: false as const, code: 'ROLLOUT_ACTIVE' as const, active };
        // The caller read the current version before this transaction: a rollout that completed in between
        // would make this one start "from" a version the fleet no longer runs (and its gate compare the wrong manifests).
        const current = await tx.selectFrom('artifacts').select('current_version').where('name', '=', state.artifact).executeTakeFirst();
        if (current && current.current_version !== state.from_version) return { ok: false as const, code: 'CURRENT_CHANGED' as const, current: current.current_version };
        if (opts.spendApproval !== undefined) {
          // Spent in the same transaction: an approval lets exactly one rollout through, even across a crash.
          const spent = await tx.updateTable('gate_approvals').set({ used_by: state.id, used_at: state.created_at })
            .where('id', '=', opts.spendApproval).where('used_by', 'is', null).executeTakeFirst();
          if (Number(spent.numUpdatedRows) !== 1) return { ok: false as const, code: 'APPROVAL_SPENT' as const, approval: opts.spendApproval };
        }
        await tx.insertInto('rollouts').values({
          id: state.id, artifact: state.artifact, status: state.status, rev: state.rev,
          state: JSON.stringify(state), created_at: state.created_at, updated_at: state.updated_at,
        }).execute();
        await appendCommitted(tx, events);
        return { ok: true as const };
      });
    } catch (err) {
      // A concurrent create won the race: the partial unique index refused ours.
      if (!isUniqueViolation(err)) throw err;
      const active = await activeRolloutId(this.#db, state.artifact);
      if (active === undefined || active === state.id) throw err;
      return { ok: false, code: 'ROLLOUT_ACTIVE', active };
    }
  }

  async getRollout(id: string): Promise<RolloutState | undefined> {
    const row = await this.#db.selectFrom('rollouts').select('state').where('id', '=', id).executeTakeFirst();
    return row && parseJson<RolloutState>(row.state);
  }

  async listRollouts(filter: RolloutListFilter = {}): Promise<RolloutState[]> {
    let q = this.#db.selectFrom('rollouts').select('state').orderBy('created_at', 'desc').orderBy('id', 'desc');
    if (filter.active === true) q = q.where('status', 'not in', terminal);
    if (filter.active === false) q = q.where('status', 'in', terminal);
    if (filter.artifact !== undefined) q = q.where('artifact', '=', filter.artifact);
    if (filter.status !== undefined) q = filter.status.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('status', 'in', [...filter.status]);
    const before = filter.before;
    if (before !== undefined) {
      q = q.where((eb) => eb.or([eb('created_at', '<', before.created_at), eb.and([eb('created_at', '=', before.created_at), eb('id', '<', before.id)])]));
    }
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    const rows = await q.execute();
    return rows.map((r) => parseJson<RolloutState>(r.state));
  }

  async transitionRollout(next: RolloutState, events: RolloutEvent[], fence?: Fence): Promise<boolean> {
    return this.#write(async (tx) => {
      // Under a lease, checked first and in this transaction: a holder that lost it writes nothing.
      if (fence && !(await this.leases.holds(tx, fence))) return false;
      const r = await tx.updateTable('rollouts')
        .set({ state: JSON.stringify(next), status: next.status, rev: next.rev, updated_at: next.updated_at })
        .where('id', '=', next.id).where('rev', '=', next.rev - 1)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await appendCommitted(tx, events);
      if (next.status === 'completed') {
        await tx.insertInto('artifacts').values({ name: next.artifact, current_version: next.to_version })
          .onConflict((oc) => oc.column('name').doUpdateSet({ current_version: next.to_version }))
          .execute();
      }
      return true;
    });
  }

  // ── event log ─────────────────────────────────────────────────────────────

  async appendEvents(events: RolloutEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Reading the chain's head and appending onto it is one transaction.
    await this.#write((tx) => appendCommitted(tx, events));
  }

  async verifyEvents(opts: { checkpoints?: readonly ChainHead[]; pageSize?: number } = {}): Promise<ChainVerdict> {
    return verifyEventLog(this.#db, opts);
  }

  async listEvents(filter: EventFilter): Promise<StoredEvent[]> {
    // The newest `limit`, returned oldest first: the tail of the log, as `failsmall events` shows it.
    let q = this.#db.selectFrom('events').selectAll().orderBy('seq', filter.newest ? 'desc' : 'asc').limit(filter.limit ?? DEFAULT_EVENT_LIMIT);
    if (filter.rolloutId !== undefined) q = q.where('rollout_id', '=', filter.rolloutId);
    if (filter.afterSeq !== undefined) q = q.where('seq', '>', filter.afterSeq);
    if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
    if (filter.types !== undefined) {
      if (filter.types.length === 0) return [];
      q = q.where('type', 'in', filter.types);
    }
    // substr, not LIKE: `_` is a wildcard to LIKE and every other event type has one. Both engines have it.
    if (filter.typePrefix !== undefined) q = q.where(sql<string>`substr(type, 1, ${filter.typePrefix.length})`, '=', filter.typePrefix);
    const rows = await q.execute();
    if (filter.newest) rows.reverse();
    return rows.map((r) => ({
      seq: Number(r.seq), type: r.type, at: r.at, rollout_id: r.rollout_id, payload: parseJson<Record<string, unknown>>(r.payload),
    }));
  }

  // ── tokens ────────────────────────────────────────────────────────────────

  async createToken(t: { name: string; role: TokenRole; hash: string; created_by?: string | null; expires_at?: number | null; uses_left?: number | null }, at: number): Promise<void> {
    await this.#db.insertInto('tokens').values({
      hash: t.hash, name: t.name, role: t.role, created_at: at, created_by: t.created_by ?? null,
      expires_at: t.expires_at ?? null, uses_left: t.uses_left ?? null, revoked_at: null, revoked_by: null,
    }).execute();
  }

  async tokenLineage(): Promise<Map<string, string | null>> {
    // Revoked admin tokens stay: a person's name is theirs, and an approval they gave stays theirs.
    const rows = await this.#db.selectFrom('tokens').select(['name', 'created_by']).where('role', '=', 'admin').execute();
    return new Map(rows.map((r) => [personKey(r.name), r.created_by === null ? null : personKey(r.created_by)]));
  }

  async findToken(hash: string): Promise<{ name: string; role: TokenRole; expires_at: number | null } | undefined> {
    const row = await this.#db.selectFrom('tokens').select(['name', 'role', 'expires_at']).where('hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
    return row && { name: row.name, role: toTokenRole(row.role), expires_at: row.expires_at === null ? null : Number(row.expires_at) };
  }

  async countTokens(role?: TokenRole): Promise<number> {
    let q = this.#db.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n')).where('revoked_at', 'is', null);
    if (role !== undefined) q = q.where('role', '=', role);
    const row = await q.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = await this.#db.selectFrom('tokens').selectAll().orderBy('created_at').orderBy('name').execute();
    const num = (v: number | null) => (v === null ? null : Number(v));
    return rows.map((r) => ({
      name: r.name, role: toTokenRole(r.role), id: r.hash.slice(0, 8), created_at: Number(r.created_at), created_by: r.created_by,
      expires_at: num(r.expires_at), revoked_at: num(r.revoked_at), revoked_by: r.revoked_by, uses_left: num(r.uses_left),
    }));
  }

  async revokeTokens(name: string, actor: string, at: number): Promise<number> {
    return this.#write(async (tx) => {
      const r = await tx.updateTable('tokens').set({ revoked_at: at, revoked_by: actor }).where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
      const n = Number(r.numUpdatedRows);
      if (n > 0) await appendCommitted(tx, [{ type: 'token.revoked', at, rollout_id: null, payload: { name, count: n, actor } }]);
      return n;
    });
  }

  async takeJoinUse(hash: string): Promise<boolean> {
    // One statement, so two nodes enrolling at once cannot both take the last use.
    const r = await this.#db.updateTable('tokens').set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
      .where('hash', '=', hash).where('role', '=', 'join').where('revoked_at', 'is', null).where('uses_left', '>', 0).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return true;
    const row = await this.#db.selectFrom('tokens').select('uses_left').where('hash', '=', hash).where('role', '=', 'join').where('revoked_at', 'is', null).executeTakeFirst();
    return row !== undefined && row.uses_left === null;
  }

  /** Idempotent: closing twice waits for the same close. */
  close(): Promise<void> {
    this.#closing ??= (this.#feed?.close() ?? Promise.resolve()).then(() => this.#db.destroy()).then(() => this.#closed());
    return this.#closing;
  }
}

async function selectVersion(db: Db, artifact: string, version: string): Promise<VersionRecord | undefined> {
  const row = await db.selectFrom('versions')
    .select(VERSION_COLUMNS)
    .where('artifact', '=', artifact).where('version', '=', version).executeTakeFirst();
  return row && toVersionRecord(row);
}

/** Versions are immutable: pushing one again is a no-op only with the same content and the same manifest. */
function versionExists(existing: VersionRecord, pushed: NewVersion): PutVersionResult {
  return existing.sha256 === pushed.sha256 && manifestText(existing.manifest) === manifestText(pushed.manifest ?? null)
    ? { ok: true, created: false, version: existing }
    : { ok: false, code: 'VERSION_CONFLICT', existing };
}

async function activeRolloutId(db: Db, artifact: string): Promise<string | undefined> {
  const row = await db.selectFrom('rollouts').select('id')
    .where('artifact', '=', artifact).where('status', 'not in', terminal).executeTakeFirst();
  return row?.id;
}


function toArtifactRecord(row: { spec: string; version: number; current_version: string | null }): ArtifactRecord {
  return { ...parseJson<ArtifactDecl>(row.spec), current_version: row.current_version, declaration_version: row.version };
}

function toVersionRecord(row: Omit<VersionRow, 'content'>): VersionRecord {
  return {
    artifact: row.artifact, version: row.version, sha256: row.sha256, size: Number(row.size),
    forced: Boolean(row.forced), created_at: Number(row.created_at), signature: row.signature ?? null,
    manifest: row.manifest === null ? null : parseJson<VersionManifest>(row.manifest),
    entries: row.entries === null ? null : Number(row.entries), pushed_by: row.pushed_by ?? null,
    signer: row.signer ? parseJson<VersionSigner>(row.signer) : null,
    checks: row.checks ? parseJson<VersionCheck[]>(row.checks) : null,
  };
}

/** Canonical JSON of the edges as declared (without where a file declared them), so equal manifests compare equal. */
function manifestText(m: VersionManifest | null): string | null {
  if (m === null) return null;
  return canonicalJson({ depends_on: m.depends_on.map((e) => ({ on: e.on, hard: e.hard, fallback: e.fallback })) });
}

function toNodeRecord(row: NodeRow): NodeRecord {
  return {
    id: row.id, labels: parseJson<Record<string, string>>(row.labels), modules: parseJson<string[]>(row.modules),
    registered_at: row.registered_at, last_seen_at: row.last_seen_at, pins: row.pins ? parseJson<PinRecord[]>(row.pins) : [],
    signal_problems: row.signal_problems ? parseJson<SignalProblem[]>(row.signal_problems) : [],
    enrolment: row.enrolment === 'pending' ? 'pending' : 'approved',
  };
}

function toLoadReport(row: NodeLoadRow): LoadReport {
  return {
    node_id: row.node_id, artifact: row.artifact, version: row.version, ok: Boolean(row.ok),
    serving: row.serving, error: row.error, at: row.at, module_state: row.module_state,
  };
}

function toTokenRole(role: string): TokenRole {
  const known = TOKEN_ROLES.find((r) => r === role);
  if (known) return known;
  throw new Error(`unknown token role in store: ${role}`);
}

/** JSON the store wrote itself; its shape is the one it was written with. */
function isEnvelope(v: unknown): v is BreakglassEnvelope {
  return typeof v === 'object' && v !== null && typeof (v as BreakglassEnvelope).payload === 'string' && typeof (v as BreakglassEnvelope).signature === 'string';
}

function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** A primary-key or unique-index violation, on either engine. */
function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('code' in err)) return false;
  const code = err.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
