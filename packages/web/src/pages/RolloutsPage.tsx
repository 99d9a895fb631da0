import { ago } from '@failsmall/core/browser';
import type { RolloutState } from '../api/types.ts';
import { refine } from '../app/navigate.ts';
import { hrefOf, type RolloutFilter } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive, useServerClock } from '../live/useLive.ts';
import { FailurePanel } from '../parts/FailurePanel.tsx';
import { FilterSelect } from '../parts/FilterSelect.tsx';
import { Link } from '../parts/Link.tsx';
import { LiveNote } from '../parts/LiveNote.tsx';
import { StatusBadge } from '../parts/StatusBadge.tsx';
import { artifactsOf, filterRollouts, stageLabel, STATE_CHOICES, versionsLabel } from '../view/rollout-list.ts';

/** How many rollouts the page reads: the running ones and the recent past. */
const LIMIT = 200;

/**
 * Rollouts: running and recent ones, newest first, with artifact, versions, current stage, state
 * and age; filtered by artifact and state (kept in the address, so a filtered view can be shared).
 * Live: every rollout transition in the log reloads the list.
 */
export function RolloutsPage({ filter }: { filter: RolloutFilter }) {
  const { api, signOut } = useSession();
  const live = useLive('rollouts', {
    cursorPath: '/v1/events?type=rollout.&newest=true&limit=1',
    followPath: (after) => `/v1/events?type=rollout.&after=${after}&wait=20000`,
    load: async (signal) => (await api.get<{ rollouts: RolloutState[] }>(`/v1/rollouts?limit=${LIMIT}`, signal)).rollouts,
  });
  const now = useServerClock(null);
  const all = live.value ?? [];
  const shown = filterRollouts(all, filter);
  const setFilter = (change: Partial<RolloutFilter>) => refine(hrefOf({ page: 'rollouts', filter: { ...filter, ...change } }));
  const artifacts = artifactsOf(all);
  if (filter.artifact && !artifacts.includes(filter.artifact)) artifacts.push(filter.artifact);
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
        <p>{all.length === 0 ? 'No rollout yet: start one with failsmall rollout start ARTIFACT VERSION.' : 'No rollout matches these filters.'}</p>
      ) : (
        <table className="rollouts">
          <caption>{shown.length} of {all.length} rollouts, newest first</caption>
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
    </>
  );
}
