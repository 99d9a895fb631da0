import { INCIDENT_STATUSES, postmortemData, renderPostmortem, SEVERITIES } from '@failsmall/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { callerOf } from '../http/access.ts';
import { ApiError, notFound } from '../http/errors.ts';
import { AlertmanagerPayload, ChangeEventPayload, toExternalChange } from '../incidents/ingest.ts';
import { postmortemFactsFor } from '../incidents/postmortem-facts.ts';

const IdParams = z.object({ id: z.string().min(1).max(100) });
const Text = (max: number) => z.string().trim().min(1).max(max);
const Names = z.array(z.string().trim().min(1).max(256)).max(100);
/** A hand-opened incident: `modules` and `artifacts` say what it is about, so that related signals join it (docs/incidents.md). */
const OpenBody = z.object({ title: Text(300), severity: z.enum(SEVERITIES).default('sev3'), note: Text(4000).optional(), modules: Names.optional(), artifacts: Names.optional() }).strict();

/**
 * Incidents: ingestion (Alertmanager webhooks, change events), incidents by hand, their
 * timelines, notes, status and triage. A refused ingestion is answered 4xx and logged as an
 * `ingest.rejected` event; nothing else changes.
 */
export async function incidentRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const service = ctx.incidents;

  /**
   * Logs refused ingestions with their reason, whatever refused them (bad JSON, size, schema).
   * Only an authenticated sender's (access is checked before the body is read, so a scan gets its
   * 401 and writes nothing), and at most 60 a minute: past that, one `ingest.rejected_summary`
   * event says how many more there were, so a noisy sender cannot fill the append-only log.
   */
  const LOGGED_PER_MINUTE = 60;
  let window = { start: 0, count: 0 };
  const logRejection = (source: string) => async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (reply.statusCode < 400 || req.caller === undefined) return payload;
    const now = ctx.clock.now();
    if (now - window.start >= 60_000) {
      const dropped = window.count - LOGGED_PER_MINUTE;
      if (dropped > 0) await ctx.store.appendEvents([{ type: 'ingest.rejected_summary', at: now, rollout_id: null, payload: { not_logged: dropped, from: window.start, to: now } }]).catch(() => undefined);
      window = { start: now, count: 0 };
    }
    if (window.count++ < LOGGED_PER_MINUTE) {
      let reason = typeof payload === 'string' ? payload : '';
      try { reason = (JSON.parse(reason) as { error?: { message?: string } }).error?.message ?? reason; } catch { /* as sent */ }
      await ctx.store.appendEvents([{ type: 'ingest.rejected', at: now, rollout_id: null, payload: { source, status: reply.statusCode, reason: reason.slice(0, 1000), remote: req.ip, sender: req.caller.name } }]).catch(() => undefined);
    }
    return payload;
  };

  r.post('/v1/ingest/alertmanager', { config: { access: 'ingest' }, bodyLimit: 16 * 1024 * 1024, onSend: logRejection('alertmanager') }, async (req) => {
    const parsed = AlertmanagerPayload.safeParse(req.body);
    if (!parsed.success) throw invalid('Alertmanager webhook', parsed.error, 'send Alertmanager\'s webhook_config body (version "4") unchanged');
    return ctx.incidents.alerts.ingest(parsed.data, ctx.clock.now());
  });

  r.post('/v1/ingest/change', { config: { access: 'ingest' }, bodyLimit: 256 * 1024, onSend: logRejection('change') }, async (req, reply) => {
    const parsed = ChangeEventPayload.safeParse(req.body);
    if (!parsed.success) throw invalid('change event', parsed.error, 'use PagerDuty\'s change-event shape: { payload: { summary, timestamp, source, custom_details }, links, services }');
    const now = ctx.clock.now();
    const change = toExternalChange(parsed.data, now);
    const fresh = await ctx.store.incidents.addChange(change, now);
    // A change joins the timeline of a related open incident (one about a service it touched), never an unrelated one.
    if (fresh) {
      const at = Date.parse(change.timestamp);
      const about = await service.grouping.subjectOf({ modules: change.services, dependencies: [...(change.touches?.dependencies ?? []), ...(change.touches?.services ?? [])] });
      await service.grouping.place({ kind: 'change', at, about }, {
        joined: () => [{ at, kind: 'change', text: `change: ${change.summary}${change.services.length ? ` (${change.services.join(', ')})` : ''}${change.source ? ` from ${change.source}` : ''}`, data: change as unknown as Record<string, unknown>, dedup: change.id }],
      });
    }
    return reply.code(fresh ? 202 : 200).send({ id: change.id, recorded: fresh });
  });

  r.get('/v1/incidents', { config: { access: 'viewer' }, schema: { querystring: z.object({ open: z.enum(['true', 'false']).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }) } }, async (req) => ({
    incidents: await ctx.store.incidents.list({ ...(req.query.open ? { open: req.query.open === 'true' } : {}), limit: req.query.limit ?? 100 }),
  }));

  r.post('/v1/incidents', { config: { access: 'deployer' }, schema: { body: OpenBody } }, async (req, reply) => {
    const caller = callerOf(req);
    const now = ctx.clock.now();
    const { title, severity, note } = req.body;
    const noteEntry = (id: string) => (note ? [{ at: now, kind: 'note' as const, text: note, data: { author: caller.name }, dedup: `note:${id}:${now}` }] : []);
    const about = await service.grouping.subjectOf({ modules: req.body.modules ?? [], artifacts: req.body.artifacts ?? [] });
    // Someone opening an incident about what an open incident is already about joins that one: one cause, one incident.
    const placed = await service.grouping.place({ kind: 'manual', at: now, about }, {
      open: () => ({
        incident: { title, severity, status: 'open', opened_by: 'manual', opened_at: now, resolved_at: null, rollout_id: null },
        entries: (id) => [{ at: now, kind: 'status', text: `incident opened by ${caller.name}`, data: { status: 'open', opened_by: 'manual', actor: caller.name } }, ...noteEntry(id)],
        details: { opened_by: caller.name, about },
      }),
      joined: (incident, p) => [
        { at: now, kind: 'status', text: `${caller.name} asked to open "${title}"; it joined this incident (${p.why})`, data: { joined_by: caller.name, title, why: p.why }, dedup: `manual:${now}:${title}` },
        ...noteEntry(incident.id),
      ],
    });
    if (!placed) throw new ApiError(500, 'NOT_PLACED', 'the incident could not be opened', 'try again');
    if (placed.opened) void service.triage(placed.incident).catch(() => undefined);
    return reply.code(placed.opened ? 201 : 200).send({ incident: placed.incident, opened: placed.opened, ...(placed.opened ? {} : { joined_because: placed.placement.why }) });
  });

  r.get('/v1/incidents/:id', { config: { access: 'viewer' }, schema: { params: IdParams } }, async (req) => {
    const incident = await ctx.store.incidents.get(req.params.id);
    if (!incident) throw notFound('incident', req.params.id, 'failsmall incident list shows them');
    const [timeline, alerts] = await Promise.all([ctx.store.incidents.timeline(incident.id), ctx.store.incidents.alerts(incident.id)]);
    const byName = new Map<string, { name: string; firing: number; resolved: number; receipts: number; first_at: number }>();
    for (const a of alerts) {
      const g = byName.get(a.name) ?? { name: a.name, firing: 0, resolved: 0, receipts: 0, first_at: a.starts_at };
      if (a.status === 'firing') g.firing++; else g.resolved++;
      g.receipts += a.receipts;
      g.first_at = Math.min(g.first_at, a.starts_at);
      byName.set(a.name, g);
    }
    return { incident, timeline, alerts: { total: alerts.length, by_name: [...byName.values()] } };
  });

  r.post('/v1/incidents/:id/notes', { config: { access: 'deployer' }, schema: { params: IdParams, body: z.object({ text: Text(4000) }) } }, async (req, reply) => {
    const caller = callerOf(req);
    const incident = await ctx.store.incidents.get(req.params.id);
    if (!incident) throw notFound('incident', req.params.id);
    const at = ctx.clock.now();
    await ctx.store.incidents.addTimeline(incident.id, [{ at, kind: 'note', text: req.body.text, data: { author: caller.name } }]);
    return reply.code(201).send({ recorded: true });
  });

  r.post('/v1/incidents/:id/status', { config: { access: 'deployer' }, schema: { params: IdParams, body: z.object({ status: z.enum(INCIDENT_STATUSES), note: Text(4000).optional() }) } }, async (req) => {
    const caller = callerOf(req);
    const incident = await ctx.store.incidents.get(req.params.id);
    if (!incident) throw notFound('incident', req.params.id);
    if (incident.status === req.body.status) throw new ApiError(409, 'NO_CHANGE', `incident ${incident.id} is already ${incident.status}`, `statuses: ${INCIDENT_STATUSES.join(', ')}`);
    return { incident: await service.setStatus(incident, req.body.status, caller.name, req.body.note) };
  });

  r.get('/v1/incidents/:id/postmortem', { config: { access: 'viewer' }, schema: { params: IdParams, querystring: z.object({ format: z.enum(['md', 'json']).default('md'), audience: z.enum(['internal', 'public']).default('internal') }) } }, async (req, reply) => {
    const incident = await ctx.store.incidents.get(req.params.id);
    if (!incident) throw notFound('incident', req.params.id, 'failsmall incident list shows them');
    const facts = await postmortemFactsFor(ctx.store, incident, ctx.clock.now());
    if (req.query.format === 'json') return { postmortem: postmortemData(facts), ...(req.query.audience === 'internal' ? { facts } : {}) };
    return reply.type('text/markdown; charset=utf-8').send(renderPostmortem(facts, { audience: req.query.audience }));
  });

  r.post('/v1/incidents/:id/triage', { config: { access: 'deployer' }, schema: { params: IdParams } }, async (req) => {
    const incident = await ctx.store.incidents.get(req.params.id);
    if (!incident) throw notFound('incident', req.params.id);
    const { triage } = await service.triage(incident);
    return { incident, triage };
  });
}

function invalid(what: string, err: z.ZodError, hint: string): ApiError {
  const first = err.issues[0];
  const path = first?.path.join('.') || '(body)';
  return new ApiError(400, 'BAD_PAYLOAD', `invalid ${what}: ${path}: ${first?.message ?? 'schema mismatch'}`, hint, { issues: err.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })) });
}
