import { triage, type Incident, type IncidentStatus, type Triage } from '@failsmall/core';
import type { Store } from '../store/types.ts';
import { IncidentGrouping } from './grouping.ts';
import { AlertIngestor } from './ingest.ts';
import { Mutex } from './lock.ts';
import type { LeaseKeeper } from '../store/lease-keeper.ts';
import { brief, type IncidentNotice } from './notice.ts';
import { IncidentRecorder } from './recorder.ts';
import { triageInputFor } from './triage-input.ts';

export interface IncidentServiceOptions {
  readonly now: () => number;
  /** Where notices go (the notifier); must return at once, with a promise of the outbox write if there is one. */
  readonly notify?: (n: IncidentNotice) => void | Promise<unknown>;
  /** How long the recorder's cursor waits for that write (default 2 s). */
  readonly outboxWaitMs?: number;
  readonly log?: { warn(msg: string): void };
  /** How often the event log is read (ms). */
  readonly tickMs?: number;
  /** How often open incidents are triaged again while they are young (ms). */
  readonly triageEveryMs?: number;
  /**
   * Where replicas share a store, the recorder and the triage rounds run on the one replica that
   * holds the `job:incidents` lease: two recorders would open every incident twice.
   */
  readonly leases?: LeaseKeeper;
}

/** The lease the recorder and triage rounds run under. */
export const INCIDENTS_JOB = 'job:incidents';

/** Incidents younger than this are triaged again on every triage tick. */
const AUTO_TRIAGE_FOR_MS = 60 * 60_000;

/**
 * The incident side of the control plane: the recorder that turns the event log into
 * incidents, the alert ingestor, and triage, run when an incident opens and again every
 * `triageEveryMs` while it is young. A triage result goes on the timeline (and out as a
 * notice) when its top hypothesis changes.
 */
export class IncidentService {
  readonly recorder: IncidentRecorder;
  readonly alerts: AlertIngestor;
  /** The grouping rule for signals from outside the event log: hand-opened incidents, change events, vendor status pages. */
  readonly grouping: IncidentGrouping;
  readonly #store: Store;
  readonly #o: IncidentServiceOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #lastTriageAt = 0;
  /** Incidents triaged at least once since this process started. */
  readonly #triaged = new Set<string>();
  #stopped = true;
  #started = false;
  #ticking = false;
  #again = false;

  constructor(store: Store, opts: IncidentServiceOptions) {
    this.#store = store;
    this.#o = opts;
    // Passes on what notify returns (the outbox write): the recorder's cursor waits for it.
    const notify = (n: IncidentNotice): void | Promise<unknown> => {
      try { return opts.notify?.(n); } catch (err) { opts.log?.warn(`notification not queued: ${err instanceof Error ? err.message : String(err)}`); return undefined; }
    };
    const opening = new Mutex();
    this.recorder = new IncidentRecorder(store, { now: opts.now, notify, opening, ...(opts.log ? { log: opts.log } : {}), ...(opts.outboxWaitMs !== undefined ? { outboxWaitMs: opts.outboxWaitMs } : {}) });
    this.grouping = new IncidentGrouping(store, { opening, notify });
    this.alerts = new AlertIngestor(store, this.grouping);
  }

  start(): void {
    this.#stopped = false;
    this.#started = true;
    this.#timer = setTimeout(() => this.#round(), this.#o.tickMs ?? 1000);
  }

  /**
   * Reads the event log now rather than at the next tick (the server calls it when a rollout fails
   * or a break-glass command lands): the incident is open, and its notice queued, by the time the
   * rollout has finished rolling back, not up to a tick later. Rounds never overlap: a poke during
   * one runs another right after it.
   */
  poke(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#ticking) { this.#again = true; return; }
    this.#round();
  }

  #round(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#ticking = true;
    this.#running = this.tick().catch((err) => this.#o.log?.warn(`incident recorder: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.#ticking = false;
        if (this.#stopped) return;
        if (this.#again) { this.#again = false; this.#round(); } else this.#timer = setTimeout(() => this.#round(), this.#o.tickMs ?? 1000);
      });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** One round: read the event log, then triage young open incidents when due. */
  async tick(): Promise<void> {
    if (this.#o.leases && !(await this.#o.leases.hold(INCIDENTS_JOB))) return; // another replica records
    while ((await this.recorder.tick()) > 0) { /* drain the log */ }
    const now = this.#o.now();
    const due = now - this.#lastTriageAt >= (this.#o.triageEveryMs ?? 30_000);
    if (due) this.#lastTriageAt = now;
    for (const i of await this.#store.incidents.list({ open: true, limit: 20 })) {
      if (now - i.opened_at > AUTO_TRIAGE_FOR_MS) continue;
      // A new incident is triaged at once; the others when the round is due.
      const fresh = !this.#triaged.has(i.id) && (await this.#store.incidents.timeline(i.id, { kinds: ['triage'], last: 1 })).length === 0;
      if (fresh || due) await this.triage(i, { onlyIfChanged: true });
      this.#triaged.add(i.id);
    }
  }

  /**
   * Triage now. The result goes on the timeline, unless `onlyIfChanged` and the top hypothesis is
   * the one already recorded.
   */
  async triage(incident: Incident, o: { onlyIfChanged?: boolean } = {}): Promise<{ triage: Triage; recorded: boolean }> {
    const now = this.#o.now();
    const result = triage(await triageInputFor(this.#store, incident, now), now);
    const top = result.hypotheses[0];
    const key = top ? `${top.class}|${top.target?.id ?? ''}` : 'none';
    if (o.onlyIfChanged) {
      const [last] = await this.#store.incidents.timeline(incident.id, { kinds: ['triage'], last: 1 });
      if (last && last.data.key === key) return { triage: result, recorded: false };
    }
    const text = top ? `triage: ${top.class} (${Math.round(top.confidence * 100)}%): ${top.first_action}` : 'triage: no hypothesis';
    await this.#store.incidents.addTimeline(incident.id, [{ at: now, kind: 'triage', text, data: { key, triage: result as unknown as Record<string, unknown> }, dedup: `triage:${now}` }]);
    this.#o.notify?.({ kind: 'incident.triaged', id: `triage:${incident.id}:${now}`, at: now, incident: brief(incident), summary: text, details: { top: top ? { class: top.class, confidence: top.confidence, first_action: top.first_action } : null } });
    return { triage: result, recorded: true };
  }

  async setStatus(incident: Incident, status: IncidentStatus, actor: string, note?: string): Promise<Incident | undefined> {
    const now = this.#o.now();
    const updated = await this.#store.incidents.setStatus(incident.id, status, now, {
      at: now, kind: 'status', text: `status ${incident.status} → ${status} by ${actor}${note ? `: ${note}` : ''}`, data: { from: incident.status, to: status, actor, ...(note ? { note } : {}) },
    });
    if (updated && status === 'resolved' && incident.status !== 'resolved') {
      this.#o.notify?.({ kind: 'incident.resolved', id: `resolved:${incident.id}:${now}`, at: now, incident: brief(updated), summary: `incident ${incident.id} resolved by ${actor}: ${incident.title}`, details: { duration_ms: now - incident.opened_at } });
    }
    return updated;
  }
}
