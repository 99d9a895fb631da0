import { Migrator, sql, type Kysely } from 'kysely';
import { migrationProvider, type StoreEngine } from './migrations.ts';
import { PgChangeFeed } from './change-feed.ts';
import { openPostgres } from './postgres.ts';
import type { StoreSchema } from './schema.ts';
import { SqlStore } from './sql-store.ts';
import { openSqlite } from './sqlite.ts';
import type { Store } from './types.ts';

export type * from './types.ts';
export { SqlStore } from './sql-store.ts';
export { canonicalJson } from './canonical-json.ts';

export type StoreConfig =
  | { readonly engine: 'sqlite'; readonly path: string }
  | { readonly engine: 'postgres'; readonly url: string };

/** The default embedded store, relative to the working directory. */
export const DEFAULT_STORE_URL = 'sqlite:.failsmall/failsmall.db';

/**
 * Opens the store and brings its schema up to date. Migrating is safe to repeat, and on
 * PostgreSQL several replicas may open at once (Kysely's migrator takes an advisory lock).
 *
 * Examples
 * ```ts
 * const store = await openStore({ engine: 'sqlite', path: ':memory:' });
 * const store2 = await openStore(parseStoreUrl(process.env.FAILSMALL_STORE ?? DEFAULT_STORE_URL));
 * ```
 */
export async function openStore(config: StoreConfig): Promise<SqlStore> {
  const { db, closed } = config.engine === 'sqlite'
    ? { db: openSqlite(config.path), closed: async () => undefined }
    : openPostgres(config.url);
  try {
    await migrate(db, config.engine);
  } catch (err) {
    await db.destroy();
    await closed();
    throw err;
  }
  return new SqlStore(db, config.engine, closed, config.engine === 'postgres' ? (origin) => new PgChangeFeed(config.url, origin) : undefined);
}

async function migrate(db: Kysely<StoreSchema>, engine: StoreEngine): Promise<void> {
  // Kysely finds its migration tables by introspecting every schema; pin them to ours so that
  // another schema in the same PostgreSQL database (another app, another test) cannot mislead it.
  const migrationTableSchema = engine === 'postgres' ? await currentSchema(db) : undefined;
  const migrator = new Migrator({
    db, provider: migrationProvider(engine), ...(migrationTableSchema !== undefined ? { migrationTableSchema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`store migration ${failed} failed on ${engine}: ${String(error instanceof Error ? error.message : error)}`, { cause: error });
  }
}

async function currentSchema(db: Kysely<StoreSchema>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('PostgreSQL has no current schema: check search_path for the store\'s user');
  return schema;
}

/**
 * Reads a store location: `postgres://…` / `postgresql://…` select PostgreSQL; `sqlite:PATH`
 * or a plain file path select SQLite.
 *
 * Examples
 * ```ts
 * parseStoreUrl('sqlite:.failsmall/failsmall.db') // { engine: 'sqlite', path: '.failsmall/failsmall.db' }
 * parseStoreUrl('/var/lib/failsmall.db')          // { engine: 'sqlite', path: '/var/lib/failsmall.db' }
 * parseStoreUrl('postgres://u@db:5432/failsmall') // { engine: 'postgres', url: 'postgres://u@db:5432/failsmall' }
 * ```
 */
export function parseStoreUrl(s: string): StoreConfig {
  const text = s.trim();
  if (text === '') throw new Error('store location is empty: expected sqlite:PATH, a file path, or postgres://…');
  if (/^postgres(ql)?:\/\//i.test(text)) return { engine: 'postgres', url: text };
  if (/^sqlite:/i.test(text)) {
    // Accept sqlite:PATH as well as sqlite://PATH (sqlite:///abs/path keeps its leading slash).
    const path = text.slice('sqlite:'.length).replace(/^\/\//, '');
    if (path === '') throw new Error(`store location "${s}" has no path: expected sqlite:PATH`);
    return { engine: 'sqlite', path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new Error(`store location "${s}" has an unsupported scheme: expected sqlite:PATH, a file path, or postgres://…`);
  }
  return { engine: 'sqlite', path: text };
}
