import { ago } from '@failsmall/core/browser';
import type { ArtifactInfo, FleetSummary } from '../api/types.ts';
import { refine } from '../app/navigate.ts';
import { hrefOf, type FleetView } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive, useServerClock } from '../live/useLive.ts';
import { ArtifactSelect } from '../parts/ArtifactSelect.tsx';
import { LiveHead } from '../parts/LiveHead.tsx';
import { VersionBar } from '../parts/VersionBar.tsx';
import { attention, groupChoices, stateWords, versionOrder, versionParts, wholeFleet } from '../view/fleet.ts';

/** Node states change without a rollout event (a load report, a node going quiet): read again this often too. */
const REFRESH_MS = 5000;

interface FleetAnswer {
  readonly artifacts: readonly ArtifactInfo[];
  /** Null when no artifact is declared yet. */
  readonly summary: FleetSummary | null;
}

/**
 * The fleet at a glance for one artifact (GET /v1/fleet): nodes grouped by a label, each group's
 * versions (a bar and the same in words), module states, what needs a look, and its newest
 * refusals. Aggregates only, so 10,000 nodes are at most 50 rows. Live: rollout events and a
 * refresh every few seconds.
 */
export function FleetPage({ view }: { view: FleetView }) {
  const { api } = useSession();
  const live = useLive<FleetAnswer>(`fleet#${view.artifact}#${view.by}`, {
    cursorPath: '/v1/events?type=rollout.&newest=true&limit=1',
    followPath: (after) => `/v1/events?type=rollout.&after=${after}&wait=20000`,
    everyMs: REFRESH_MS,
    load: async (signal) => {
      const { artifacts } = await api.get<{ artifacts: ArtifactInfo[] }>('/v1/artifacts', signal);
      // No artifact chosen: the first, so the page shows something at once.
      const artifact = view.artifact || artifacts[0]?.name;
      if (!artifact) return { artifacts, summary: null };
      const q = new URLSearchParams({ artifact, ...(view.by ? { by: view.by } : {}) });
      return { artifacts, summary: await api.get<FleetSummary>(`/v1/fleet?${q.toString()}`, signal) };
    },
  });
  const now = useServerClock(null);
  // Replaced, not pushed, as the Rollouts filters: Back leaves the page.
  const choose = (change: Partial<FleetView>) => refine(hrefOf({ page: 'fleet', view: { ...view, artifact: view.artifact || (live.value?.summary?.artifact ?? ''), ...change } }));
  const summary = live.value?.summary ?? null;
  const order = summary ? versionOrder(summary) : [];
  const total = summary ? wholeFleet(summary) : null;
  const refusals = summary?.groups.flatMap((g) => g.refused.map((r) => ({ group: g.value, ...r }))) ?? [];
  return (
    <>
      <LiveHead title="Fleet" live={live} />
      {live.value ? (
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <ArtifactSelect id="fleet-artifact" value={summary?.artifact ?? view.artifact} artifacts={live.value.artifacts} onChange={(artifact) => choose({ artifact })} />
          <label htmlFor="fleet-by">Group by</label>
          <select id="fleet-by" value={view.by} onChange={(e) => choose({ by: e.target.value })}>
            {groupChoices(summary?.label_keys ?? {}).map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
          </select>
        </form>
      ) : null}
      {live.value && !summary ? <p>No artifact is declared yet: failsmall apply declares them.</p> : null}
      {summary && total ? (
        <>
          <section aria-labelledby="fleet-total" className="fleet-total" data-total="true">
            <h2 id="fleet-total">{total.nodes} {total.nodes === 1 ? 'node' : 'nodes'} run {summary.artifact}</h2>
            <VersionBar parts={versionParts(total, order)} nodes={total.nodes} />
            <p>{stateWords(total.states).join(', ') || 'no module state reported'}</p>
            <p>{attention(total).join(', ') || 'every node on target, none pinned, pending or unseen'}</p>
          </section>
          <table className="fleet-groups">
            <caption>{summary.by ? `Grouped by ${summary.by}: ${summary.groups.length} groups, largest first` : 'The whole fleet'}</caption>
            <thead><tr><th scope="col">{summary.by ?? 'group'}</th><th scope="col">nodes</th><th scope="col">versions served</th><th scope="col">module states</th><th scope="col">needs a look</th></tr></thead>
            <tbody>
              {summary.groups.map((g) => (
                <tr key={g.value} data-group={g.value}>
                  <th scope="row">{g.value}</th>
                  <td>{g.nodes}</td>
                  <td><VersionBar parts={versionParts(g, order)} nodes={g.nodes} /></td>
                  <td>{stateWords(g.states).join(', ') || 'none reported'}</td>
                  <td>{attention(g).join(', ') || 'nothing'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <section aria-labelledby="fleet-refusals">
            <h2 id="fleet-refusals">Newest refusals</h2>
            {refusals.length === 0 ? <p>No node's latest load of {summary.artifact} was refused.</p> : (
              <table className="refusals">
                <caption>The newest refusals in each group (at most 10 a group)</caption>
                <thead><tr><th scope="col">{summary.by ?? 'group'}</th><th scope="col">node</th><th scope="col">version</th><th scope="col">why</th><th scope="col">when</th></tr></thead>
                <tbody>{refusals.map((r) => <tr key={`${r.group}/${r.node}`}><td>{r.group}</td><th scope="row">{r.node}</th><td>{r.version ?? '(none)'}</td><td>{r.error}</td><td>{ago(Math.max(0, now - r.at))} ago</td></tr>)}</tbody>
              </table>
            )}
          </section>
        </>
      ) : null}
    </>
  );
}
