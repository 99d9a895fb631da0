import type { Fence, Lease, LeaseStore } from './lease-store.ts';

/**
 * The leases one replica holds, kept in memory and renewed when less than half is left, so that
 * asking "is this mine?" every tick costs a write only every half lease. A lost lease (someone
 * else holds it, or a fenced write found another epoch: `forget`) is read afresh next time.
 *
 * Examples
 * ```ts
 * const keeper = new LeaseKeeper(store.leases, 'replica-a', 10_000, () => Date.now());
 * const fence = await keeper.hold('job:incidents');
 * if (fence) await recorder.tick();
 * ```
 */
export class LeaseKeeper {
  readonly #leases: LeaseStore;
  readonly holder: string;
  readonly ttlMs: number;
  readonly #now: () => number;
  readonly #held = new Map<string, Lease>();

  constructor(leases: LeaseStore, holder: string, ttlMs: number, now: () => number) {
    this.#leases = leases;
    this.holder = holder;
    this.ttlMs = ttlMs;
    this.#now = now;
  }

  /** The fence of `name` when this replica holds it (taking or renewing it as needed); undefined when another does. */
  async hold(name: string): Promise<Omit<Fence, 'now'> | undefined> {
    const now = this.#now();
    let lease = this.#held.get(name);
    if (!lease || lease.expires_at - now < this.ttlMs / 2) {
      const taken = await this.#leases.acquire(name, this.holder, now, this.ttlMs);
      if (!taken) { this.#held.delete(name); return undefined; }
      lease = taken;
      this.#held.set(name, lease);
    }
    return { name: lease.name, holder: lease.holder, epoch: lease.epoch };
  }

  /** Names held now, by this replica's clock. */
  held(prefix = ''): string[] {
    const now = this.#now();
    return [...this.#held.values()].filter((l) => l.expires_at > now && l.name.startsWith(prefix)).map((l) => l.name).sort();
  }

  /** Every name this replica has taken and not forgotten, expired or not. */
  known(prefix = ''): string[] {
    return [...this.#held.keys()].filter((n) => n.startsWith(prefix));
  }

  /** Forgets a lease this replica may no longer hold (a fenced write was refused): read afresh next time. */
  forget(name: string): void {
    this.#held.delete(name);
  }

  /** Work that ended: forgotten here, and its row dropped. */
  async drop(name: string): Promise<void> {
    this.#held.delete(name);
    await this.#leases.drop(name);
  }

  /** Gives every lease up at once (a clean stop), so no other replica waits for them to expire. */
  async releaseAll(): Promise<void> {
    const names = [...this.#held.keys()];
    this.#held.clear();
    await Promise.all(names.map((n) => this.#leases.release(n, this.holder).catch(() => undefined)));
  }
}
