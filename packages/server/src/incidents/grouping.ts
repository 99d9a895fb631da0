import { mergeSubjects, NOTHING, placeSignal, type Incident, type IncidentSignal, type IncidentSubject, type Placement } from '@failsmall/core';
import type { NewTimelineEntry } from '../store/incident-store.ts';
import type { Store } from '../store/types.ts';
import { Mutex } from './lock.ts';
import { brief, newIncidentId, type IncidentNotice } from './notice.ts';

/** What to open when the rule says so: the incident (its id, subject and window are filled in), its first entries, the notice's details. */
export interface NewIncident {
  readonly incident: Omit<Incident, 'id' | 'about' | 'last_signal_at'>;
  /** Given the new incident's id. */
  readonly entries: (id: string) => readonly NewTimelineEntry[];
  readonly details: Readonly<Record<string, unknown>>;
}

export interface Placed {
  readonly incident: Incident;
  readonly opened: boolean;
  readonly placement: Placement;
}

/**
 * The shell of the grouping rule (`placeSignal` in core, docs/incidents.md): reads the open
 * incidents, joins the signal to the one the rule names or opens a new one, and announces every
 * incident it opens (`incident.opened`). One signal at a time (a Mutex shared by the recorder,
 * alert ingestion and the API), so one cause opens one incident.
 *
 * Examples
 *   const placed = await grouping.place({ kind: 'alert', at, about }, { open: () => ({ incident, entries, details }) });
 *   placed?.incident.id; // the incident the alert joined or opened; undefined: a context signal nothing was open for
 */
export class IncidentGrouping {
  readonly #store: Store;
  readonly #opening: Mutex;
  readonly #notify: (n: IncidentNotice) => void;

  constructor(store: Store, o: { opening?: Mutex; notify: (n: IncidentNotice) => void }) {
    this.#store = store;
    this.#opening = o.opening ?? new Mutex();
    this.#notify = o.notify;
  }

  /**
   * Places a signal. `open` makes the incident when the rule opens one (omit it for context
   * signals, which never do); `adoptTitle` is the title an incident takes when it adopts a
   * failed rollout (the rollout's, never a stale version).
   */
  place(signal: IncidentSignal, make: { open?: () => NewIncident | Promise<NewIncident>; adoptTitle?: string; joined?: (i: Incident, p: Placement) => readonly NewTimelineEntry[] } = {}): Promise<Placed | undefined> {
    return this.#opening.run(async () => {
      const incidents = this.#store.incidents;
      const placement = placeSignal(signal, await incidents.list({ open: true, limit: 500 }));
      if (placement.type === 'join') {
        const adopted = placement.adopt && signal.rollout !== undefined && make.adoptTitle !== undefined ? { id: signal.rollout, title: make.adoptTitle } : undefined;
        const titleWas = adopted ? (await incidents.get(placement.incident))?.title : undefined;
        const incident = await incidents.join(placement.incident, { about: signal.about, at: signal.at, ...(adopted ? { rollout: adopted } : {}) });
        if (!incident) return undefined;
        const entries = [...(make.joined?.(incident, placement) ?? [])];
        if (adopted) {
          entries.push({ at: signal.at, kind: 'status', text: `rollout ${adopted.id} joined (${placement.why}); title was "${titleWas ?? ''}"`, data: { joined: adopted.id, title_was: titleWas ?? null, title: adopted.title, why: placement.why }, dedup: `adopt:${adopted.id}` });
        }
        if (entries.length > 0) await incidents.addTimeline(incident.id, entries);
        return { incident, opened: false, placement };
      }
      if (placement.type === 'none' || !make.open) return undefined;
      const made = await make.open();
      const id = newIncidentId();
      const incident: Incident = { ...made.incident, id, about: mergeSubjects(NOTHING, signal.about), last_signal_at: signal.at };
      await incidents.create(incident, [...made.entries(id)]);
      this.announce(incident, made.details);
      return { incident, opened: true, placement };
    });
  }

  /** The `incident.opened` notice, as a sentence; its id is the incident's, so sending it again (after a crash) is stored and sent once. */
  announce(incident: Incident, details: Readonly<Record<string, unknown>>): void {
    this.#notify({ kind: 'incident.opened', id: `incident:${incident.id}`, at: incident.opened_at, incident: brief(incident), summary: `Incident ${incident.id} (${incident.severity}) opened by ${OPENED_BY[incident.opened_by]}: ${incident.title}`, details });
  }

  /** What an artifact or module name is about: an artifact brings its module along, so a signal naming either relates to both. */
  async subjectOf(names: { artifacts?: readonly string[]; modules?: readonly string[]; dependencies?: readonly string[]; alerts?: readonly string[] }): Promise<IncidentSubject> {
    const artifacts = new Set(names.artifacts ?? []);
    const modules = new Set(names.modules ?? []);
    for (const a of [...artifacts]) {
      const decl = await this.#store.getArtifact(a);
      if (decl) modules.add(decl.module);
    }
    return mergeSubjects(NOTHING, { artifacts: [...artifacts], modules: [...modules], dependencies: names.dependencies ?? [], alerts: names.alerts ?? [] });
  }
}

/** Who opened an incident, in words for the notice. */
const OPENED_BY: Readonly<Record<Incident['opened_by'], string>> = { gate: 'a failed gate', alert: 'an alert', manual: 'hand' };
