import { useState } from 'react';
import { failureFrom, type ApiFailure } from '../api/failure.ts';
import type { IncidentAnswer } from '../api/types.ts';
import { hrefOf } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive } from '../live/useLive.ts';
import { FailurePanel } from '../parts/FailurePanel.tsx';
import { LiveNote } from '../parts/LiveNote.tsx';
import { Link } from '../parts/Link.tsx';
import { TriageView } from '../parts/TriageView.tsx';
import { latestTriage, OPENED_BY } from '../view/incidents.ts';
import { INCIDENTS_REFRESH_MS } from './IncidentsPage.tsx';

/**
 * One incident: what it is and where it stands, the newest triage's hypotheses with their
 * evidence (a deployer may run triage again), the alerts, the timeline, and a link to the
 * postmortem draft.
 */
export function IncidentPage({ id }: { id: string }) {
  const { api, me, signOut } = useSession();
  const [reloads, setReloads] = useState(0);
  const [busy, setBusy] = useState(false);
  const [triageFailure, setTriageFailure] = useState<ApiFailure | null>(null);
  const path = encodeURIComponent(id);
  const live = useLive<IncidentAnswer>(`${id}#${reloads}`, {
    cursorPath: '/v1/events?type=rollout.&newest=true&limit=1',
    followPath: (after) => `/v1/events?type=rollout.&after=${after}&wait=20000`,
    everyMs: INCIDENTS_REFRESH_MS,
    load: (signal) => api.get<IncidentAnswer>(`/v1/incidents/${path}`, signal),
  });
  if (!live.value) {
    return live.failure ? <FailurePanel failure={live.failure} onSignIn={() => signOut()} /> : <p role="status">Loading incident {id}…</p>;
  }
  const { incident: i, timeline, alerts } = live.value;
  const triaged = latestTriage(timeline);
  const triageAgain = async () => {
    setBusy(true);
    setTriageFailure(null);
    try {
      await api.post(`/v1/incidents/${path}/triage`, {});
      setReloads((n) => n + 1);
    } catch (err) {
      setTriageFailure(failureFrom(err));
    }
    setBusy(false);
  };
  return (
    <>
      <p className="crumbs"><Link href={hrefOf({ page: 'incidents' })}>Incidents</Link> / {i.id}</p>
      <h1>Incident {i.id} <span className={`badge incident-${i.status}`}>{i.status}</span></h1>
      <p className="subtitle">
        {i.title} · {i.severity} · opened by {OPENED_BY[i.opened_by]} at {new Date(i.opened_at).toLocaleString()}
        {i.resolved_at !== null ? `, resolved at ${new Date(i.resolved_at).toLocaleString()}` : ''}
        {i.rollout_id ? <> · rollout <Link href={hrefOf({ page: 'rollout', id: i.rollout_id })}>{i.rollout_id}</Link></> : null}
      </p>
      <LiveNote mode={live.mode} />
      {live.failure ? <FailurePanel failure={live.failure} onSignIn={() => signOut()} /> : null}
      <p><Link href={hrefOf({ page: 'postmortem', id: i.id })}>The postmortem draft</Link></p>
      <section aria-labelledby="triage-title">
        <h2 id="triage-title">Triage</h2>
        {triaged ? <TriageView triage={triaged.triage} at={triaged.at} /> : <p>Not triaged yet.</p>}
        {me.grants.includes('deployer') ? <button type="button" onClick={() => void triageAgain()} disabled={busy}>Triage again</button> : null}
        {triageFailure ? <p className="failure" role="alert">{triageFailure.message} <code>{triageFailure.code}</code></p> : null}
      </section>
      <section aria-labelledby="alerts-title">
        <h2 id="alerts-title">Alerts</h2>
        {alerts.total === 0 ? <p>No alert joined this incident.</p> : (
          <table>
            <caption>{alerts.total} alerts, by name</caption>
            <thead><tr><th scope="col">alert</th><th scope="col">firing</th><th scope="col">resolved</th><th scope="col">first</th></tr></thead>
            <tbody>{alerts.by_name.map((a) => <tr key={a.name}><th scope="row">{a.name}</th><td>{a.firing}</td><td>{a.resolved}</td><td>{new Date(a.first_at).toLocaleTimeString()}</td></tr>)}</tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="incident-timeline-title">
        <h2 id="incident-timeline-title">Timeline</h2>
        <ol className="timeline">
          {timeline.map((e) => (
            <li key={e.seq} data-kind={e.kind}><time dateTime={new Date(e.at).toISOString()}>{new Date(e.at).toLocaleTimeString()}</time> <span className="type">{e.kind}</span> {e.text}</li>
          ))}
        </ol>
      </section>
    </>
  );
}
