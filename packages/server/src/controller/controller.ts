import { evaluationDue, step, type RolloutEvent, type RolloutState } from '@failsmall/core';
import type { DesiredHub } from '../desired/hub.ts';
import type { Store } from '../store/types.ts';
import { observe, type SignalSources } from './observations.ts';

export interface Clock {
  now(): number;
}

export interface ControllerLog {
  error(obj: object, msg: string): void;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * The imperative shell around the rollout engine. Each tick, for every active rollout:
 * observe → step (pure) → persist the transition and its events in one transaction
 * (compare-and-set on rev) → only then tell agents. A kill -9 between any two of these
 * leaves either the old state or the new one in the store, and the next tick (of this
 * process or the next) simply decides again from there.
 */
export class Controller {
  readonly #store: Store;
  readonly #hub: DesiredHub;
  readonly #clock: Clock;
  readonly #log: ControllerLog;
  readonly #tickMs: number;
  readonly #signals: SignalSources;
  readonly #listeners = new Set<(events: RolloutEvent[]) => void>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #stopped = false;
  #hubStale = false;

  constructor(opts: { store: Store; hub: DesiredHub; clock: Clock; log: ControllerLog; tickMs: number; signals?: SignalSources }) {
    this.#store = opts.store;
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
  }

  /** Called when something happened that may let a rollout move (a load report, a command). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) { this.#again = true; return; }
    this.#schedule(0);
  }

  /** Events of every committed transition, for live watchers. */
  onEvents(fn: (events: RolloutEvent[]) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
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
    let transitions = 0;
    for (const state of active) {
      if (await this.advance(state)) transitions++;
    }
    return transitions;
  }

  /** Decides once for one rollout and commits the transition, if any. */
  async advance(state: RolloutState): Promise<boolean> {
    const now = this.#clock.now();
    // Paused, awaiting approval, or baking between gate evaluations: `step` cannot move, so
    // skip observing (it reads every node and load report: ~30 ms a tick at 10,000 nodes).
    if (state.status === 'paused' || (state.status === 'running' && state.phase !== 'applying' && !evaluationDue(state, now))) return false;
    const obs = await observe(this.#store, state, now, this.#signals);
    const out = step({ state, fleet: obs.fleet, loads: obs.loads, observations: obs.observations, now });
    if (out.state === state) return false;
    return this.commit(out.state, out.events);
  }

  /** Persists a transition (CAS) and, once it is durable, tells agents and watchers. */
  async commit(next: RolloutState, events: RolloutEvent[]): Promise<boolean> {
    const ok = await this.#store.transitionRollout(next, events);
    if (!ok) return false; // someone else (a command, another replica) moved it first: decide again next tick
    // The transition is durable: a failed refresh must not undo it or fail the caller; the next
    // tick refreshes again.
    await this.#hub.refresh().catch((err: unknown) => { this.#hubStale = true; this.#log.error({ err }, 'desired-state refresh failed after a commit; retrying next tick'); });
    for (const fn of this.#listeners) fn(events);
    this.#again = true;
    return true;
  }
}
