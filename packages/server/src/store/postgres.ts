import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { StoreSchema } from './schema.ts';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Opens a pg Pool for the store. Timestamps and counters are bigint columns and SUM() gives
 * numeric; pg returns both as strings by default, so this pool parses them to numbers (epoch ms
 * and counters stay far below 2^53).
 *
 * Examples
 * ```ts
 * const { db, closed } = openPostgres('postgres://postgres@127.0.0.1:5432/failsmall');
 * await db.destroy();
 * await closed();
 * ```
 */
export function openPostgres(url: string): { db: Kysely<StoreSchema>; closed: () => Promise<void> } {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
        return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its server (restart, failover) is dropped by the pool; without a
  // listener, the pool's 'error' event would crash the process instead.
  pool.on('error', () => undefined);
  // pool.end() resolves before its clients' sockets have closed; closed() waits for them too.
  const live = new Set<pg.PoolClient>();
  let onEmpty: (() => void) | undefined;
  pool.on('connect', (client) => {
    live.add(client);
    // pg-pool takes its own 'error' listener off a client it lends out; a lent client whose server
    // goes away between two queries of a transaction would then crash the process (seen with
    // PostgreSQL restarted under a replica). The query in flight gets the error anyway, and the
    // pool drops the dead client when it comes back.
    client.on('error', () => undefined);
  });
  pool.on('remove', (client) => {
    live.delete(client);
    if (live.size === 0) onEmpty?.();
  });
  const closed = () => live.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => { onEmpty = resolve; });
  return { db: new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) }), closed };
}
