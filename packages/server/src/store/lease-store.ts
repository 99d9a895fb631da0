import { sql, type Kysely, type Transaction } from 'kysely';
import type { StoreEngine } from './migrations.ts';
import type { StoreSchema } from './schema.ts';

/**
 * A lease on one piece of work (a rollout's controller work, `rollout:ID`; a job every replica
 * could run but one must, `job:NAME`): who holds it, until when, and its epoch. The epoch goes up
 * each time the lease changes hands, and every write made under a lease carries it (a Fence),
 * checked in the same transaction: a holder that stalled past its lease (a GC pause, a stopped
 * VM) and wakes up to write finds another epoch and writes nothing.
 */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly epoch: number;
  readonly expires_at: number;
}

/** What a write under a lease checks, in its own transaction, before it writes. */
export interface Fence {
  readonly name: string;
  readonly holder: string;
  readonly epoch: number;
  /** The writer's clock now: the lease must not have expired by it. */
  readonly now: number;
}

/**
 * Leases in the store's own database: no consensus of our own, the database's transactions are
 * the arbiter (one row per lease, taken with one upsert that only succeeds when the row is free,
 * expired, or already ours). On PostgreSQL a fenced write locks the lease row (FOR UPDATE), so a
 * takeover waits for the write in flight and the write sees any takeover that committed first.
 *
 * Examples
 * ```ts
 * const lease = await store.leases.acquire('rollout:r-1', 'replica-a', Date.now(), 10_000);
 * if (lease) await store.transitionRollout(next, events, { name: lease.name, holder: lease.holder, epoch: lease.epoch, now: Date.now() });
 * ```
 */
export class LeaseStore {
  readonly #db: Kysely<StoreSchema>;
  readonly #engine: StoreEngine;

  constructor(db: Kysely<StoreSchema>, engine: StoreEngine) {
    this.#db = db;
    this.#engine = engine;
  }

  /**
   * Takes or renews the lease until `now + ttlMs`: succeeds when no one holds it, when it has
   * expired, or when `holder` already holds it (a renewal keeps the epoch). null: someone else
   * holds it and it has not expired.
   */
  async acquire(name: string, holder: string, now: number, ttlMs: number): Promise<Lease | null> {
    const expires = now + ttlMs;
    const { rows } = await sql<{ epoch: number | string; expires_at: number | string }>`
      INSERT INTO leases (name, holder, epoch, expires_at) VALUES (${name}, ${holder}, 1, ${expires})
      ON CONFLICT (name) DO UPDATE SET
        epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch ELSE leases.epoch + 1 END,
        holder = excluded.holder,
        expires_at = excluded.expires_at
      WHERE leases.holder = excluded.holder OR leases.expires_at <= ${now}
      RETURNING epoch, expires_at`.execute(this.#db);
    const row = rows[0];
    return row ? { name, holder, epoch: Number(row.epoch), expires_at: Number(row.expires_at) } : null;
  }

  /** Gives the lease up at once (a clean stop), so another replica need not wait for it to expire. */
  async release(name: string, holder: string): Promise<void> {
    await this.#db.updateTable('leases').set({ expires_at: 0 }).where('name', '=', name).where('holder', '=', holder).execute();
  }

  async get(name: string): Promise<Lease | undefined> {
    const row = await this.#db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { name: row.name, holder: row.holder, epoch: Number(row.epoch), expires_at: Number(row.expires_at) };
  }

  /** Every lease whose name starts with `prefix` (`rollout:`), for health and metrics. */
  async list(prefix: string): Promise<Lease[]> {
    const rows = await this.#db.selectFrom('leases').selectAll().where('name', 'like', `${prefix.replace(/[%_\\]/g, '\\$&')}%`).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, holder: r.holder, epoch: Number(r.epoch), expires_at: Number(r.expires_at) }));
  }

  /** Forgets the leases of work that is over (a rollout that ended): the table holds live work only. */
  async drop(name: string): Promise<void> {
    await this.#db.deleteFrom('leases').where('name', '=', name).execute();
  }

  /**
   * Inside a write transaction: whether the fence still holds (same holder, same epoch, not
   * expired by the writer's clock). On PostgreSQL the row stays locked until the transaction ends.
   */
  async holds(tx: Transaction<StoreSchema>, fence: Fence): Promise<boolean> {
    const q = tx.selectFrom('leases').select(['holder', 'epoch', 'expires_at']).where('name', '=', fence.name);
    const row = await (this.#engine === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
    return row !== undefined && row.holder === fence.holder && Number(row.epoch) === fence.epoch && Number(row.expires_at) > fence.now;
  }
}
