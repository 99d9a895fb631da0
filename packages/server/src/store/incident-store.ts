import { sql, type Kysely } from 'kysely';
import { mergeSubjects, NOTHING, type ExternalChange, type Incident, type IncidentStatus, type IncidentSubject, type StatusPoll, type TimelineEntry, type TimelineKind } from '@failsmall/core';
import type { IncidentRow, StoreSchema } from './schema.ts';

/** An alert as an incident keeps it: one row per Alertmanager fingerprint. */
export interface IncidentAlert {
  readonly fingerprint: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly status: 'firing' | 'resolved';
  readonly starts_at: number;
  readonly ends_at: number | null;
  readonly last_seen_at: number;
  readonly receipts: number;
}

export interface NewTimelineEntry {
  readonly at: number;
  readonly kind: TimelineKind;
  readonly text: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** Recorded once per incident: a replayed source (an event read twice after a crash) is a no-op. */
  readonly dedup?: string;
}

export type VendorPoll = StatusPoll & { readonly vendor: string; readonly incidents?: readonly unknown[]; readonly error?: { readonly code: string; readonly message: string } };

/**
 * Incidents in the store: the incidents, their timelines, the alerts grouped into them, and the
 * outside facts triage reads (external change events, vendor status polls). Same queries on
 * SQLite and PostgreSQL.
 */
export class IncidentStore {
  readonly #db: Kysely<StoreSchema>;

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
  }

  async create(i: Incident, first: NewTimelineEntry[] = []): Promise<Incident> {
    await this.#db.transaction().execute(async (tx) => {
      await tx.insertInto('incidents').values(incidentRow(i)).execute();
      for (const e of first) await tx.insertInto('incident_timeline').values(timelineRow(i.id, e)).execute();
    });
    return i;
  }

  async get(id: string): Promise<Incident | undefined> {
    const row = await this.#db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toIncident(row);
  }

  async list(filter: { open?: boolean; limit?: number } = {}): Promise<Incident[]> {
    let q = this.#db.selectFrom('incidents').selectAll().orderBy('opened_at', 'desc').orderBy('id').limit(filter.limit ?? 100);
    if (filter.open === true) q = q.where('status', '!=', 'resolved');
    if (filter.open === false) q = q.where('status', '=', 'resolved');
    return (await q.execute()).map(toIncident);
  }

  /**
   * A signal joins the incident (docs/incidents.md): its names are added to what the incident is
   * about, its time moves the grouping window on, and an adopted rollout becomes the incident's
   * own, with the title that names it. Returns the incident as it now is.
   */
  async join(id: string, o: { about: IncidentSubject; at: number; rollout?: { id: string; title: string } }): Promise<Incident | undefined> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const before = toIncident(row);
      const about = JSON.stringify(mergeSubjects(before.about ?? NOTHING, o.about));
      const last = Math.max(before.last_signal_at ?? before.opened_at, o.at);
      const patch = { about, last_signal_at: last, ...(o.rollout ? { rollout_id: o.rollout.id, title: o.rollout.title } : {}) };
      await tx.updateTable('incidents').set(patch).where('id', '=', id).execute();
      return toIncident({ ...row, ...patch });
    });
  }

  async findByRollout(rolloutId: string): Promise<Incident | undefined> {
    const row = await this.#db.selectFrom('incidents').selectAll().where('rollout_id', '=', rolloutId).orderBy('opened_at', 'desc').executeTakeFirst();
    return row && toIncident(row);
  }

  /** Sets the status (resolved stamps resolved_at) and records the change on the timeline, in one transaction. */
  async setStatus(id: string, status: IncidentStatus, at: number, entry: NewTimelineEntry): Promise<Incident | undefined> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const resolved_at = status === 'resolved' ? (row.resolved_at ?? at) : null;
      await tx.updateTable('incidents').set({ status, resolved_at }).where('id', '=', id).execute();
      await tx.insertInto('incident_timeline').values(timelineRow(id, entry)).execute();
      return toIncident({ ...row, status, resolved_at });
    });
  }

  async setSeverity(id: string, severity: Incident['severity']): Promise<void> {
    await this.#db.updateTable('incidents').set({ severity }).where('id', '=', id).execute();
  }

  /** Appends entries; one whose `dedup` this incident already has is skipped. Returns how many were new. */
  async addTimeline(incidentId: string, entries: readonly NewTimelineEntry[]): Promise<number> {
    let added = 0;
    for (const e of entries) {
      const r = await this.#db.insertInto('incident_timeline').values(timelineRow(incidentId, e))
        .onConflict((oc) => oc.columns(['incident_id', 'dedup']).doNothing()).executeTakeFirst();
      added += Number(r.numInsertedOrUpdatedRows ?? 0n);
    }
    return added;
  }

  /** Whether the incident's timeline holds the entry recorded with this dedup key. */
  async hasEntry(incidentId: string, dedup: string): Promise<boolean> {
    const row = await this.#db.selectFrom('incident_timeline').select('seq').where('incident_id', '=', incidentId).where('dedup', '=', dedup).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * An incident's timeline, oldest first; `kinds` reads only those entries, and `last` only the
   * newest N of them. Triage reads the rollout entries and its own last verdict: an incident
   * triaged thousands of times (each entry holds the whole result) must not make the next triage slower.
   */
  async timeline(incidentId: string, o: { kinds?: readonly TimelineKind[]; last?: number } = {}): Promise<TimelineEntry[]> {
    let q = this.#db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', incidentId);
    if (o.kinds) q = q.where('kind', 'in', [...o.kinds]);
    const rows = o.last === undefined
      ? await q.orderBy('at').orderBy('seq').execute()
      : (await q.orderBy('at', 'desc').orderBy('seq', 'desc').limit(o.last).execute()).reverse();
    return rows.map((r) => ({ seq: Number(r.seq), incident_id: r.incident_id, at: Number(r.at), kind: r.kind as TimelineKind, text: r.text, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /**
   * Records alerts against an incident, deduplicated by fingerprint: a re-sent alert only bumps
   * its receipts and status. Returns the alerts that were new to this incident.
   */
  async upsertAlerts(incidentId: string, alerts: readonly Omit<IncidentAlert, 'receipts' | 'last_seen_at'>[], at: number): Promise<{ fresh: IncidentAlert[]; resolved: IncidentAlert[] }> {
    return this.#db.transaction().execute(async (tx) => {
      const fresh: IncidentAlert[] = [];
      const resolved: IncidentAlert[] = [];
      for (let i = 0; i < alerts.length; i += 500) {
        const chunk = alerts.slice(i, i + 500);
        const known = new Map((await tx.selectFrom('incident_alerts').selectAll().where('incident_id', '=', incidentId)
          .where('fingerprint', 'in', chunk.map((a) => a.fingerprint)).execute()).map((r) => [r.fingerprint, r]));
        for (const a of chunk) {
          const row = known.get(a.fingerprint);
          if (!row) {
            const full = { ...a, last_seen_at: at, receipts: 1 };
            await tx.insertInto('incident_alerts').values({ incident_id: incidentId, ...full, labels: JSON.stringify(a.labels) }).execute();
            known.set(a.fingerprint, { incident_id: incidentId, ...full, labels: JSON.stringify(a.labels) });
            fresh.push(full);
            continue;
          }
          await tx.updateTable('incident_alerts').set({ status: a.status, ends_at: a.ends_at, last_seen_at: at, receipts: Number(row.receipts) + 1 })
            .where('incident_id', '=', incidentId).where('fingerprint', '=', a.fingerprint).execute();
          if (row.status === 'firing' && a.status === 'resolved') resolved.push({ ...a, last_seen_at: at, receipts: Number(row.receipts) + 1 });
        }
      }
      return { fresh, resolved };
    });
  }

  /** The open incident that holds any of these alerts (by fingerprint), the most recently seen first. */
  async holdingAlerts(fingerprints: readonly string[]): Promise<string | undefined> {
    if (fingerprints.length === 0) return undefined;
    const row = await this.#db.selectFrom('incident_alerts').innerJoin('incidents', 'incidents.id', 'incident_alerts.incident_id')
      .select('incident_alerts.incident_id').where('incident_alerts.fingerprint', 'in', fingerprints.slice(0, 1000)).where('incidents.status', '!=', 'resolved')
      .orderBy('incident_alerts.last_seen_at', 'desc').executeTakeFirst();
    return row?.incident_id;
  }

  async alerts(incidentId: string): Promise<IncidentAlert[]> {
    const rows = await this.#db.selectFrom('incident_alerts').selectAll().where('incident_id', '=', incidentId).orderBy('starts_at').orderBy('fingerprint').execute();
    return rows.map((r) => ({
      fingerprint: r.fingerprint, name: r.name, labels: JSON.parse(r.labels) as Record<string, string>, status: r.status as IncidentAlert['status'],
      starts_at: Number(r.starts_at), ends_at: r.ends_at === null ? null : Number(r.ends_at), last_seen_at: Number(r.last_seen_at), receipts: Number(r.receipts),
    }));
  }

  /** An external change event; the same id twice is one change. Returns false for a duplicate. */
  async addChange(c: ExternalChange, receivedAt: number): Promise<boolean> {
    const r = await this.#db.insertInto('external_changes').values({ id: c.id, at: Date.parse(c.timestamp), received_at: receivedAt, change: JSON.stringify(c) })
      .onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async changes(fromMs: number, toMs: number): Promise<ExternalChange[]> {
    const rows = await this.#db.selectFrom('external_changes').select('change').where('at', '>=', fromMs).where('at', '<=', toMs).orderBy('at').execute();
    return rows.map((r) => JSON.parse(r.change) as ExternalChange);
  }

  async addVendorPoll(p: VendorPoll): Promise<void> {
    await this.#db.insertInto('vendor_polls').values({ vendor: p.vendor, at: p.at_ms, poll: JSON.stringify(p) }).execute();
  }

  /** The latest poll of each vendor before `beforeMs`, and every poll in [fromMs, toMs]. */
  async vendorPolls(fromMs: number, toMs: number): Promise<VendorPoll[]> {
    const rows = await this.#db.selectFrom('vendor_polls').select('poll').where('at', '>=', fromMs).where('at', '<=', toMs).orderBy('at').orderBy('seq').execute();
    return rows.map((r) => JSON.parse(r.poll) as VendorPoll);
  }

  async lastVendorPoll(vendor: string): Promise<VendorPoll | undefined> {
    const row = await this.#db.selectFrom('vendor_polls').select('poll').where('vendor', '=', vendor).orderBy('at', 'desc').orderBy('seq', 'desc').executeTakeFirst();
    return row && (JSON.parse(row.poll) as VendorPoll);
  }

  /**
   * Request and error counts per node, module and step of `stepMs` over [fromMs, toMs]: what
   * triage and the postmortem sum up. (Sums per node, so that the callers can split by cohort or tier.)
   */
  async metricBuckets(fromMs: number, toMs: number, stepMs: number): Promise<{ node_id: string; module: string; bucket: number; requests: number; errors: number }[]> {
    const step = Math.max(1, Math.floor(stepMs));
    const bucket = sql<number>`(${sql.ref('at')} / ${sql.lit(step)}) * ${sql.lit(step)}`;
    const rows = await this.#db.selectFrom('metric_samples')
      .select((eb) => ['node_id', 'module', bucket.as('bucket'), eb.fn.sum<number>('requests').as('requests'), eb.fn.sum<number>('errors').as('errors')])
      .where('at', '>=', fromMs).where('at', '<=', toMs)
      .groupBy(['node_id', 'module', bucket]).execute();
    return rows.map((r) => ({ node_id: r.node_id, module: r.module, bucket: Number(r.bucket), requests: Number(r.requests), errors: Number(r.errors) }));
  }

  /**
   * Custom counters summed per node, module and step over [fromMs, toMs] (agents' source-diversity,
   * request-mix and dependency counters live here); per node, so that triage can bound one node's
   * say (incidents/node-bounds.ts). Read row by row: counters are JSON per sample.
   */
  async counterBuckets(fromMs: number, toMs: number, stepMs: number, prefixes: readonly string[]): Promise<{ node_id: string; module: string; bucket: number; counters: Record<string, number> }[]> {
    const step = Math.max(1, Math.floor(stepMs));
    const rows = await this.#db.selectFrom('metric_samples').select(['node_id', 'module', 'at', 'counters']).where('at', '>=', fromMs).where('at', '<=', toMs).where('counters', '!=', '{}').execute();
    const out = new Map<string, { node_id: string; module: string; bucket: number; counters: Record<string, number> }>();
    for (const r of rows) {
      const bucket = Math.floor(Number(r.at) / step) * step;
      const key = `${r.node_id}\u0000${r.module}\u0000${bucket}`;
      const b = out.get(key) ?? { node_id: r.node_id, module: r.module, bucket, counters: {} };
      for (const [k, v] of Object.entries(JSON.parse(r.counters) as Record<string, number>)) {
        if (prefixes.some((p) => k.startsWith(p))) b.counters[k] = (b.counters[k] ?? 0) + v;
      }
      out.set(key, b);
    }
    return [...out.values()].sort((a, b) => a.bucket - b.bucket);
  }

  async cursor(name: string): Promise<number> {
    const row = await this.#db.selectFrom('cursors').select('seq').where('name', '=', name).executeTakeFirst();
    return row ? Number(row.seq) : 0;
  }

  async setCursor(name: string, seq: number): Promise<void> {
    await this.#db.insertInto('cursors').values({ name, seq }).onConflict((oc) => oc.column('name').doUpdateSet({ seq })).execute();
  }
}

function incidentRow(i: Incident): IncidentRow {
  return {
    id: i.id, title: i.title, severity: i.severity, status: i.status, opened_by: i.opened_by, opened_at: i.opened_at, resolved_at: i.resolved_at,
    rollout_id: i.rollout_id, about: i.about ? JSON.stringify(i.about) : null, last_signal_at: i.last_signal_at ?? null,
  };
}

function timelineRow(incidentId: string, e: NewTimelineEntry) {
  return { incident_id: incidentId, at: e.at, kind: e.kind, text: e.text, data: JSON.stringify(e.data), dedup: e.dedup ?? null };
}

function toIncident(r: IncidentRow): Incident {
  return {
    id: r.id, title: r.title, severity: r.severity as Incident['severity'], status: r.status as IncidentStatus, opened_by: r.opened_by as Incident['opened_by'],
    opened_at: Number(r.opened_at), resolved_at: r.resolved_at === null ? null : Number(r.resolved_at), rollout_id: r.rollout_id,
    ...(r.about !== null ? { about: JSON.parse(r.about) as IncidentSubject } : {}),
    ...(r.last_signal_at !== null ? { last_signal_at: Number(r.last_signal_at) } : {}),
  };
}
