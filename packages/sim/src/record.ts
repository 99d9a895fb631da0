import type { MutableAggregate, RolloutEvent, RolloutState } from '@failsmall/core';

/** Requests and failed requests of a set of nodes over one tick, as the control plane's counters show them. */
export interface TickCounts {
  readonly nodes: number;
  readonly requests: number;
  readonly errors: number;
}

/** One tick of a staged regime: the active rollout's nodes against every other node, and the truth behind the counts. */
export interface RecordedTick {
  /** The tick's end (ms); its traffic is (t − tick, t]. */
  readonly t: number;
  /** The rollout whose nodes `cohort` counts; null when none was active. */
  readonly rollout: string | null;
  readonly cohort: TickCounts;
  readonly others: TickCounts;
  /**
   * The truth the counters cannot show: how many of the failed requests the change itself
   * caused (its effect's errors, beyond the background draw), on the cohort and elsewhere.
   */
  readonly change_errors: { readonly cohort: number; readonly others: number };
}

/**
 * What the control plane would have recorded of one staged regime (every engine event, each
 * rollout's last state, the counters split by the active rollout's cohort), with the
 * simulator's truth beside it: for tests that hold a postmortem's numbers against it.
 */
export interface RegimeRecord {
  readonly events: readonly RolloutEvent[];
  readonly rollouts: readonly RolloutState[];
  readonly ticks: readonly RecordedTick[];
  /** Truth: how many nodes ever served each version (applied it, whatever the engine assigned). */
  readonly served: Readonly<Record<string, number>>;
}

/** Collects a RegimeRecord as a regime runs (`simulate(s, { record: true })`). */
export class RunRecorder {
  readonly #events: RolloutEvent[] = [];
  readonly #states = new Map<string, RolloutState>();
  readonly #ticks: RecordedTick[] = [];
  readonly #served = new Map<string, Set<number>>();

  /** A transition of the engine: its events go to the log, its state replaces the rollout's. */
  engine(out: { readonly state: RolloutState; readonly events: readonly RolloutEvent[] }): void {
    this.#events.push(...out.events);
    this.#states.set(out.state.id, out.state);
  }

  tick(t: number, rollout: string | null, cohort: MutableAggregate, others: MutableAggregate, change: { cohort: number; others: number }): void {
    const counts = (a: MutableAggregate): TickCounts => ({ nodes: a.nodes, requests: a.requests, errors: a.errors });
    this.#ticks.push({ t, rollout, cohort: counts(cohort), others: counts(others), change_errors: { ...change } });
  }

  /** Node `node` (its index) serves `version` from now on. */
  serving(version: string, node: number): void {
    let nodes = this.#served.get(version);
    if (!nodes) this.#served.set(version, nodes = new Set());
    nodes.add(node);
  }

  result(): RegimeRecord {
    const served = Object.fromEntries([...this.#served].map(([version, nodes]) => [version, nodes.size]));
    return { events: [...this.#events], rollouts: [...this.#states.values()], ticks: [...this.#ticks], served };
  }
}
