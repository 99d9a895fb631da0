import { ago } from '@failsmall/core/browser';
import type { Incident } from '../api/types.ts';
import { hrefOf } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive, useServerClock } from '../live/useLive.ts';
import { LiveHead } from '../parts/LiveHead.tsx';
import { Link } from '../parts/Link.tsx';
import { OPENED_BY, sortIncidents } from '../view/incidents.ts';

/** How many incidents the page reads: the open ones and the recent past. */
const LIMIT = 100;
/** Incidents open and change without a rollout event (an alert, a note): read again this often too. */
export const INCIDENTS_REFRESH_MS = 5000;

/** Incidents: the open ones first, then the recent, each with its severity, status, opener and rollout. */
export function IncidentsPage() {
  const { api } = useSession();
  const live = useLive('incidents', {
    cursorPath: '/v1/events?type=rollout.&newest=true&limit=1',
    followPath: (after) => `/v1/events?type=rollout.&after=${after}&wait=20000`,
    everyMs: INCIDENTS_REFRESH_MS,
    load: async (signal) => sortIncidents((await api.get<{ incidents: Incident[] }>(`/v1/incidents?limit=${LIMIT}`, signal)).incidents),
  });
  const now = useServerClock(null);
  const all = live.value ?? [];
  const open = all.filter((i) => i.status !== 'resolved').length;
  return (
    <>
      <LiveHead title="Incidents" live={live} />
      {live.value === null ? null : all.length === 0 ? <p>No incident: a failed gate, an alert or failsmall incident open starts one.</p> : (
        <table className="incidents">
          <caption>{open} open, {all.length - open} resolved; open first, then newest first</caption>
          <thead><tr><th scope="col">Incident</th><th scope="col">Title</th><th scope="col">Severity</th><th scope="col">Status</th><th scope="col">Opened by</th><th scope="col">Opened</th><th scope="col">Rollout</th></tr></thead>
          <tbody>
            {all.map((i) => (
              <tr key={i.id} data-incident={i.id}>
                <th scope="row"><Link href={hrefOf({ page: 'incident', id: i.id })}>{i.id}</Link></th>
                <td>{i.title}</td>
                <td>{i.severity}</td>
                <td><span className={`badge incident-${i.status}`}>{i.status}</span></td>
                <td>{OPENED_BY[i.opened_by]}</td>
                <td>{ago(Math.max(0, now - i.opened_at))} ago</td>
                <td>{i.rollout_id ? <Link href={hrefOf({ page: 'rollout', id: i.rollout_id })}>{i.rollout_id}</Link> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
