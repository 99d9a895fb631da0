import { SEVERITIES, type RolloutEvent, type RolloutState } from '@failsmall/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IncidentNotice } from '../incidents/notice.ts';
import type { Store } from '../store/types.ts';
import { verdictsOf } from './event-lines.ts';
import { propagationLag } from './propagation.ts';
import { StageClock } from './stage-clock.ts';

const ROLLBACK_CAUSES = ['gate', 'inconclusive', 'abort'] as const;

/** What the gauges read when Prometheus scrapes: the store, and the hub's long-polls and active rollouts. */
export interface MetricsSources {
  readonly store: Store;
  readonly hub: { readonly waiting: number; activeRollout(artifact: string): RolloutState | undefined };
}

/**
 * The control plane's own Prometheus metrics (docs/operations.md#metrics). Counters and
 * histograms move on the events this process commits (`committed`), gauges are read from the
 * store at each scrape. Labels stay bounded: gate, stage and artifact names come from
 * declarations, store operations from the Store's methods; no node ids, and rollout ids only on
 * the gauge of active rollouts.
 *
 * Examples
 * ```ts
 * const metrics = new ServerMetrics({ store, hub });
 * store.onCommit((events) => metrics.committed(events));
 * await metrics.registry.metrics(); // the Prometheus text exposition
 * ```
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #sources: MetricsSources;
  readonly #stages = new StageClock();
  /** Rollout and node pairs whose take-up is measured already: an agent re-reporting is not a second sample. */
  readonly #propagated = new Set<string>();
  readonly #stageDuration: Histogram<'stage' | 'outcome'>;
  readonly #verdicts: Counter<'gate' | 'outcome'>;
  readonly #rollbacks: Counter<'cause'>;
  readonly #transitions: Counter<'event'>;
  readonly #incidents: Counter<'severity'>;
  readonly #propagation: Histogram;
  readonly #storeOps: Histogram<'op'>;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'failsmall_server_' });
    this.#stageDuration = new Histogram({
      name: 'failsmall_rollout_stage_duration_seconds', help: 'Time each rollout stage took, from its start to its end, by how it ended (promoted, completed, rolled_back, aborted).',
      labelNames: ['stage', 'outcome'], buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21_600, 86_400], registers,
    });
    this.#verdicts = new Counter({ name: 'failsmall_gate_verdicts_total', help: 'Gate verdicts by gate and outcome (pass, fail, inconclusive): one per gate per evaluation.', labelNames: ['gate', 'outcome'], registers });
    this.#rollbacks = new Counter({ name: 'failsmall_rollbacks_total', help: 'Rollbacks begun, by cause (gate, inconclusive, abort).', labelNames: ['cause'], registers });
    this.#transitions = new Counter({ name: 'failsmall_rollout_transitions_total', help: 'Rollout state changes committed, by event (rollout.started, rollout.promoted, rollout.paused, …).', labelNames: ['event'], registers });
    this.#incidents = new Counter({ name: 'failsmall_incidents_total', help: 'Incidents opened, by severity.', labelNames: ['severity'], registers });
    this.#propagation = new Histogram({
      name: 'failsmall_propagation_lag_seconds', help: 'From a node\'s desired version being written (stage or rollback start) to the node reporting it serves it.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers,
    });
    this.#storeOps = new Histogram({
      name: 'failsmall_store_operation_duration_seconds', help: 'Time each store call took, by operation (the Store method).',
      labelNames: ['op'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers,
    });
    // Known label values start at 0, so the first rollback or incident is an increase Prometheus sees
    // (a series born at 1 has no increase in its first window).
    for (const cause of ROLLBACK_CAUSES) this.#rollbacks.inc({ cause }, 0);
    for (const severity of SEVERITIES) this.#incidents.inc({ severity }, 0);
    this.#gauges(registers);
  }

  /** Knows the stages in flight when the process starts, so their durations are not lost to a restart. */
  seed(active: readonly RolloutState[]): void {
    this.#stages.seed(active);
  }

  /** Moves the counters and histograms for the events of one committed transaction. */
  committed(events: readonly RolloutEvent[]): void {
    for (const e of events) {
      if (e.type.startsWith('rollout.')) this.#transitions.inc({ event: e.type });
      for (const v of verdictsOf(e)) this.#verdicts.inc({ gate: v.gate, outcome: v.status });
      if (e.type === 'rollout.rolling_back') this.#rollbacks.inc({ cause: String(e.payload.cause) });
      const ended = this.#stages.ended(e);
      if (ended) this.#stageDuration.observe({ stage: ended.stage, outcome: ended.outcome }, ended.seconds);
      if (e.type === 'node.load_reported') this.#loaded(e);
      if (e.rollout_id !== null && (e.type === 'rollout.rolled_back' || e.type === 'rollout.aborted' || e.type === 'rollout.completed')) this.#forget(e.rollout_id);
    }
  }

  /** Counts an incident the process opened (its `incident.opened` notice). */
  notice(n: IncidentNotice): void {
    if (n.kind === 'incident.opened') this.#incidents.inc({ severity: n.incident.severity });
  }

  /** Times one store call. */
  storeCall(op: string, seconds: number): void {
    this.#storeOps.observe({ op }, seconds);
  }

  #loaded(e: RolloutEvent): void {
    const artifact = e.payload.artifact;
    const rollout = typeof artifact === 'string' ? this.#sources.hub.activeRollout(artifact) : undefined;
    const lag = propagationLag(rollout, e);
    if (rollout === undefined || lag === undefined) return;
    const key = `${rollout.id}\u0000${rollout.status}\u0000${String(e.payload.node)}`;
    if (this.#propagated.has(key)) return;
    this.#propagated.add(key);
    this.#propagation.observe(lag);
  }

  #forget(rolloutId: string): void {
    for (const key of this.#propagated) if (key.startsWith(`${rolloutId}\u0000`)) this.#propagated.delete(key);
  }

  #gauges(registers: Registry[]): void {
    const { store, hub } = this.#sources;
    new Gauge({
      name: 'failsmall_rollouts', help: 'Rollouts by status (active ones, and the last 1000 finished).', labelNames: ['status', 'artifact'], registers,
      async collect() {
        this.reset();
        for (const r of await store.listRollouts({ limit: 1000 })) this.inc({ status: r.status, artifact: r.artifact });
      },
    });
    new Gauge({
      name: 'failsmall_rollout_stage', help: 'Current stage index of each active rollout.', labelNames: ['rollout', 'artifact', 'stage'], registers,
      async collect() {
        this.reset();
        for (const r of await store.listRollouts({ active: true })) this.set({ rollout: r.id, artifact: r.artifact, stage: r.policy_spec.stages[r.stage_index]?.name ?? '' }, r.stage_index);
      },
    });
    new Gauge({
      name: 'failsmall_nodes', help: 'Registered nodes.', registers,
      async collect() { this.set((await store.listNodes()).length); },
    });
    new Gauge({
      name: 'failsmall_desired_long_polls', help: 'Agents currently holding a desired-state long-poll.', registers,
      collect() { this.set(hub.waiting); },
    });
    new Gauge({
      name: 'failsmall_incidents_open', help: 'Incidents not resolved yet, by severity.', labelNames: ['severity'], registers,
      async collect() {
        this.reset();
        for (const i of await store.incidents.list({ open: true })) this.inc({ severity: i.severity });
      },
    });
  }
}
