import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { verifyEventLog, type ChainHead, type ChainVerdict } from './event-chain.ts';
import type { StoreConfig } from './index.ts';
import { openPostgres } from './postgres.ts';
import type { StoreSchema } from './schema.ts';

/** Why a store's event log cannot be audited. */
export class EventLogUnavailable extends Error {
  /** STORE_UNREADABLE: cannot open or query it; NOT_A_STORE: no events table; CHAIN_MISSING: from before migration 0011. */
  readonly code: 'STORE_UNREADABLE' | 'NOT_A_STORE' | 'CHAIN_MISSING';
  constructor(code: EventLogUnavailable['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A store's event log, opened for reading only. */
export interface EventLogReader {
  readonly engine: StoreConfig['engine'];
  verify(opts?: { checkpoints?: readonly ChainHead[]; pageSize?: number }): Promise<ChainVerdict>;
  close(): Promise<void>;
}

/**
 * Opens a store to audit its event log without a control plane, and without changing it: no
 * migration runs (a migration would chain whatever the copy holds), SQLite is opened read-only
 * and must exist, and only SELECTs are sent. So an auditor can check a copy of the database.
 *
 * Examples
 * ```ts
 * const log = await openEventLogReadOnly(parseStoreUrl('/backups/failsmall.db'));
 * try { console.log(describeVerdict(await log.verify())); } finally { await log.close(); }
 * ```
 */
export async function openEventLogReadOnly(config: StoreConfig): Promise<EventLogReader> {
  let db: Kysely<StoreSchema>;
  let closed: () => Promise<void> = async () => undefined;
  try {
    if (config.engine === 'sqlite') {
      db = new Kysely<StoreSchema>({ dialect: new SqliteDialect({ database: new Database(config.path, { readonly: true, fileMustExist: true }) }) });
    } else {
      ({ db, closed } = openPostgres(config.url));
    }
  } catch (err) {
    throw new EventLogUnavailable('STORE_UNREADABLE', `cannot open the store ${where(config)}: ${(err as Error).message}`, { cause: err });
  }
  const close = async () => { await db.destroy(); await closed(); };
  try {
    const columns = await eventColumns(db, config.engine);
    if (columns.size === 0) throw new EventLogUnavailable('NOT_A_STORE', `${where(config)} has no events table: not a failsmall store`);
    if (!columns.has('hash') || !columns.has('prev_hash')) {
      throw new EventLogUnavailable('CHAIN_MISSING', `${where(config)} predates the hash-chained event log (migration 0011): start failsmall serve on it once to chain it`);
    }
  } catch (err) {
    await close();
    if (err instanceof EventLogUnavailable) throw err;
    throw new EventLogUnavailable('STORE_UNREADABLE', `cannot read the store ${where(config)}: ${(err as Error).message}`, { cause: err });
  }
  return {
    engine: config.engine,
    verify: (opts = {}) => verifyEventLog(db, opts),
    close,
  };
}

async function eventColumns(db: Kysely<StoreSchema>, engine: StoreConfig['engine']): Promise<Set<string>> {
  const { rows } = engine === 'sqlite'
    ? await sql<{ name: string }>`SELECT name FROM pragma_table_info('events')`.execute(db)
    : await sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events'`.execute(db);
  return new Set(rows.map((r) => r.name));
}

function where(config: StoreConfig): string {
  // A PostgreSQL URL may carry a password: name the host and database only.
  if (config.engine === 'sqlite') return config.path;
  try {
    const u = new URL(config.url);
    return `postgres://${u.host}${u.pathname}`;
  } catch {
    return 'postgres://…';
  }
}
