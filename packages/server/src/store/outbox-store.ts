import type { Kysely, Selectable } from 'kysely';
import type { OutboxRow, StoreSchema } from './schema.ts';

export type OutboxState = 'pending' | 'delivered' | 'dropped';

/** One event for one target, as the notifier's outbox keeps it. */
export interface OutboxEntry {
  /** The target's label (how logs and stats name it). */
  readonly target: string;
  readonly event_id: string;
  readonly kind: string;
  /** The event as it was notified. */
  readonly event: Readonly<Record<string, unknown>>;
  readonly attempts: number;
  /** When the next attempt is due (epoch ms). */
  readonly next_at: number;
  readonly state: OutboxState;
  /** Why the last attempt failed, or why the event was dropped. */
  readonly last_error: string | null;
  readonly created_at: number;
  readonly updated_at: number;
}

/** What an attempt changes: its count and, for a retry, when the next is due; or the final state. */
export interface OutboxUpdate {
  readonly attempts: number;
  readonly state?: OutboxState;
  readonly next_at?: number;
  readonly last_error?: string | null;
}

/**
 * The notifier's outbox: every event, per target, from the moment it is notified until it is
 * delivered or dropped, so a restart of the control plane loses no notice. The same queries on
 * SQLite and PostgreSQL. Keyed by (target, event id): adding an event a second time is a no-op.
 *
 * Examples
 * ```ts
 * const added = await store.outbox.add([{ target: 'webhook https://ops.example.com/failsmall', event }], Date.now());
 * for (const e of await store.outbox.pending()) console.log(e.target, e.event_id, e.attempts);
 * ```
 */
export class OutboxStore {
  readonly #db: Kysely<StoreSchema>;

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
  }

  /**
   * Stores `event` as pending for each target, due now. Returns the targets it was new for: a
   * target that already holds this event id (in any state) keeps its row.
   */
  async add(entries: readonly { target: string; event: { readonly id: string; readonly kind: string } }[], at: number): Promise<Set<string>> {
    if (entries.length === 0) return new Set();
    const rows = entries.map(({ target, event }) => ({
      target, event_id: event.id, kind: event.kind, event: JSON.stringify(event),
      attempts: 0, next_at: at, state: 'pending', last_error: null, created_at: at, updated_at: at,
    }));
    const added = await this.#db.insertInto('notification_outbox').values(rows)
      .onConflict((oc) => oc.columns(['target', 'event_id']).doNothing())
      .returning('target').execute();
    return new Set(added.map((r) => r.target));
  }

  /** Records an attempt's outcome on a pending row; a delivered or dropped row is final and stays as it is. */
  async update(target: string, eventId: string, u: OutboxUpdate, at: number): Promise<void> {
    await this.#db.updateTable('notification_outbox')
      .set({
        attempts: u.attempts, updated_at: at,
        ...(u.state !== undefined ? { state: u.state } : {}),
        ...(u.next_at !== undefined ? { next_at: u.next_at } : {}),
        ...(u.last_error !== undefined ? { last_error: u.last_error } : {}),
      })
      .where('target', '=', target).where('event_id', '=', eventId).where('state', '=', 'pending')
      .execute();
  }

  /** Every pending row, oldest first. */
  async pending(): Promise<OutboxEntry[]> {
    return this.list({ state: 'pending' });
  }

  /** Rows in creation order, optionally of one state or one target. */
  async list(filter: { state?: OutboxState; target?: string } = {}): Promise<OutboxEntry[]> {
    let q = this.#db.selectFrom('notification_outbox').selectAll().orderBy('seq');
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    if (filter.target !== undefined) q = q.where('target', '=', filter.target);
    return (await q.execute()).map(toEntry);
  }

  /** Deletes delivered and dropped rows last changed before `before`; pending rows are never deleted. Returns how many went. */
  async prune(before: number): Promise<number> {
    const r = await this.#db.deleteFrom('notification_outbox')
      .where('state', 'in', ['delivered', 'dropped']).where('updated_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function toEntry(r: Selectable<OutboxRow>): OutboxEntry {
  return {
    target: r.target, event_id: r.event_id, kind: r.kind, event: JSON.parse(r.event) as Record<string, unknown>,
    attempts: Number(r.attempts), next_at: Number(r.next_at), state: r.state as OutboxState, last_error: r.last_error,
    created_at: Number(r.created_at), updated_at: Number(r.updated_at),
  };
}
