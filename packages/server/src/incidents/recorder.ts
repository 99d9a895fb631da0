import { isRolloutFailure, type Incident, type RolloutEvent, type RolloutState, type Severity } from '@failsmall/core';
import { within } from '../notify/within.ts';
import type { NewTimelineEntry } from '../store/incident-store.ts';
import type { StoredEvent, Store } from '../store/types.ts';
import { IncidentGrouping } from './grouping.ts';
import { Mutex } from './lock.ts';
import { brief, type IncidentNotice } from './notice.ts';
import { rollbackSentence } from './rollback-sentence.ts';

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
 * Where each event goes follows the grouping rule (docs/incidents.md, `placeSignal` in core):
 * - a rollback or pause caused by a failed gate is a failed rollout: it has an incident of its
 *   own (a related open incident with no rollout yet adopts it, else one opens);
 * - the other events of that rollout go on its incident's timeline;
 * - a rollout started, and a break-glass command a node reports, join a related open incident;
 *   a break-glass command applied with none open opens one (someone reached for the emergency tools).
 */
export class IncidentRecorder {
  readonly #store: Store;
  readonly #o: RecorderOptions;
  readonly #grouping: IncidentGrouping;
  /** Outbox writes of the notices sent during the current tick. */
  readonly #stored: Promise<unknown>[] = [];
  /** Sequence numbers handled, within LAG of the cursor. */
  readonly #handled = new Set<number>();
  #primed = false;

  constructor(store: Store, opts: RecorderOptions) {
    this.#store = store;
    this.#o = opts;
    this.#grouping = new IncidentGrouping(store, { opening: opts.opening ?? new Mutex(), notify: (n) => this.#notify(n) });
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
    if (isRolloutFailure(e)) {
      const incident = await this.#incidentOfFailure(e);
      await this.#store.incidents.addTimeline(incident.id, [rolloutEntry(e, dedup)]);
      return;
    }
    if (e.type.startsWith('rollout.') && e.rollout_id) {
      const own = await this.#store.incidents.findByRollout(e.rollout_id);
      if (e.type === 'rollout.rolled_back') {
        // Its rollback began with a failed gate, which gave it an incident; the notice names that one.
        const incident = own ?? await this.#incidentOfFailure(e);
        if (incident.status !== 'resolved') await this.#store.incidents.addTimeline(incident.id, [rolloutEntry(e, dedup)]);
        const summary = rollbackSentence(e.rollout_id, await this.#store.getRollout(e.rollout_id), p);
        this.#notify({ kind: 'rollout.rolled_back', id: dedup, at: e.at, incident: brief(incident), summary, details: { rollout: e.rollout_id, ...p } });
        return;
      }
      if (own && own.status !== 'resolved') {
        await this.#store.incidents.addTimeline(own.id, [rolloutEntry(e, dedup)]);
        return;
      }
      // A rollout started during an incident about the same artifact or module is part of its story, not of an unrelated one's.
      if (e.type === 'rollout.started') {
        const about = await this.#grouping.subjectOf({ artifacts: [String(p.artifact ?? '')] });
        await this.#grouping.place({ kind: 'change', at: e.at, about }, { joined: () => [rolloutEntry(e, dedup)] });
      }
      return;
    }
    // A drill changed nothing: it is in the break-glass log, not in an incident's timeline or a page.
    if (e.type === 'breakglass.command' && p.action !== 'drill') await this.#breakglass(e, dedup);
  }

  async #breakglass(e: StoredEvent, dedup: string): Promise<void> {
    const p = e.payload;
    // A record the control plane could not verify (it has no break-glass public key, or the line is a refusal of
    // unsigned bytes) says so in every text a person reads: its operator and reason are the node's word only.
    const unverified = p.verified !== true;
    const text = `break-glass ${unverified ? '(unverified) ' : ''}${String(p.action ?? '?')} ${String(p.target ?? '')}${p.version ? ` ${String(p.version)}` : ''} on ${String(p.node)} by ${String(p.operator ?? '?')}: ${String(p.outcome)}${p.code ? ` (${String(p.code)})` : ''}; reason: ${String(p.reason ?? '-')}`;
    const at = Date.parse(String(p.at)) || e.at;
    const entry: NewTimelineEntry = { at, kind: 'breakglass', text, data: p, dedup };
    const target = String(p.target ?? '');
    const applied = p.outcome === 'applied';
    const placed = await this.#grouping.place({ kind: 'breakglass', at, about: await this.#grouping.subjectOf({ artifacts: [target], modules: [target] }) }, {
      joined: () => [entry],
      // Someone applied an emergency command with no related incident open: that is one. A refused or failed command is only recorded.
      ...(applied ? {
        open: () => ({
          incident: { title: `break-glass ${String(p.action ?? '?')} on ${target} by ${String(p.operator ?? '?')}${unverified ? ' (unverified)' : ''}`, severity: 'sev2' as const, status: 'open' as const, opened_by: 'manual' as const, opened_at: at, resolved_at: null, rollout_id: null },
          entries: () => [{ at, kind: 'status' as const, text: `incident opened by a break-glass command applied on ${String(p.node)}`, data: { status: 'open', opened_by: 'breakglass' }, dedup: `open:${e.seq}` }, entry],
          details: { breakglass: p.action, target, operator: p.operator },
        }),
      } : {}),
    });
    // A control plane with the key never stores an unverified `applied` line (the route rejects it); one without
    // the key still pages on break-glass use, marked, rather than stay silent about it.
    if (applied && placed) this.#notify({ kind: 'breakglass.used', id: dedup, at: e.at, incident: brief(placed.incident), summary: unverified ? `${text} (${String(p.verification ?? 'not verified')})` : text, details: p });
  }

  /** The incident of a failed rollout, by the grouping rule: its own, a related one it joins, or a new one. */
  async #incidentOfFailure(e: StoredEvent): Promise<Incident> {
    const rollout = e.rollout_id ? await this.#store.getRollout(e.rollout_id) : undefined;
    const verdict = e.payload.verdict as { gate?: string; reason?: string; status?: string } | undefined;
    const title = failureTitle(rollout, e);
    const details = { rollout: e.rollout_id, verdict: e.payload.verdict };
    // What the rollout touches is part of what its incident is about: a change to the database it touched is related.
    const touched = [...(rollout?.touches?.dependencies ?? []), ...(rollout?.touches?.services ?? [])];
    const about = await this.#grouping.subjectOf(rollout ? { artifacts: [rollout.artifact], modules: [rollout.module], dependencies: touched } : {});
    const placed = await this.#grouping.place({ kind: 'rollout', at: e.at, about, ...(e.rollout_id ? { rollout: e.rollout_id } : {}) }, {
      adoptTitle: title,
      open: async () => ({
        incident: { title, severity: severityOf(rollout?.assigned.length ?? 0, rollout ? await this.#fleetSize() : 0), status: 'open', opened_by: 'gate', opened_at: e.at, resolved_at: null, rollout_id: e.rollout_id },
        entries: () => [{ at: e.at, kind: 'status', text: `incident opened by failed gate: ${verdict?.reason ?? String(e.payload.reason ?? '')}`, data: { status: 'open', opened_by: 'gate' }, dedup: `open:${e.seq}` }],
        details,
      }),
    });
    if (!placed) throw new Error(`incident recorder: no incident for the failed rollout ${e.rollout_id ?? '(none)'}`);
    // This very event opened it, and is read again after a crash: its notice may never have been
    // stored. Send it again; the outbox keeps one per incident id.
    if (!placed.opened && await this.#store.incidents.hasEntry(placed.incident.id, `open:${e.seq}`)) this.#grouping.announce(placed.incident, details);
    return placed.incident;
  }

  async #fleetSize(): Promise<number> {
    return (await this.#store.listNodes()).length;
  }
}

/** The title of a failed rollout's incident: its own artifact and version, so it never names another rollout's. */
function failureTitle(rollout: RolloutState | undefined, e: StoredEvent): string {
  const verdict = e.payload.verdict as { gate?: string } | undefined;
  const gate = verdict?.gate ?? String(e.payload.gate ?? '?');
  const what = e.payload.cause === 'inconclusive' ? 'stayed inconclusive' : 'failed';
  const how = e.type === 'rollout.paused' ? ' (paused)' : '';
  return rollout ? `${rollout.artifact} ${rollout.to_version}: gate ${gate} ${what} at stage ${String(e.payload.stage ?? '?')}${how}` : `gate ${gate} ${what}${how}`;
}

/** A failed gate caught at a small cohort is contained: sev3. One that reached more of the fleet: sev2. */
function severityOf(cohort: number, fleet: number): Severity {
  return fleet > 0 && cohort / fleet <= 0.1 ? 'sev3' : 'sev2';
}

function rolloutEntry(e: RolloutEvent & { seq: number }, dedup: string): NewTimelineEntry {
  const reason = typeof e.payload.reason === 'string' ? `: ${e.payload.reason}` : '';
  return { at: e.at, kind: 'rollout', text: `${e.type.replace('rollout.', 'rollout ')} ${e.rollout_id ?? ''}${reason}`.trim(), data: { type: e.type, rollout: e.rollout_id, ...e.payload }, dedup };
}

const OUTBOX_WAIT_MS = 2000;

/** The types of the events that can wake the recorder: wakesRecorder without the payload, which is all another replica's commit says. */
const RECORDER_TYPES = new Set(['rollout.rolling_back', 'rollout.paused', 'rollout.rolled_back', 'breakglass.command']);

export function mayWakeRecorder(type: string): boolean {
  return RECORDER_TYPES.has(type);
}

/** Events the recorder opens or joins an incident for at once: the server wakes it when one commits (IncidentService.poke). */
export function wakesRecorder(e: RolloutEvent): boolean {
  return isRolloutFailure(e) || e.type === 'rollout.rolled_back' || e.type === 'breakglass.command';
}
