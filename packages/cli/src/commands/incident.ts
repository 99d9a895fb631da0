import type { Incident, TimelineEntry } from '@failsmall/core';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { renderTable } from '../table.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

interface IncidentDetail {
  incident: Incident;
  timeline: TimelineEntry[];
  alerts: { total: number; by_name: { name: string; firing: number; resolved: number; receipts: number }[] };
}

const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** `failsmall incident list [--open]` */
export async function incidentList(opts: GlobalOpts & { open?: boolean }, out: Out): Promise<number> {
  const res = await clientFrom(opts).get<{ incidents: Incident[] }>(`/v1/incidents${opts.open ? '?open=true' : ''}`);
  out.data({ ok: true, ...res });
  if (res.incidents.length > 0) {
    out.line(renderTable(['id', 'severity', 'status', 'opened (UTC)', 'by', 'title'], res.incidents.map((i) => [i.id, i.severity, i.status, utc(i.opened_at), i.opened_by, i.title])));
  }
  out.line(`${res.incidents.length} incident(s)`);
  return EXIT.OK;
}

/** `failsmall incident show ID`: the incident and its timeline in UTC. */
export async function incidentShow(id: string, opts: GlobalOpts, out: Out): Promise<number> {
  const res = await clientFrom(opts).get<IncidentDetail>(`/v1/incidents/${encodeURIComponent(id)}`);
  out.data({ ok: true, ...res });
  const i = res.incident;
  out.line(`${i.id}: ${i.title}`);
  out.line(`${i.severity}, ${i.status}, opened ${utc(i.opened_at)} by ${i.opened_by}${i.rollout_id ? ` (rollout ${i.rollout_id})` : ''}${i.resolved_at ? `, resolved ${utc(i.resolved_at)}` : ''}`);
  if (res.alerts.total > 0) out.line(`alerts: ${res.alerts.total} (${res.alerts.by_name.map((a) => `${a.name} ×${a.firing + a.resolved}`).join(', ')})`);
  out.line('timeline (UTC):');
  for (const e of res.timeline) out.line(`  ${utc(e.at)}  ${e.kind.padEnd(10)} ${e.text}`);
  return EXIT.OK;
}

/** `failsmall incident open --title T [--severity sev2] [--note TEXT] [--module M]… [--artifact A]…` */
export async function incidentOpen(opts: GlobalOpts & { title: string; severity?: string; note?: string; module?: string[]; artifact?: string[] }, out: Out): Promise<number> {
  const res = await clientFrom(opts).post<{ incident: Incident; opened: boolean; joined_because?: string }>('/v1/incidents', {
    title: opts.title, ...(opts.severity ? { severity: opts.severity } : {}), ...(opts.note ? { note: opts.note } : {}),
    ...(opts.module?.length ? { modules: opts.module } : {}), ...(opts.artifact?.length ? { artifacts: opts.artifact } : {}),
  });
  out.data({ ok: true, ...res });
  // A related incident was already open: the request joined it rather than open a second one for the same cause.
  out.line(res.opened ? `opened ${res.incident.id} (${res.incident.severity}): ${res.incident.title}` : `joined ${res.incident.id} (${res.incident.severity}): ${res.incident.title}; ${res.joined_because ?? 'related'}`);
  return EXIT.OK;
}

/** `failsmall incident note ID TEXT` */
export async function incidentNote(id: string, text: string, opts: GlobalOpts, out: Out): Promise<number> {
  await clientFrom(opts).post(`/v1/incidents/${encodeURIComponent(id)}/notes`, { text });
  out.data({ ok: true });
  out.line(`noted on ${id}`);
  return EXIT.OK;
}

/** `failsmall incident status ID open|investigating|mitigated|resolved [--note TEXT]` */
export async function incidentStatus(id: string, status: string, opts: GlobalOpts & { note?: string }, out: Out): Promise<number> {
  const res = await clientFrom(opts).post<{ incident: Incident }>(`/v1/incidents/${encodeURIComponent(id)}/status`, { status, ...(opts.note ? { note: opts.note } : {}) });
  out.data({ ok: true, ...res });
  out.line(`${id} is ${res.incident.status}`);
  return EXIT.OK;
}
