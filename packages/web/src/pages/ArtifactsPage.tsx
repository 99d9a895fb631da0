import { ago, checksSummary, signerWords } from '@failsmall/core/browser';
import type { ArtifactInfo, FleetSummary, RolloutState, VersionInfo } from '../api/types.ts';
import { refine } from '../app/navigate.ts';
import { hrefOf } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive, useServerClock } from '../live/useLive.ts';
import { ArtifactSelect } from '../parts/ArtifactSelect.tsx';
import { Link } from '../parts/Link.tsx';
import { LiveHead } from '../parts/LiveHead.tsx';
import { limitsWords, sizeWords, versionRows, type VersionRow } from '../view/artifacts.ts';
import { wholeFleet } from '../view/fleet.ts';

interface ArtifactsAnswer {
  readonly artifacts: readonly ArtifactInfo[];
  /** The chosen artifact's versions and where they are live; null when none is declared. */
  readonly chosen: { readonly artifact: ArtifactInfo; readonly rows: readonly VersionRow[]; readonly nodes: number } | null;
}

/**
 * Artifacts: one artifact (chosen from a select) with its declared limits, and every version
 * pushed, newest first: who pushed it, size, entries, short sha256, the key that signed it, each
 * declared check as it ran at push, forced past its limits, and where it is live (nodes serving
 * it, current, being rolled out). Live on rollout events.
 */
export function ArtifactsPage({ artifact }: { artifact: string }) {
  const { api } = useSession();
  const live = useLive<ArtifactsAnswer>(`artifacts#${artifact}`, {
    cursorPath: '/v1/events?type=rollout.&newest=true&limit=1',
    followPath: (after) => `/v1/events?type=rollout.&after=${after}&wait=20000`,
    load: async (signal) => {
      const { artifacts } = await api.get<{ artifacts: ArtifactInfo[] }>('/v1/artifacts', signal);
      const name = artifact || artifacts[0]?.name;
      if (!name) return { artifacts, chosen: null };
      const path = encodeURIComponent(name);
      // The artifact first and alone: an unknown one is a 404 before anything else is read.
      const one = await api.get<{ artifact: ArtifactInfo; versions: VersionInfo[] }>(`/v1/artifacts/${path}`, signal);
      const [fleet, { rollouts }] = await Promise.all([
        api.get<FleetSummary>(`/v1/fleet?artifact=${path}`, signal),
        api.get<{ rollouts: RolloutState[] }>(`/v1/rollouts?artifact=${path}&active=true`, signal),
      ]);
      const rows = versionRows(one.versions, one.artifact.current_version, wholeFleet(fleet).serving, rollouts[0] ?? null);
      return { artifacts, chosen: { artifact: one.artifact, rows, nodes: fleet.nodes } };
    },
  });
  const now = useServerClock(null);
  const choose = (name: string) => refine(hrefOf({ page: 'artifacts', artifact: name }));
  const chosen = live.value?.chosen ?? null;
  const limits = chosen ? limitsWords(chosen.artifact.validation) : [];
  return (
    <>
      <LiveHead title="Artifacts" live={live} />
      {live.value ? (
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <ArtifactSelect id="artifacts-artifact" value={chosen?.artifact.name ?? artifact} artifacts={live.value.artifacts} onChange={choose} />
        </form>
      ) : null}
      {live.value && !chosen ? <p>No artifact is declared yet: failsmall apply declares them.</p> : null}
      {chosen ? (
        <>
          <section aria-labelledby="artifact-title">
            <h2 id="artifact-title">{chosen.artifact.name}</h2>
            <p>
              A {chosen.artifact.kind} for module {chosen.artifact.module}{chosen.artifact.policy ? `, rolled out under policy ${chosen.artifact.policy} unless told otherwise` : ''};{' '}
              current version {chosen.artifact.current_version ?? 'none yet'}.
            </p>
            <p data-limits="true">Declared limits (each node and the control plane check them before a version is used): {limits.length > 0 ? limits.join(', ') : 'none'}.</p>
          </section>
          {chosen.rows.length === 0 ? <p>No version pushed yet: failsmall artifact push {chosen.artifact.name} FILE.</p> : (
            <table className="versions-table">
              <caption>{chosen.rows.length} versions, newest first; live on a fleet of {chosen.nodes} nodes</caption>
              <thead><tr><th scope="col">version</th><th scope="col">pushed</th><th scope="col">size</th><th scope="col">entries</th><th scope="col">sha256</th><th scope="col">signer</th><th scope="col">checks at push</th><th scope="col">live</th><th scope="col">state</th></tr></thead>
              <tbody>
                {chosen.rows.map((v) => (
                  <tr key={v.version} data-version={v.version}>
                    <th scope="row">{v.version}</th>
                    <td>{ago(Math.max(0, now - v.created_at))} ago{v.pushed_by ? ` by ${v.pushed_by}` : ''}</td>
                    <td>{sizeWords(v.size)}</td>
                    <td data-entries="true">{v.entries ?? 'not recorded'}</td>
                    <td><code title={v.sha256}>{v.sha256.slice(0, 12)}</code></td>
                    <td data-signer="true">{v.signature ? signerWords(v.signature, v.signer) : <strong>not signed</strong>}</td>
                    <td data-checks="true">
                      {v.checks && v.checks.length > 0 ? (
                        <ul className="checks" aria-label={`checks at push: ${checksSummary(v.checks)}`}>
                          {v.checks.map((c) => (
                            <li key={c.check} data-check={c.check} data-outcome={c.outcome}>
                              <span className={`check-${c.outcome}`}>{c.outcome}</span> {c.check}: {c.message}
                            </li>
                          ))}
                        </ul>
                      ) : checksSummary(v.checks)}
                    </td>
                    <td>{v.serving} of {chosen.nodes} nodes</td>
                    <td>
                      {[v.current ? 'current' : '', v.forced ? 'forced past its limits' : ''].filter((x) => x !== '').join(', ')}
                      {v.rolling_out ? <> rolling out in <Link href={hrefOf({ page: 'rollout', id: v.rolling_out })}>{v.rolling_out}</Link></> : null}
                      {!v.current && !v.forced && !v.rolling_out ? '—' : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : null}
    </>
  );
}
