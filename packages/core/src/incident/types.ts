/**
 * An incident: opened by a failed gate, an ingested alert or a human. It has a severity, a
 * status and a timeline of everything that happened, in the order it happened. Pure data:
 * the server stores it, triage and the postmortem read it.
 */
export const SEVERITIES = ['sev1', 'sev2', 'sev3', 'sev4'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const INCIDENT_STATUSES = ['open', 'investigating', 'mitigated', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export type OpenedBy = 'gate' | 'alert' | 'manual';

export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly status: IncidentStatus;
  readonly opened_by: OpenedBy;
  /** ms since the epoch. */
  readonly opened_at: number;
  readonly resolved_at: number | null;
  /** The rollout whose failed gate opened it, or that joined it (one failed rollout per incident). */
  readonly rollout_id: string | null;
  /** What it is about: the names its rollout, alerts and opener gave. Absent on incidents written before it was kept. */
  readonly about?: IncidentSubject;
  /** When the last signal that opened or joined it happened (ms); the grouping window runs from here. */
  readonly last_signal_at?: number;
}

/**
 * What an incident, or a signal that may join one, is about: the artifacts, modules and
 * dependencies (services, data stores, vendors) it names, and the alerts that fired in it.
 * Two of them are related when they share a name (docs/incidents.md, "How signals are grouped").
 */
export interface IncidentSubject {
  readonly artifacts: readonly string[];
  readonly modules: readonly string[];
  readonly dependencies: readonly string[];
  readonly alerts: readonly string[];
}

export const TIMELINE_KINDS = ['alert', 'rollout', 'breakglass', 'triage', 'note', 'status', 'change', 'vendor'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/**
 * One entry of an incident's timeline. `text` is the human sentence; `data` the facts it was
 * made from (an alert's labels, a rollout event's payload, a triage result…), kept as recorded.
 */
export interface TimelineEntry {
  readonly seq: number;
  readonly incident_id: string;
  /** ms since the epoch: when it happened (an alert's startsAt, an event's time), not when it was stored. */
  readonly at: number;
  readonly kind: TimelineKind;
  readonly text: string;
  readonly data: Readonly<Record<string, unknown>>;
}
