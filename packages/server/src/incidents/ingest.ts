import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ChangeTouches, ExternalChange, Severity } from '@failsmall/core';
import type { Store } from '../store/types.ts';
import type { IncidentGrouping } from './grouping.ts';
import { Mutex } from './lock.ts';

const Labels = z.record(z.string().max(1024), z.string().max(16 * 1024));
const Time = z.string().max(64).refine((s) => !Number.isNaN(Date.parse(s)), 'an RFC 3339 time');

/**
 * Alertmanager's webhook body, version 4 (prometheus/alertmanager `notify/webhook`): what
 * Alertmanager sends to a `webhook_configs` receiver. Unknown fields are allowed (newer
 * Alertmanagers add some); wrong types are refused.
 */
export const AlertmanagerPayload = z.object({
  version: z.literal('4'),
  groupKey: z.string().max(16 * 1024),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(1024),
  groupLabels: Labels,
  commonLabels: Labels,
  commonAnnotations: Labels,
  externalURL: z.string().max(4096),
  alerts: z.array(z.object({
    status: z.enum(['firing', 'resolved']),
    labels: Labels,
    annotations: Labels,
    startsAt: Time,
    endsAt: z.string().max(64),
    generatorURL: z.string().max(4096).default(''),
    fingerprint: z.string().min(1).max(256),
  }).passthrough()).max(10_000),
}).passthrough();
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>;

const Names = z.array(z.string().min(1).max(256)).max(100);

/**
 * A change made outside failsmall, in PagerDuty's change-event shape (Events API v2, `/v2/change/enqueue`):
 * `payload.summary`, `payload.timestamp`, `payload.source`, `payload.custom_details`, `links`.
 * `services` is ours: the services or modules it touched (also read from `custom_details.services`).
 * `touches` is ours too: the dependencies, other services and regions it touched (also read from
 * `custom_details.touches_dependencies`, `touches_services` and `touches_regions`, as a list or a
 * comma-separated string, since PagerDuty senders can only fill custom_details).
 */
export const ChangeEventPayload = z.object({
  routing_key: z.string().max(256).optional(),
  payload: z.object({
    summary: z.string().min(1).max(1024),
    timestamp: Time.optional(),
    source: z.string().max(1024).optional(),
    custom_details: z.record(z.string().max(256), z.unknown()).optional(),
  }).passthrough(),
  links: z.array(z.object({ href: z.string().url().max(4096), text: z.string().max(1024).optional() })).max(50).default([]),
  services: Names.optional(),
  touches: z.object({ dependencies: Names, services: Names, regions: Names }).partial().strict().optional(),
}).passthrough();
export type ChangeEventPayload = z.infer<typeof ChangeEventPayload>;

/** Alertmanager's `severity` label, mapped to ours; anything else is sev3. */
const SEVERITY: Record<string, Severity> = { critical: 'sev1', page: 'sev1', error: 'sev2', high: 'sev2', warning: 'sev3', medium: 'sev3', info: 'sev4', low: 'sev4' };

export interface IngestResult {
  readonly incident: string | null;
  readonly opened: boolean;
  readonly alerts: number;
  readonly new_alerts: number;
}

/** Alert labels that name what an alert is about: a failsmall module or artifact, or a dependency. */
const SUBJECT_LABELS = { modules: ['module', 'service'], artifacts: ['artifact'], dependencies: ['dependency', 'vendor'] } as const;

/**
 * Ingests alerts one payload at a time (a storm of posts is serialised, so the first opens the
 * incident and the rest join it). A payload's firing alerts are one signal for the grouping
 * rule: they join the related open incident (same module, artifact or dependency in their
 * labels, or the same alert name, within the window) or open one. Alerts are deduplicated by
 * fingerprint; the timeline gets one entry per alert name, not per alert.
 */
export class AlertIngestor {
  readonly #store: Store;
  readonly #grouping: IncidentGrouping;
  /** Posts one after another: a re-sent alert is recognised by its fingerprint only once the first post stored it. */
  readonly #posts = new Mutex();

  constructor(store: Store, grouping: IncidentGrouping) {
    this.#store = store;
    this.#grouping = grouping;
  }

  ingest(p: AlertmanagerPayload, now: number): Promise<IngestResult> {
    return this.#posts.run(() => this.#ingest(p, now));
  }

  async #ingest(p: AlertmanagerPayload, now: number): Promise<IngestResult> {
    const firing = p.alerts.filter((a) => a.status === 'firing');
    const incident = firing.length > 0 ? await this.#place(p, firing, now) : await this.#resolving(p);
    if (!incident) return { incident: null, opened: false, alerts: p.alerts.length, new_alerts: 0 };
    const incidents = this.#store.incidents;
    const { fresh, resolved } = await incidents.upsertAlerts(incident.id, p.alerts.map((a) => ({
      fingerprint: a.fingerprint, name: a.labels.alertname ?? 'unnamed', labels: a.labels, status: a.status,
      starts_at: Date.parse(a.startsAt), ends_at: a.status === 'resolved' && !a.endsAt.startsWith('0001') && !Number.isNaN(Date.parse(a.endsAt)) ? Date.parse(a.endsAt) : null,
    })), now);
    const byName = new Map<string, { count: number; first: number; labels: Record<string, string> }>();
    for (const a of fresh) {
      const g = byName.get(a.name) ?? { count: 0, first: a.starts_at, labels: { ...a.labels } };
      g.count++;
      g.first = Math.min(g.first, a.starts_at);
      byName.set(a.name, g);
    }
    await incidents.addTimeline(incident.id, [
      ...[...byName].map(([name, g]) => ({ at: g.first, kind: 'alert' as const, text: `alert ${name} firing${g.count > 1 ? ` (${g.count} instances in this batch)` : ''}`, data: { alertname: name, labels: g.labels, instances: g.count }, dedup: `alert:${name}` })),
      ...[...new Set(resolved.map((a) => a.name))].map((name) => ({ at: now, kind: 'alert' as const, text: `alert ${name} resolved`, data: { alertname: name, status: 'resolved' }, dedup: `alert-resolved:${name}` })),
    ]);
    return { incident: incident.id, opened: incident.opened, alerts: p.alerts.length, new_alerts: fresh.length };
  }

  /** Firing alerts join the related open incident or open their own. */
  async #place(p: AlertmanagerPayload, firing: AlertmanagerPayload['alerts'], now: number): Promise<{ id: string; opened: boolean } | undefined> {
    const names = (keys: readonly string[]) => [...new Set(firing.flatMap((a) => keys.flatMap((k) => a.labels[k] ?? p.commonLabels[k] ?? [])))];
    const alertnames = [...new Set(firing.map((a) => a.labels.alertname ?? 'unnamed'))];
    const about = await this.#grouping.subjectOf({ modules: names(SUBJECT_LABELS.modules), artifacts: names(SUBJECT_LABELS.artifacts), dependencies: names(SUBJECT_LABELS.dependencies), alerts: alertnames });
    const startedAt = Math.min(...firing.map((a) => Date.parse(a.startsAt)));
    // The window is measured from when the alerts began firing, not from when the post arrived (Alertmanager re-sends).
    const at = Math.min(startedAt, now);
    const name = p.commonLabels.alertname ?? alertnames[0] ?? 'alert';
    const placed = await this.#grouping.place({ kind: 'alert', at, about }, {
      open: () => ({
        incident: { title: p.commonAnnotations.summary ?? `${name} firing`, severity: SEVERITY[(p.commonLabels.severity ?? firing[0]?.labels.severity ?? '').toLowerCase()] ?? 'sev3', status: 'open', opened_by: 'alert', opened_at: at, resolved_at: null, rollout_id: null },
        entries: () => [{ at, kind: 'status', text: `incident opened by alert ${name} (receiver ${p.receiver})`, data: { status: 'open', opened_by: 'alert', group_key: p.groupKey }, dedup: `open:${p.groupKey}` }],
        details: { alertname: name, receiver: p.receiver, alerts: firing.length },
      }),
    });
    return placed && { id: placed.incident.id, opened: placed.opened };
  }

  /** Only resolved alerts: they go to the incident that holds them, if any; they never open one. */
  async #resolving(p: AlertmanagerPayload): Promise<{ id: string; opened: boolean } | undefined> {
    const held = await this.#store.incidents.holdingAlerts(p.alerts.map((a) => a.fingerprint));
    return held === undefined ? undefined : { id: held, opened: false };
  }
}

/** A change event as triage reads it; its id is a digest of what was sent, so a resend is the same change. */
export function toExternalChange(c: ChangeEventPayload, now: number): ExternalChange {
  const details: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(c.payload.custom_details ?? {})) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') details[k] = v;
    else if (v !== null && v !== undefined) details[k] = JSON.stringify(v).slice(0, 1024);
  }
  const fromDetails = (key: string): string[] => names(c.payload.custom_details?.[key]);
  const services = c.services ?? fromDetails('services');
  const touched: { -readonly [K in keyof ChangeTouches]: ChangeTouches[K] } = {};
  for (const k of ['dependencies', 'services', 'regions'] as const) {
    const list = c.touches?.[k] ?? fromDetails(`touches_${k}`);
    if (list.length > 0) touched[k] = list;
  }
  const touches = Object.keys(touched).length > 0 ? touched : undefined;
  const timestamp = c.payload.timestamp ? new Date(Date.parse(c.payload.timestamp)).toISOString() : new Date(now).toISOString();
  const id = `chg-${createHash('sha256').update(JSON.stringify([c.payload.summary, timestamp, c.payload.source ?? '', services, ...(touches ? [touches] : [])])).digest('hex').slice(0, 16)}`;
  return {
    id, summary: c.payload.summary, timestamp, ...(c.payload.source ? { source: c.payload.source } : {}), services, ...(touches ? { touches } : {}),
    links: c.links.map((l) => ({ href: l.href, ...(l.text ? { text: l.text } : {}) })), custom_details: details,
  };
}

/** A custom_details value as a list of names: a JSON list, or a comma-separated string. */
function names(v: unknown): string[] {
  const raw = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : [];
  return raw.map((x) => x.trim()).filter((x) => x.length > 0).slice(0, 100);
}
