import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { eventHash, GENESIS_HASH } from './event-chain.ts';

export type StoreEngine = 'sqlite' | 'postgres';

/**
 * The store's schema as in-code migrations, keyed so that they sort in order (`0001_init`, …).
 * Migrations never change once released: add a new one instead.
 *
 * Examples
 * ```ts
 * const migrator = new Migrator({ db, provider: migrationProvider('sqlite') });
 * await migrator.migrateToLatest();
 * ```
 */
export function migrationProvider(engine: StoreEngine): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '0001_init': init(engine),
        '0002_signatures_and_module_state': signaturesAndModuleState(),
        '0003_version_manifests': versionManifests(),
        '0004_breakglass': breakglass(),
        '0005_incidents': incidents(engine),
        '0006_gate_approvals': gateApprovals(),
        '0007_notification_outbox': notificationOutbox(engine),
        '0008_node_credentials': nodeCredentials(),
        '0009_token_lineage': tokenLineage(),
        '0010_node_signal_problems': nodeSignalProblems(),
        '0011_event_chain': eventChain(engine),
        '0012_token_lifecycle': tokenLifecycle(),
        '0013_node_enrolment': nodeEnrolment(),
        '0014_breakglass_envelopes': breakglassEnvelopes(),
        '0015_timeline_by_kind': timelineByKind(),
        '0016_incident_subject': incidentSubject(),
        '0017_version_provenance': versionProvenance(),
        '0018_leases': leases(),
        '0019_change_times': changeTimes(),
      };
    },
  };
}

function init(engine: StoreEngine): Migration {
  const pg = engine === 'postgres';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('declarations')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('declarations_pk', ['kind', 'name'])
        .execute();

      await db.schema.createTable('declaration_versions')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('declaration_versions_pk', ['kind', 'name', 'version'])
        .addForeignKeyConstraint('declaration_versions_decl_fk', ['kind', 'name'], 'declarations', ['kind', 'name'])
        .execute();

      // Runtime state of a declared artifact, kept apart from its spec so re-applying never resets it.
      await db.schema.createTable('artifacts')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('current_version', 'text')
        .execute();

      await db.schema.createTable('versions')
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('content', pg ? sql`bytea` : 'blob', (c) => c.notNull())
        .addColumn('forced', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('versions_pk', ['artifact', 'version'])
        .execute();

      await db.schema.createTable('nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('modules', 'text', (c) => c.notNull())
        .addColumn('registered_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema.createTable('node_loads')
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('version', 'text')
        .addColumn('ok', 'integer', (c) => c.notNull())
        .addColumn('serving', 'text')
        .addColumn('error', 'text')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('node_loads_pk', ['node_id', 'artifact'])
        .execute();
      await db.schema.createIndex('node_loads_artifact').on('node_loads').column('artifact').execute();

      await db.schema.createTable('metric_samples')
        .addColumn('id', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull())
        .addColumn('errors', 'bigint', (c) => c.notNull())
        .addColumn('loads_attempted', 'bigint', (c) => c.notNull())
        .addColumn('loads_succeeded', 'bigint', (c) => c.notNull())
        .addColumn('latency_buckets', 'text', (c) => c.notNull())
        .addColumn('counters', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('metric_samples_module_at').on('metric_samples').columns(['module', 'at']).execute();
      await db.schema.createIndex('metric_samples_at').on('metric_samples').column('at').execute();

      await db.schema.createTable('rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('rev', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // At most one non-terminal rollout per artifact, enforced by the database (same SQL on both engines).
      await sql`CREATE UNIQUE INDEX rollouts_one_active_per_artifact ON rollouts (artifact)
        WHERE status NOT IN ('completed', 'rolled_back', 'aborted')`.execute(db);
      await db.schema.createIndex('rollouts_created_at').on('rollouts').column('created_at').execute();

      await db.schema.createTable('events')
        .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('rollout_id', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_rollout_seq').on('events').columns(['rollout_id', 'seq']).execute();
      if (pg) {
        await sql`CREATE FUNCTION failsmall_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'events are append-only'; END; $$`.execute(db);
        await sql`CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
          FOR EACH ROW EXECUTE FUNCTION failsmall_events_append_only()`.execute(db);
        await sql`CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
          FOR EACH STATEMENT EXECUTE FUNCTION failsmall_events_append_only()`.execute(db);
      } else {
        await sql`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
          BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`.execute(db);
        await sql`CREATE TRIGGER events_no_delete BEFORE DELETE ON events
          BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`.execute(db);
      }

      await db.schema.createTable('tokens')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}

/** Issue 3: versions carry their ed25519 signature, and load reports the module's state after the load. */
function signaturesAndModuleState(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('versions').addColumn('signature', 'text').execute();
      await db.schema.alterTable('node_loads').addColumn('module_state', 'text').execute();
    },
  };
}

/**
 * Incidents and what feeds them: the incident, its timeline (idempotent by `dedup`), the alerts
 * grouped into it (one row per fingerprint), external change events, vendor status polls, and
 * the recorder's cursor over the event log.
 */
function incidents(engine: StoreEngine): Migration {
  const pg = engine === 'postgres';
  const serial = (t: ReturnType<Kysely<unknown>['schema']['createTable']>) =>
    t.addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('opened_by', 'text', (c) => c.notNull())
        .addColumn('opened_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_at', 'bigint')
        .addColumn('rollout_id', 'text')
        .execute();
      await serial(db.schema.createTable('incident_timeline'))
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('dedup', 'text')
        .execute();
      await db.schema.createIndex('incident_timeline_dedup').on('incident_timeline').columns(['incident_id', 'dedup']).unique().execute();
      await db.schema.createTable('incident_alerts')
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint')
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('receipts', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_alerts_pk', ['incident_id', 'fingerprint'])
        .execute();
      await db.schema.createTable('external_changes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('change', 'text', (c) => c.notNull())
        .execute();
      await serial(db.schema.createTable('vendor_polls'))
        .addColumn('vendor', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('poll', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('vendor_polls_at').on('vendor_polls').columns(['vendor', 'at']).execute();
      await db.schema.createTable('cursors')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}

/**
 * Break-glass, as agents report it: each node's active pins (JSON, null when none), and every
 * break-glass command a node logged, keyed by (node, line of its log) so a resent report is a no-op.
 */
function breakglass(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('nodes').addColumn('pins', 'text').execute();
      await db.schema.createTable('breakglass_log')
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('entry', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('breakglass_log_pk', ['node_id', 'seq'])
        .execute();
    },
  };
}

/** Issue 5: a version may carry a manifest (what it depends on), as canonical JSON; null when pushed without one. */
function versionManifests(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('versions').addColumn('manifest', 'text').execute();
    },
  };
}

/**
 * A second person's approval to take one version past the dependency gate, made with their own
 * token; spent by the rollout it lets through.
 */
function gateApprovals(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('gate_approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('from_version', 'text')
        .addColumn('findings', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('approver', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_by', 'text')
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('gate_approvals_version').on('gate_approvals').columns(['artifact', 'version']).execute();
    },
  };
}

/**
 * The notifier's outbox: one row per target and event, written when the event is notified and
 * updated after each attempt, so a restart loses no notice. Unique on (target, event_id): an
 * event notified twice (the recorder re-reading after a crash) is stored, and sent, once.
 * `seq` keeps creation order, in which a restart sends what is pending.
 */
function notificationOutbox(engine: StoreEngine): Migration {
  const pg = engine === 'postgres';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('notification_outbox')
        .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_at', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('notification_outbox_target_event').on('notification_outbox').columns(['target', 'event_id']).unique().execute();
      await db.schema.createIndex('notification_outbox_state').on('notification_outbox').columns(['state', 'seq']).execute();
    },
  };
}

/** Each node's own credential (its sha256), bound at first registration: the fleet token enrols a node once. */
function nodeCredentials(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('node_credentials')
        .addColumn('node_id', 'text', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}

/** Which token created which: the four-eyes check treats a token and the one that made it as one person. */
function tokenLineage(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('tokens').addColumn('created_by', 'text').execute();
    },
  };
}

/** Why a node sends no request metrics for a module (its scrape of the application fails): JSON, null when none. */
function nodeSignalProblems(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('nodes').addColumn('signal_problems', 'text').execute();
    },
  };
}

/** Tokens expire and are revoked (a revoked row stays, so the log's names keep meaning something). */
function tokenLifecycle(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('tokens').addColumn('expires_at', 'bigint').execute();
      await db.schema.alterTable('tokens').addColumn('revoked_at', 'bigint').execute();
      await db.schema.alterTable('tokens').addColumn('revoked_by', 'text').execute();
      // A join token enrols nodes straight into the fleet; uses_left null means no limit.
      await db.schema.alterTable('tokens').addColumn('uses_left', 'integer').execute();
    },
  };
}

/**
 * A node counts in cohorts, baselines and gates only once enrolment admitted it: 'approved'
 * (a join token, an admin, or the open mode) or 'pending' (the fleet token alone). Nodes that
 * registered before this migration were trusted then, and stay approved.
 */
function nodeEnrolment(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('nodes').addColumn('enrolment', 'text', (c) => c.notNull().defaultTo('approved')).execute();
    },
  };
}

/**
 * Issue 11, item 7: the signed envelopes of the break-glass commands nodes report, each stored
 * once by its sha256 (breakglass_log entries and breakglass.command events carry the sha256). One
 * fan-out reaches every node with one command, and a pin may carry its version's content (up to
 * 16 MiB): kept once per command, not once per node.
 */
function breakglassEnvelopes(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('breakglass_envelopes')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('envelope', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}

/** Triage reads an incident's timeline by kind (its rollout entries, its own last verdict). */
function timelineByKind(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('incident_timeline_kind').on('incident_timeline').columns(['incident_id', 'kind', 'at', 'seq']).execute();
    },
  };
}

/**
 * What an incident is about (JSON: artifacts, modules, dependencies, alerts) and when its last
 * signal came: the grouping rule joins a signal to an open incident only when they are related
 * (docs/incidents.md). Incidents from before have neither, and are related to nothing new.
 */
function incidentSubject(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('incidents').addColumn('about', 'text').execute();
      await db.schema.alterTable('incidents').addColumn('last_signal_at', 'bigint').execute();
    },
  };
}

/**
 * Issue 11: the event log becomes a hash chain. Each event gets prev_hash and hash (eventHash in
 * event-chain.ts), and the one-row table event_chain_head records the last seq and hash (its
 * row lock serialises appends). Existing events are chained in seq order, so the chain starts
 * at the first event ever written. The append-only UPDATE trigger is dropped for the backfill
 * and created again, inside one transaction on both engines (PostgreSQL's migrator opens one;
 * on SQLite this migration opens its own), so no one ever sees the log without it.
 */
function eventChain(engine: StoreEngine): Migration {
  const pg = engine === 'postgres';
  const appendOnlyTrigger = async (db: Kysely<unknown>, action: 'drop' | 'create') => {
    if (pg) {
      if (action === 'drop') {
        await sql`DROP TRIGGER IF EXISTS events_append_only ON events`.execute(db);
      } else {
        await sql`CREATE OR REPLACE FUNCTION failsmall_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'events are append-only'; END; $$`.execute(db);
        await sql`CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
          FOR EACH ROW EXECUTE FUNCTION failsmall_events_append_only()`.execute(db);
      }
    } else if (action === 'drop') {
      await sql`DROP TRIGGER IF EXISTS events_no_update`.execute(db);
    } else {
      await sql`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`.execute(db);
    }
  };
  const run = async (db: Kysely<unknown>) => {
    await sql`CREATE TABLE event_chain_head (id integer PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL)`.execute(db);
    // SQLite can add a NOT NULL column only with a default; PostgreSQL drops it after the backfill,
    // so there an insert that bypasses the chain fails instead of writing an empty hash.
    await sql`ALTER TABLE events ADD COLUMN prev_hash text NOT NULL DEFAULT ''`.execute(db);
    await sql`ALTER TABLE events ADD COLUMN hash text NOT NULL DEFAULT ''`.execute(db);
    await appendOnlyTrigger(db, 'drop');
    let head = { seq: 0, hash: GENESIS_HASH };
    for (;;) {
      const { rows } = await sql<{ seq: number | string; at: number | string; type: string; rollout_id: string | null; payload: string }>`
        SELECT seq, at, type, rollout_id, payload FROM events WHERE seq > ${head.seq} ORDER BY seq LIMIT 1000`.execute(db);
      if (rows.length === 0) break;
      for (const r of rows) {
        const fields = { seq: Number(r.seq), at: Number(r.at), type: r.type, rollout_id: r.rollout_id, payload: r.payload, prev_hash: head.hash };
        const hash = eventHash(fields);
        await sql`UPDATE events SET prev_hash = ${fields.prev_hash}, hash = ${hash} WHERE seq = ${fields.seq}`.execute(db);
        head = { seq: fields.seq, hash };
      }
    }
    await appendOnlyTrigger(db, 'create');
    if (pg) await sql`ALTER TABLE events ALTER COLUMN prev_hash DROP DEFAULT, ALTER COLUMN hash DROP DEFAULT`.execute(db);
    await sql`INSERT INTO event_chain_head (id, seq, hash) VALUES (1, ${head.seq}, ${head.hash})`.execute(db);
  };
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (pg) await run(db);
      else await db.transaction().execute(run);
    },
  };
}

/**
 * What a push established about a version, kept with it: the entries counted, the token that
 * pushed it, the key that signed it (JSON) and each declared check with its outcome (JSON).
 * Versions pushed before this migration keep nulls: the bytes are there, but how they were
 * checked then is not, and recomputing it now would claim a check that did not run.
 */
function versionProvenance(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('versions').addColumn('entries', 'bigint').execute();
      await db.schema.alterTable('versions').addColumn('pushed_by', 'text').execute();
      await db.schema.alterTable('versions').addColumn('signer', 'text').execute();
      await db.schema.alterTable('versions').addColumn('checks', 'text').execute();
    },
  };
}

/**
 * Leases (lease-store.ts): which replica does a rollout's controller work, or a job only one
 * replica may run, until when, and the epoch every fenced write checks.
 */
function leases(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('epoch', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}

/**
 * When a node's row last changed in a way a rollout cares about (labels, modules, enrolment,
 * pins, signal problems; not a heartbeat), so that the controller's in-memory fleet reads only
 * what changed since its last look. node_loads.at is already the time of each report.
 */
function changeTimes(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('nodes').addColumn('changed_at', 'bigint').execute();
      await sql`UPDATE nodes SET changed_at = registered_at`.execute(db);
      await db.schema.createIndex('nodes_changed_at').on('nodes').column('changed_at').execute();
      await db.schema.createIndex('node_loads_at').on('node_loads').columns(['artifact', 'at']).execute();
    },
  };
}
