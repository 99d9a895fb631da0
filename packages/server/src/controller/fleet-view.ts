import type { Clock } from './controller.ts';
import type { LoadReport, NodeRecord, Store } from '../store/types.ts';

/** Rows are read again this far behind the last look: a PostgreSQL write stamped before it may commit after it, and replicas' clocks differ a little. */
export const FLEET_LAG_MS = 5000;
/** Everything is read again this often whatever the deltas said: the safety net under them. */
export const FLEET_FULL_EVERY_MS = 60_000;

/**
 * The fleet as the controller sees it, kept in memory: every node, and each watched artifact's
 * load reports. Each `sync` reads only the rows that changed since the last one (less
 * FLEET_LAG_MS), so a tick at 10,000 nodes reads a handful of rows instead of 20,000; the whole
 * fleet is read again on the first sync, after `invalidate` (a lease taken over: another replica
 * worked the rollout until now), and every FLEET_FULL_EVERY_MS.
 *
 * Examples
 * ```ts
 * const view = new FleetView(store, systemClock);
 * await view.sync(['features']);
 * observe(store, state, now, {}, { fleet: view, metrics });
 * ```
 */
export class FleetView {
  readonly #store: Store;
  readonly #clock: Clock;
  #nodes = new Map<string, NodeRecord>();
  readonly #loads = new Map<string, Map<string, LoadReport>>();
  /** When each artifact's loads (and the nodes) were last read: the next delta starts FLEET_LAG_MS before. */
  readonly #loadsAt = new Map<string, number>();
  #nodesAt = -1;
  #fullAt = -Infinity;
  #list: NodeRecord[] | undefined;
  /** Rows read by the last sync (for the benchmark and the tests). */
  lastRead = 0;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Read everything again at the next sync. */
  invalidate(): void {
    this.#fullAt = -Infinity;
  }

  /** Brings the nodes and the loads of `artifacts` up to date; artifacts no longer asked for are forgotten. */
  async sync(artifacts: readonly string[]): Promise<void> {
    const now = this.#clock.now();
    // A clock that went back (a test's, or a stepped system clock) makes every cursor suspect.
    const full = now - this.#fullAt >= FLEET_FULL_EVERY_MS || now < this.#nodesAt;
    let read = 0;
    if (full) {
      const nodes = await this.#store.listNodes();
      this.#nodes = new Map(nodes.map((n) => [n.id, n]));
      this.#loads.clear();
      this.#loadsAt.clear();
      this.#fullAt = now;
      this.#list = undefined;
      read += nodes.length;
    } else {
      const changed = await this.#store.nodesChangedSince(this.#nodesAt - FLEET_LAG_MS);
      for (const n of changed) this.#nodes.set(n.id, n);
      if (changed.length > 0) this.#list = undefined;
      read += changed.length;
    }
    this.#nodesAt = now;
    for (const a of [...this.#loads.keys()]) if (!artifacts.includes(a)) { this.#loads.delete(a); this.#loadsAt.delete(a); }
    for (const artifact of artifacts) {
      const known = this.#loads.get(artifact);
      const since = this.#loadsAt.get(artifact);
      const rows = known && since !== undefined ? await this.#store.loadsChangedSince(artifact, since - FLEET_LAG_MS) : await this.#store.listLoads(artifact);
      const loads = known ?? new Map<string, LoadReport>();
      for (const r of rows) loads.set(r.node_id, r);
      this.#loads.set(artifact, loads);
      this.#loadsAt.set(artifact, now);
      read += rows.length;
    }
    this.lastRead = read;
  }

  /** Every node, by id (the order `listNodes` gives). */
  nodes(): NodeRecord[] {
    this.#list ??= [...this.#nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.#list;
  }

  /** An artifact's load reports as of the last sync that asked for it. */
  loads(artifact: string): LoadReport[] {
    return [...(this.#loads.get(artifact)?.values() ?? [])];
  }
}
