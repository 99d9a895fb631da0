import { evaluationDue, step, type RolloutEvent, type RolloutState } from '@failsmall/core';
import type { DesiredHub } from '../desired/hub.ts';
import { LeaseKeeper } from '../store/lease-keeper.ts';
import type { Fence } from '../store/lease-store.ts';
import type { Store } from '../store/types.ts';
import { FleetView } from './fleet-view.ts';
import { MetricsView } from './metrics-view.ts';
import { metricWants, observe, type SignalSources, type Views } from './observations.ts';

export interface Clock {
  now(): number;
}

export interface ControllerLog {
  error(obj: object, msg: string): void;
}

export const systemClock: Clock = { now: () => Date.now() };

/** How long a replica's hold on a rollout lasts without renewal: a dead replica's rollouts move again within it. */
export const DEFAULT_LEASE_MS = 10_000;

/**
 * The imperative shell around the rollout engine. Each tick, for every active rollout whose
 * lease this replica holds: observe → step (pure) → persist the transition and its events in one
 * transaction (compare-and-set on rev, and the lease's epoch: the fence) → only then tell
 * agents. A kill -9 between any two of these leaves either the old state or the new one in the
 * store, and the next tick (of this process, or of the replica that takes the lease over once
 * it expires) simply decides again from there. Replicas share one store; each rollout is worked
 * by one of them at a time (store/lease-store.ts).
 */
export class Controller {
  readonly #store: Store;
  readonly #hub: DesiredHub;
  readonly #clock: Clock;
  readonly #log: ControllerLog;
  readonly #tickMs: number;
  readonly #signals: SignalSources;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #stopped = false;
  #hubStale = false;
  /** The rollouts' leases this replica holds (`rollout:ID`). */
  readonly leases: LeaseKeeper;
  /** The fleet in memory, synced from what changed once per tick (fleet-view.ts). */
  readonly fleet: FleetView;
  /** The gates' metric windows in memory, synced from the pushes received since the last tick (metrics-view.ts). */
  readonly metrics: MetricsView;
  /** The epoch of each lease as last seen: a new one means the rollout changed hands. */
  readonly #epochs = new Map<string, number>();

  /** false: read the whole fleet and every metric window at each observation, as before the views (for the benchmark's side-by-side). */
  readonly #memoryFleet: boolean;

  constructor(opts: { store: Store; hub: DesiredHub; clock: Clock; log: ControllerLog; tickMs: number; signals?: SignalSources; replica?: string; leaseMs?: number; memoryFleet?: boolean }) {
    this.#memoryFleet = opts.memoryFleet ?? true;
    this.leases = new LeaseKeeper(opts.store.leases, opts.replica ?? `controller-${process.pid}`, opts.leaseMs ?? DEFAULT_LEASE_MS, () => opts.clock.now());
    this.#store = opts.store;
    this.fleet = new FleetView(opts.store, opts.clock);
    this.metrics = new MetricsView(opts.store, opts.clock);
    this.#hub = opts.hub;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#tickMs = opts.tickMs;
    this.#signals = opts.signals ?? {};
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    while (this.#running) await new Promise((r) => setTimeout(r, 10));
    // A clean stop hands its rollouts over at once rather than after the lease time.
    await this.leases.releaseAll();
  }

  /** The rollouts this replica holds the lease of now (for health and tests). */
  held(): string[] {
    return this.leases.held(LEASE_PREFIX).map((name) => name.slice(LEASE_PREFIX.length));
  }

  /** Called when something happened that may let a rollout move (a load report, a command). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) { this.#again = true; return; }
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#loop(), ms);
  }

  async #loop(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      await this.tick();
    } catch (err) {
      this.#log.error({ err }, 'controller tick failed; retrying next tick');
    } finally {
      this.#running = false;
      if (!this.#stopped) this.#schedule(this.#again ? 0 : this.#tickMs);
      this.#again = false;
    }
  }

  /** One pass over every active rollout. Public so tests can drive it with a fake clock. */
  async tick(): Promise<number> {
    if (this.#hubStale) { this.#hubStale = false; await this.#hub.refresh().catch(() => { this.#hubStale = true; }); }
    const active = await this.#store.listRollouts({ active: true });
    const now = this.#clock.now();
    const mine: { state: RolloutState; fence: Omit<Fence, 'now'> }[] = [];
    for (const state of active) {
      const fence = await this.leases.hold(leaseName(state.id));
      if (!fence) continue; // another replica works this one
      // Taken over (or first taken): another replica worked it until now; read the fleet afresh.
      if (this.#epochs.get(fence.name) !== fence.epoch) { this.#epochs.set(fence.name, fence.epoch); this.fleet.invalidate(); this.metrics.invalidate(); }
      mine.push({ state, fence });
    }
    // One read of what changed in the fleet when any rollout will look at it this tick; the loads
    // of every artifact this replica works stay synced, so a rollout that looks later reads deltas too.
    const views = this.#memoryFleet ? { fleet: this.fleet, metrics: this.metrics } : undefined;
    const looking = mine.filter(({ state }) => mustObserve(state, now));
    if (views && looking.length > 0) {
      await views.fleet.sync([...new Set(mine.map(({ state }) => state.artifact))]);
      await views.metrics.sync(looking.flatMap(({ state }) => metricWants(state, now)));
    }
    let transitions = 0;
    for (const { state, fence } of mine) {
      if (await this.advance(state, fence, views)) transitions++;
    }
    // Rollouts that ended (here or elsewhere) need no lease: forget them, and drop the rows.
    const live = new Set(active.map((r) => leaseName(r.id)));
    for (const name of this.leases.known(LEASE_PREFIX)) {
      if (live.has(name)) continue;
      this.#epochs.delete(name);
      await this.leases.drop(name).catch(() => undefined);
    }
    return transitions;
  }

  /**
   * Decides once for one rollout and commits the transition, if any (under the rollout's lease,
   * when given). `views`: the fleet and metric windows as synced this tick; without them, read now.
   */
  async advance(state: RolloutState, fence?: Omit<Fence, 'now'>, views?: Views): Promise<boolean> {
    const now = this.#clock.now();
    if (!mustObserve(state, now)) return false;
    const obs = await observe(this.#store, state, now, this.#signals, views);
    const out = step({ state, fleet: obs.fleet, loads: obs.loads, observations: obs.observations, now });
    if (out.state === state) return false;
    return this.commit(out.state, out.events, fence);
  }

  /**
   * Persists a transition (CAS on rev; and the lease's epoch when fenced: a person's command from
   * any replica is not) and, once it is durable, tells agents and watchers.
   */
  async commit(next: RolloutState, events: RolloutEvent[], fence?: Omit<Fence, 'now'>): Promise<boolean> {
    const ok = await this.#store.transitionRollout(next, events, fence ? { ...fence, now: this.#clock.now() } : undefined);
    if (!ok) {
      // Someone else (a command, another replica) moved it first, or the lease was lost: decide
      // again next tick, with the lease read afresh.
      if (fence) this.leases.forget(fence.name);
      return false;
    }
    // The transition is durable: a failed refresh must not undo it or fail the caller; the next
    // tick refreshes again.
    await this.#hub.refresh().catch((err: unknown) => { this.#hubStale = true; this.#log.error({ err }, 'desired-state refresh failed after a commit; retrying next tick'); });
    this.#again = true;
    return true;
  }
}

/**
 * Whether `step` could move this rollout now. Paused, awaiting approval, or baking between gate
 * evaluations, it cannot, so nothing is observed (and the fleet is not read).
 */
function mustObserve(state: RolloutState, now: number): boolean {
  return !(state.status === 'paused' || (state.status === 'running' && state.phase !== 'applying' && !evaluationDue(state, now)));
}

const LEASE_PREFIX = 'rollout:';

function leaseName(rolloutId: string): string {
  return `${LEASE_PREFIX}${rolloutId}`;
}
