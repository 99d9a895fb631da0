import { ago } from '@failsmall/core/browser';
import type { ArtifactInfo, RolloutState } from '../api/types.ts';
import { refine } from '../app/navigate.ts';
import { hrefOf, type RolloutFilter } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive, useServerClock } from '../live/useLive.ts';
import { FailurePanel } from '../parts/FailurePanel.tsx';
import { FilterSelect } from '../parts/FilterSelect.tsx';
import { Link } from '../parts/Link.tsx';
import { LiveNote } from '../parts/LiveNote.tsx';
import { StatusBadge } from '../parts/StatusBadge.tsx';
import { ROLLOUTS_PAGE, rolloutsPath, stageLabel, STATE_CHOICES, versionsLabel } from '../view/rollout-list.ts';


interface RolloutsAnswer {
  readonly rollouts: readonly RolloutState[];
  /** The cursor of the next (older) page, or null on the last. */
  readonly next: string | null;
  readonly artifacts: readonly string[];
}

/**
 * Rollouts: running and recent ones, newest first, with artifact, versions, current stage, state
 * and age; filtered by artifact and state on the server (so a filter finds a rollout however old),
 * a page at a time with a keyset cursor (`before=ID`, which holds while new rollouts start). The
 * filters and the page are kept in the address, so a view can be shared. Live: every rollout
 * transition in the log reloads the page shown.
 */
export function RolloutsPage({ filter }: { filter: RolloutFilter }) {
  const { api, signOut } = useSession();
  const path = rolloutsPath(filter, ROLLOUTS_PAGE);
  const live = useLive<RolloutsAnswer>(`rollouts#${path}`, {
    cursorPath: '/v1/events?type=rollout.&newest=true&limit=1',
    followPath: (after) => `/v1/events?type=rollout.&after=${after}&wait=20000`,
    load: async (signal) => {
      const [page, { artifacts }] = await Promise.all([
        api.get<{ rollouts: RolloutState[]; next: string | null }>(path, signal),
        api.get<{ artifacts: ArtifactInfo[] }>('/v1/artifacts', signal),
      ]);
      return { rollouts: page.rollouts, next: page.next, artifacts: artifacts.map((a) => a.name).sort() };
    },
  });
  const now = useServerClock(null);
  const shown = live.value?.rollouts ?? [];
  // A filter starts again from the newest page; paging keeps the filters.
  const setFilter = (change: Partial<RolloutFilter>) => refine(hrefOf({ page: 'rollouts', filter: { ...filter, before: '', ...change } }));
  const artifacts = [...(live.value?.artifacts ?? [])];
  if (filter.artifact && !artifacts.includes(filter.artifact)) artifacts.push(filter.artifact);
  const filtered = filter.artifact !== '' || filter.state !== '';
  const older = live.value?.next ?? null;
  return (
    <>
      <h1>Rollouts</h1>
      <LiveNote mode={live.mode} />
      {live.failure ? <FailurePanel failure={live.failure} onSignIn={() => signOut()} /> : null}
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect id="artifact-filter" label="Artifact" value={filter.artifact} choices={[{ value: '', label: 'every artifact' }, ...artifacts.map((a) => ({ value: a, label: a }))]} onChange={(artifact) => setFilter({ artifact })} />
        <FilterSelect id="state-filter" label="State" value={filter.state} choices={STATE_CHOICES} onChange={(state) => setFilter({ state })} />
      </form>
      {live.value === null ? null : shown.length === 0 ? (
        <p>{filter.before !== '' ? 'No older rollout.' : filtered ? 'No rollout matches these filters.' : 'No rollout yet: start one with failsmall rollout start ARTIFACT VERSION.'}</p>
      ) : (
        <table className="rollouts">
          <caption>
            {shown.length} {filtered ? 'matching ' : ''}rollout{shown.length === 1 ? '' : 's'}, newest first
            {filter.before !== '' ? `, started before ${filter.before}` : ''}{older ? '; older ones on the next page' : ''}
          </caption>
          <thead><tr><th scope="col">Rollout</th><th scope="col">Artifact</th><th scope="col">Versions</th><th scope="col">Stage</th><th scope="col">State</th><th scope="col">Started</th><th scope="col">Updated</th><th scope="col">By</th></tr></thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.id} data-rollout={r.id}>
                <th scope="row"><Link href={hrefOf({ page: 'rollout', id: r.id })}>{r.id}</Link></th>
                <td>{r.artifact}</td>
                <td>{versionsLabel(r)}</td>
                <td>{stageLabel(r)}</td>
                <td><StatusBadge status={r.status} /></td>
                <td>{ago(now - r.created_at)} ago</td>
                <td>{ago(now - r.updated_at)} ago</td>
                <td>{r.created_by}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {filter.before !== '' || older ? (
        <nav aria-label="Pages of rollouts" className="pager">
          {filter.before !== '' ? <Link href={hrefOf({ page: 'rollouts', filter: { ...filter, before: '' } })}>Newest rollouts</Link> : null}
          {older ? <Link href={hrefOf({ page: 'rollouts', filter: { ...filter, before: older } })}>Older rollouts</Link> : null}
        </nav>
      ) : null}
    </>
  );
}
