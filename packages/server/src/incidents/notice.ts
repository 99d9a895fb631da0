import { randomBytes } from 'node:crypto';
import type { Incident } from '@failsmall/core';

/**
 * What the incident side tells the outside world (the notifier, when one is configured). Every
 * notice names its incident: a reader never has to guess which one a rollback or a break-glass
 * use belongs to.
 */
export interface IncidentNotice {
  readonly kind: 'incident.opened' | 'incident.triaged' | 'rollout.rolled_back' | 'breakglass.used' | 'incident.resolved';
  readonly id: string;
  readonly at: number;
  readonly incident: Pick<Incident, 'id' | 'title' | 'severity' | 'status'>;
  readonly summary: string;
  readonly details: Record<string, unknown>;
}

export function brief(i: Incident): Pick<Incident, 'id' | 'title' | 'severity' | 'status'> {
  return { id: i.id, title: i.title, severity: i.severity, status: i.status };
}

export function newIncidentId(): string {
  return `inc-${randomBytes(4).toString('hex')}`;
}
