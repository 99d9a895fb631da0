import type { Incident, IncidentSubject } from './types.ts';

/** A signal joins an incident only if it happened within this long of the incident's last signal. */
export const RELATED_WITHIN_MS = 30 * 60_000;
/** Names kept per list of a subject: an alert storm with 10,000 names must not grow a row without bound. */
export const SUBJECT_NAMES_MAX = 100;

/**
 * Something that happened and may belong to an incident:
 * - `rollout`: a rollout failed (a gate rolled it back or paused it);
 * - `alert`: an Alertmanager post; `manual`: someone opens an incident by hand;
 * - `breakglass`: a node reports a break-glass command applied;
 * - `vendor`: a vendor's status page changed; `change`: a change made outside failsmall.
 */
export type SignalKind = 'rollout' | 'alert' | 'manual' | 'breakglass' | 'vendor' | 'change';

export interface IncidentSignal {
  readonly kind: SignalKind;
  /** When it happened (ms): an event's time, an alert's start. */
  readonly at: number;
  readonly about: IncidentSubject;
  /** `rollout` only: the rollout that failed. */
  readonly rollout?: string;
}

/** Where a signal goes: into an open incident (`adopt`: it becomes that incident's rollout), a new one, or none. */
export type Placement =
  | { readonly type: 'join'; readonly incident: string; readonly adopt: boolean; readonly why: string }
  | { readonly type: 'open'; readonly why: string }
  | { readonly type: 'none'; readonly why: string };

/** Signals that never open an incident on their own: they are context for one that is open. */
const CONTEXT_ONLY: readonly SignalKind[] = ['vendor', 'change'];

/**
 * The grouping rule, a pure function of the signal and the open incidents (docs/incidents.md):
 *
 * 1. A failed rollout has one incident of its own. It joins the open incident that already is
 *    its own; else a related open incident that has no rollout yet adopts it; else it opens one.
 *    Two failed rollouts never share an incident.
 * 2. An alert, a hand-opened incident or a break-glass use joins the related open incident;
 *    else it opens its own.
 * 3. A vendor status change or an external change joins the related open incident; else it is
 *    only recorded.
 *
 * Related means: it names the same artifact, module or dependency, or the same alert, and
 * happened within RELATED_WITHIN_MS of the incident's last signal. The most recently active
 * related incident wins.
 *
 * Examples
 *   placeSignal({ kind: 'rollout', at, rollout: 'r-2', about }, open); // { type: 'open', … } when r-1 has the only open incident
 *   placeSignal({ kind: 'alert', at, about: { modules: ['proxy'], … } }, open); // joins the proxy incident opened 5 min ago
 */
export function placeSignal(signal: IncidentSignal, open: readonly Incident[]): Placement {
  if (signal.kind === 'rollout' && signal.rollout !== undefined) {
    const own = open.find((i) => i.rollout_id === signal.rollout);
    if (own) return { type: 'join', incident: own.id, adopt: false, why: `the incident of rollout ${signal.rollout}` };
  }
  const candidates = newestFirst(open).filter((i) => signal.kind !== 'rollout' || i.rollout_id === null);
  for (const i of candidates) {
    const why = relation(signal, i);
    if (why !== null) return { type: 'join', incident: i.id, adopt: signal.kind === 'rollout', why };
  }
  if (CONTEXT_ONLY.includes(signal.kind)) return { type: 'none', why: 'no related open incident' };
  return { type: 'open', why: signal.kind === 'rollout' ? 'a failed rollout has an incident of its own' : 'no related open incident' };
}

/** Why a signal is related to an incident ("module bot-management"), or null when it is not. */
export function relation(signal: IncidentSignal, incident: Incident): string | null {
  const last = incident.last_signal_at ?? incident.opened_at;
  if (Math.abs(signal.at - last) > RELATED_WITHIN_MS) return null;
  const about = incident.about;
  if (about === undefined) return null;
  const things = new Set([...about.artifacts, ...about.modules, ...about.dependencies]);
  const thing = [...signal.about.artifacts, ...signal.about.modules, ...signal.about.dependencies].find((n) => things.has(n));
  if (thing !== undefined) return `names ${thing}`;
  const alert = signal.about.alerts.find((n) => about.alerts.includes(n));
  return alert !== undefined ? `alert ${alert}` : null;
}

/** A subject naming nothing: what a hand-opened incident with no module or artifact is about. */
export const NOTHING: IncidentSubject = { artifacts: [], modules: [], dependencies: [], alerts: [] };

/** Both subjects' names, each list sorted, without repeats, at most SUBJECT_NAMES_MAX long. */
export function mergeSubjects(a: IncidentSubject, b: Partial<IncidentSubject>): IncidentSubject {
  const merge = (x: readonly string[], y: readonly string[] = []) => [...new Set([...x, ...y])].sort().slice(0, SUBJECT_NAMES_MAX);
  return { artifacts: merge(a.artifacts, b.artifacts), modules: merge(a.modules, b.modules), dependencies: merge(a.dependencies, b.dependencies), alerts: merge(a.alerts, b.alerts) };
}

function newestFirst(open: readonly Incident[]): Incident[] {
  return [...open].sort((a, b) => (b.last_signal_at ?? b.opened_at) - (a.last_signal_at ?? a.opened_at) || b.opened_at - a.opened_at);
}
