import { randomBytes } from 'node:crypto';
import type { Incident, RolloutEvent, Severity } from '@failsmall/core';
import { within } from '../notify/within.ts';
import type { NewTimelineEntry } from '../store/incident-store.ts';
import type { StoredEvent, Store } from '../store/types.ts';
import { Mutex } from './lock.ts';

/** What the recorder tells the outside world (the notifier, when one is configured). */
export interface IncidentNotice {
  readonly kind: 'incident.opened' | 'incident.triaged' | 'rollout.rolled_back' | 'breakglass.used' | 'incident.resolved';
  readonly id: string;
  readonly at: number;
  readonly incident?: Pick<Incident, 'id' | 'title' | 'severity' | 'status'>;
  readonly summary: string;
  readonly details: Record<string, unknown>;
}

export interface RecorderOptions {
  readonly now: () => number;
  /** Held while finding or opening an incident; shared with alert ingestion, so one cause opens one incident. */
  readonly opening?: Mutex;
  /**
   * Never awaited on the rollout path: a notification target that is down changes nothing here.
   * It may return a promise that settles once the notice is stored (the notifier's outbox): the
   * cursor waits for it, at most `outboxWaitMs` (default 2 s).
   */
  readonly notify?: (n: IncidentNotice) => void | Promise<unknown>;
  readonly outboxWaitMs?: number;
  readonly log?: { warn(msg: string): void };
}

const CURSOR = 'incident-recorder';
const BATCH = 500;
/**
 * Events this far behind the cursor are read again: on PostgreSQL a sequence number can commit
 * after a higher one, and an event that was not visible at the last read must not be skipped.
 */
const LAG = 200;

/**
 * Turns the append-only event log into incidents. It tails the log from a cursor kept in the
 * store, so it is decoupled from the rollout path (a rollback commits before the recorder ever
 * sees it) and crash-safe (timeline entries are keyed by the event's seq: reading an event
 * twice after a crash records it once).
 *
 * - a rollback or pause caused by a failed gate opens an incident (or joins the open one);
 * - the events of that rollout, rollouts started while an incident is open, and break-glass
 *   commands the nodes report go on the open incident's timeline.
 */
export class IncidentRecorder {
  readonly #store: Store;
  readonly #o: RecorderOptions;
  readonly #opening: Mutex;
  /** Outbox writes of the notices sent during the current tick. */
  readonly #stored: Promise<unknown>[] = [];
  /** Sequence numbers handled, within LAG of the cursor. */
  readonly #handled = new Set<number>();
  #primed = false;

  constructor(store: Store, opts: RecorderOptions) {
    this.#store = store;
    this.#o = opts;
    this.#opening = opts.opening ?? new Mutex();
  }

  #notify(n: IncidentNotice): void {
    const stored = this.#o.notify?.(n);
    if (stored) this.#stored.push(stored);
  }

  /** Reads what the log gained since the last tick (and any late commit just behind it). Returns how many events it handled. */
  async tick(): Promise<number> {
    const incidents = this.#store.incidents;
    const cursor = await incidents.cursor(CURSOR);
    const from = Math.max(0, cursor - LAG);
    if (!this.#primed) {
      // After a restart, what is behind the cursor was handled by the previous process.
      for (const e of await this.#store.listEvents({ afterSeq: from, limit: LAG })) if (e.seq <= cursor) this.#handled.add(e.seq);
      this.#primed = true;
    }
    const events = await this.#store.listEvents({ afterSeq: from, limit: BATCH + LAG });
    let handled = 0;
    let top = cursor;
    for (const e of events) {
      top = Math.max(top, e.seq);
      if (this.#handled.has(e.seq)) continue;
      await this.#handle(e);
      this.#handled.add(e.seq);
      handled++;
    }
    // The cursor moves only once this batch's notices are in the outbox (or OUTBOX_WAIT_MS passed): a crash between
    // the two would otherwise skip them forever. A slow or down database delays the cursor, never a rollback.
    const stored = this.#stored.splice(0);
    if (stored.length > 0) await within(Promise.allSettled(stored), this.#o.outboxWaitMs ?? OUTBOX_WAIT_MS);
    if (top > cursor) await incidents.setCursor(CURSOR, top);
    for (const seq of this.#handled) if (seq <= top - LAG) this.#handled.delete(seq);
    return handled;
  }

  async #handle(e: StoredEvent): Promise<void> {
    const dedup = `event:${e.seq}`;
    const p = e.payload;
    if ((e.type === 'rollout.rolling_back' && (p.cause === 'gate' || p.cause === 'inconclusive')) || (e.type === 'rollout.paused' && isFailedVerdict(p.verdict))) {
      const incident = await this.#incidentForGate(e);
      await this.#store.incidents.addTimeline(incident.id, [rolloutEntry(e, dedup)]);
      return;
    }
    if (e.type.startsWith('rollout.') && e.rollout_id) {
      const own = await this.#store.incidents.findByRollout(e.rollout_id);
      const open = own && own.status !== 'resolved' ? own : e.type === 'rollout.started' ? await this.#store.incidents.current() : undefined;
      if (open) await this.#store.incidents.addTimeline(open.id, [rolloutEntry(e, dedup)]);
      if (e.type === 'rollout.rolled_back') {
        this.#notify({ kind: 'rollout.rolled_back', id: dedup, at: e.at, ...(open ? { incident: brief(open) } : {}), summary: `rollout ${e.rollout_id} rolled back: ${String(p.reason ?? '')}`, details: { rollout: e.rollout_id, ...p } });
      }
      return;
    }
    // A drill changed nothing: it is in the break-glass log, not in an incident's timeline or a page.
    if (e.type === 'breakglass.command' && p.action !== 'drill') {
      const open = await this.#store.incidents.current();
      // A record the control plane could not verify (it has no break-glass public key, or the line is a refusal of
      // unsigned bytes) says so in every text a person reads: its operator and reason are the node's word only.
      const unverified = p.verified !== true;
      const text = `break-glass ${unverified ? '(unverified) ' : ''}${String(p.action ?? '?')} ${String(p.target ?? '')}${p.version ? ` ${String(p.version)}` : ''} on ${String(p.node)} by ${String(p.operator ?? '?')}: ${String(p.outcome)}${p.code ? ` (${String(p.code)})` : ''}; reason: ${String(p.reason ?? '-')}`;
      if (open) await this.#store.incidents.addTimeline(open.id, [{ at: Date.parse(String(p.at)) || e.at, kind: 'breakglass', text, data: p, dedup }]);
      // A control plane with the key never stores an unverified `applied` line (the route rejects it); one without
      // the key still pages on break-glass use, marked, rather than stay silent about it.
      if (p.outcome === 'applied') this.#notify({ kind: 'breakglass.used', id: dedup, at: e.at, ...(open ? { incident: brief(open) } : {}), summary: unverified ? `${text} (${String(p.verification ?? 'not verified')})` : text, details: p });
    }
  }

  /** The incident a failed gate belongs to: the rollout's own, else the open one, else a new one. */
  #incidentForGate(e: StoredEvent): Promise<Incident> {
    return this.#opening.run(() => this.#findOrOpen(e));
  }

  async #findOrOpen(e: StoredEvent): Promise<Incident> {
    const incidents = this.#store.incidents;
    const own = e.rollout_id ? await incidents.findByRollout(e.rollout_id) : undefined;
    const existing = own && own.status !== 'resolved' ? own : await incidents.current();
    if (existing) {
      // This very event opened it, and is read again after a crash: its notice may never have been
      // stored. Send it again; the outbox keeps one per incident id.
      if (await incidents.hasEntry(existing.id, `open:${e.seq}`)) this.#notifyOpened(existing, e);
      return existing;
    }
    const rollout = e.rollout_id ? await this.#store.getRollout(e.rollout_id) : undefined;
    const verdict = e.payload.verdict as { gate?: string; reason?: string } | undefined;
    const title = rollout
      ? `${rollout.artifact} ${rollout.to_version}: gate ${verdict?.gate ?? String(e.payload.gate ?? '?')} failed at stage ${String(e.payload.stage ?? '?')}`
      : `gate ${String(e.payload.gate ?? '?')} failed`;
    const incident: Incident = {
      id: newIncidentId(), title, severity: severityOf(rollout?.assigned.length ?? 0, rollout ? await this.#fleetSize() : 0), status: 'open',
      opened_by: 'gate', opened_at: e.at, resolved_at: null, rollout_id: e.rollout_id,
    };
    await incidents.create(incident, [{ at: e.at, kind: 'status', text: `incident opened by failed gate: ${verdict?.reason ?? String(e.payload.reason ?? '')}`, data: { status: 'open', opened_by: 'gate' }, dedup: `open:${e.seq}` }]);
    this.#notifyOpened(incident, e);
    return incident;
  }

  #notifyOpened(incident: Incident, e: StoredEvent): void {
    this.#notify({ kind: 'incident.opened', id: `incident:${incident.id}`, at: e.at, incident: brief(incident), summary: `${incident.severity} incident opened: ${incident.title}`, details: { rollout: e.rollout_id, verdict: e.payload.verdict } });
  }

  async #fleetSize(): Promise<number> {
    return (await this.#store.listNodes()).length;
  }
}

/** A failed gate caught at a small cohort is contained: sev3. One that reached more of the fleet: sev2. */
function severityOf(cohort: number, fleet: number): Severity {
  return fleet > 0 && cohort / fleet <= 0.1 ? 'sev3' : 'sev2';
}

function isFailedVerdict(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { status?: unknown }).status === 'fail';
}

function rolloutEntry(e: RolloutEvent & { seq: number }, dedup: string): NewTimelineEntry {
  const reason = typeof e.payload.reason === 'string' ? `: ${e.payload.reason}` : '';
  return { at: e.at, kind: 'rollout', text: `${e.type.replace('rollout.', 'rollout ')} ${e.rollout_id ?? ''}${reason}`.trim(), data: { type: e.type, rollout: e.rollout_id, ...e.payload }, dedup };
}

export function brief(i: Incident): Pick<Incident, 'id' | 'title' | 'severity' | 'status'> {
  return { id: i.id, title: i.title, severity: i.severity, status: i.status };
}

export function newIncidentId(): string {
  return `inc-${randomBytes(4).toString('hex')}`;
}

const OUTBOX_WAIT_MS = 2000;
