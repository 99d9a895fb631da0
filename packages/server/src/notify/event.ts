/** What failsmall tells the outside world about. */
export type NotificationKind = 'incident.opened' | 'incident.triaged' | 'rollout.rolled_back' | 'breakglass.used' | 'incident.resolved';

export const NOTIFICATION_KINDS: readonly NotificationKind[] = ['incident.opened', 'incident.triaged', 'rollout.rolled_back', 'breakglass.used', 'incident.resolved'];

/** One thing that happened, as every target receives it. */
export interface NotificationEvent {
  readonly kind: NotificationKind;
  /** Unique per event and the same on every retry, so a receiver can drop duplicates. */
  readonly id: string;
  /** When it happened, ms since the epoch. */
  readonly at: number;
  readonly incident?: NotificationIncident;
  /** One sentence a human can act on. */
  readonly summary: string;
  /** Plain JSON values: the gate and its evidence, the rollout, the break-glass command… */
  readonly details: Readonly<Record<string, unknown>>;
  /** Where to read more (the incident in the web UI). */
  readonly url?: string;
}

export interface NotificationIncident {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: string;
}

/** The words a person reads first: "Incident opened", "Rollout rolled back". */
export const KIND_TITLES: Readonly<Record<NotificationKind, string>> = {
  'incident.opened': 'Incident opened',
  'incident.triaged': 'Triage result',
  'rollout.rolled_back': 'Rollout rolled back',
  'breakglass.used': 'Break-glass used',
  'incident.resolved': 'Incident resolved',
};
