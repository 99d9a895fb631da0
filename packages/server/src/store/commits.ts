import type { Kysely, Transaction } from 'kysely';
import type { RolloutEvent } from '@failsmall/core';
import { appendChained } from './event-chain.ts';
import type { StoreSchema } from './schema.ts';

/** The events each open write transaction has appended, until it commits. */
const written = new WeakMap<Transaction<StoreSchema>, RolloutEvent[]>();

/**
 * Appends events to the log in `tx` (the hash chain, appendChained) and keeps them for the
 * commit listeners of the `Commits` running the transaction. Call it as the transaction's last write.
 */
export async function appendCommitted(tx: Transaction<StoreSchema>, events: readonly RolloutEvent[]): Promise<void> {
  await appendChained(tx, events);
  written.set(tx, [...(written.get(tx) ?? []), ...events]);
}

/**
 * Runs a store's write transactions and, once one has committed, hands the events it appended
 * to the listeners (the server's log lines and metrics: `Store.onCommit`). Never before the
 * commit: the events of a transaction that rolled back were never in the log.
 *
 * Examples
 * ```ts
 * const commits = new Commits();
 * commits.listen((events) => console.log(events.map((e) => e.type)));
 * await commits.write(db, (tx) => appendCommitted(tx, [{ type: 'token.revoked', at: 1, rollout_id: null, payload: {} }]));
 * // ['token.revoked']
 * ```
 */
export class Commits {
  readonly #listeners = new Set<(events: readonly RolloutEvent[]) => void>();
  readonly #beforeCommit: ((tx: Transaction<StoreSchema>, events: readonly RolloutEvent[]) => Promise<void>) | undefined;

  /**
   * `beforeCommit` runs last inside each write transaction that appended events (PostgreSQL's
   * NOTIFY to the other replicas: delivered only if the transaction commits).
   */
  constructor(beforeCommit?: (tx: Transaction<StoreSchema>, events: readonly RolloutEvent[]) => Promise<void>) {
    this.#beforeCommit = beforeCommit;
  }

  listen(fn: (events: readonly RolloutEvent[]) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  async write<T>(db: Kysely<StoreSchema>, fn: (tx: Transaction<StoreSchema>) => Promise<T>): Promise<T> {
    let events: readonly RolloutEvent[] = [];
    const out = await db.transaction().execute(async (tx) => {
      const result = await fn(tx);
      events = written.get(tx) ?? [];
      if (events.length > 0 && this.#beforeCommit) await this.#beforeCommit(tx, events);
      return result;
    });
    if (events.length > 0) {
      for (const listen of this.#listeners) {
        // A listener (a log line, a metric) must never fail a write that is already durable.
        try { listen(events); } catch { /* the write stands */ }
      }
    }
    return out;
  }
}
