import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery, Kysely, SqliteDialect, SqliteDriver,
  type DatabaseConnection, type Driver, type SqliteDialectConfig, type TransactionSettings,
} from 'kysely';
import type { StoreSchema } from './schema.ts';

/**
 * Opens (creating when missing) a SQLite database for the store.
 *
 * WAL with synchronous=NORMAL survives a crash of the process (kill -9) without losing a
 * committed transaction; only a power loss may drop the last few. busy_timeout covers a second
 * process (e.g. the CLI) writing to the same file.
 *
 * Examples
 * ```ts
 * const db = openSqlite('.failsmall/failsmall.db');
 * ```
 */
export function openSqlite(path: string): Kysely<StoreSchema> {
  if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  return new Kysely<StoreSchema>({ dialect: new ImmediateSqliteDialect({ database }, database) });
}

/**
 * Write transactions start with BEGIN IMMEDIATE: they take the write lock up front, so a
 * transaction that reads before it writes waits on busy_timeout instead of failing with
 * SQLITE_BUSY when another process committed in between. Read-only transactions stay deferred.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #database: Database.Database;

  constructor(config: SqliteDialectConfig, database: Database.Database) {
    super(config);
    this.#config = config;
    this.#database = database;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#database);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #database: Database.Database;

  constructor(config: SqliteDialectConfig, database: Database.Database) {
    super(config);
    this.#database = database;
  }

  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings): Promise<void> {
    const begin = settings?.accessMode === 'read only' ? 'begin' : 'begin immediate';
    await connection.executeQuery(CompiledQuery.raw(begin));
  }

  /**
   * SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR,
   * SQLITE_NOMEM): a ROLLBACK after that fails with "no transaction is active", and that error
   * would replace the one that says what happened (a full volume). Roll back only what is open.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#database.inTransaction) return;
    await super.rollbackTransaction(connection);
  }
}
