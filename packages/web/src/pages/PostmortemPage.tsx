import { hrefOf } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive } from '../live/useLive.ts';
import { FailurePanel } from '../parts/FailurePanel.tsx';
import { Link } from '../parts/Link.tsx';
import { Markdown } from '../parts/Markdown.tsx';

/**
 * An incident's postmortem draft (GET /v1/incidents/:id/postmortem), its Markdown rendered as
 * text-only elements (parts/Markdown.tsx): drafted from the facts, to be reviewed by people.
 */
export function PostmortemPage({ id }: { id: string }) {
  const { api, signOut } = useSession();
  const path = encodeURIComponent(id);
  const live = useLive<string>(`postmortem#${id}`, {
    cursorPath: '/v1/events?type=rollout.&newest=true&limit=1',
    followPath: (after) => `/v1/events?type=rollout.&after=${after}&wait=20000`,
    load: (signal) => api.getText(`/v1/incidents/${path}/postmortem`, signal),
  });
  return (
    <>
      <p className="crumbs"><Link href={hrefOf({ page: 'incidents' })}>Incidents</Link> / <Link href={hrefOf({ page: 'incident', id })}>{id}</Link> / postmortem</p>
      <h1>Postmortem draft: incident {id}</h1>
      <p className="hint">Drafted by failsmall from the incident's facts; review it before you share it (<code>failsmall postmortem {id}</code> writes the same Markdown).</p>
      {live.failure ? <FailurePanel failure={live.failure} onSignIn={() => signOut()} /> : null}
      {live.value === null ? (live.failure ? null : <p role="status">Loading…</p>) : <article className="postmortem"><Markdown text={live.value} level={2} /></article>}
    </>
  );
}
