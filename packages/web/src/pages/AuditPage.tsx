import { ago } from '@failsmall/core/browser';
import { useCallback, useEffect, useState } from 'react';
import { failureFrom, type ApiFailure } from '../api/failure.ts';
import type { BreakglassAnswer, ChainAnswer, EventRecord } from '../api/types.ts';
import { refine } from '../app/navigate.ts';
import { hrefOf } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive, useServerClock } from '../live/useLive.ts';
import { FailurePanel } from '../parts/FailurePanel.tsx';
import { FilterSelect } from '../parts/FilterSelect.tsx';
import { Link } from '../parts/Link.tsx';
import { LiveHead } from '../parts/LiveHead.tsx';
import { breakglassRows, chainWords, commandWords, eventSentence, eventsPath, newestFirst, nodesOf, pinWords, typeChoices, verificationWords, type AuditFilter } from '../view/audit.ts';

/** Pins change with a node's report, which may write no event: read the break-glass records again this often too. */
const BREAKGLASS_REFRESH_MS = 5000;

/**
 * Break-glass and audit: whether the event log's hash chain is intact (checked on opening and
 * on demand), every break-glass command the control plane learned of with the pins now, and the
 * event log's newest events, filtered by type prefix and rollout (in the address), live.
 */
export function AuditPage({ filter }: { filter: AuditFilter }) {
  const { api, signOut } = useSession();
  const now = useServerClock(null);
  const setFilter = (change: Partial<AuditFilter>) => refine(hrefOf({ page: 'audit', filter: { ...filter, ...change } }));

  const [chain, setChain] = useState<{ answer: ChainAnswer; at: number } | null>(null);
  const [chainFailure, setChainFailure] = useState<ApiFailure | null>(null);
  const [checking, setChecking] = useState(false);
  const check = useCallback(() => {
    setChecking(true);
    api.get<ChainAnswer>('/v1/audit/verify').then((answer) => { setChain({ answer, at: Date.now() }); setChainFailure(null); }, (err: unknown) => setChainFailure(failureFrom(err))).finally(() => setChecking(false));
  }, [api]);
  useEffect(() => { check(); }, [check]);

  const breakglass = useLive('breakglass', {
    cursorPath: '/v1/events?type=breakglass.&newest=true&limit=1',
    followPath: (after) => `/v1/events?type=breakglass.&after=${after}&wait=20000`,
    everyMs: BREAKGLASS_REFRESH_MS,
    load: (signal) => api.get<BreakglassAnswer>('/v1/breakglass?limit=500', signal),
  });
  const events = useLive(`events ${filter.type} ${filter.rollout}`, {
    cursorPath: eventsPath(filter, undefined, 1),
    followPath: (after) => eventsPath(filter, after),
    load: async (signal) => newestFirst((await api.get<{ events: EventRecord[] }>(eventsPath(filter), signal)).events),
  });

  const words = chain ? chainWords(chain.answer) : null;
  const bg = breakglass.value;
  const rows = bg ? breakglassRows(bg.entries, filter.node) : [];
  const pins = bg ? bg.pins.filter((p) => !filter.node || p.node === filter.node) : [];
  const nodes = bg ? nodesOf(bg.entries, bg.pins) : [];
  if (filter.node && !nodes.includes(filter.node)) nodes.push(filter.node);
  const list = events.value ?? [];

  return (
    <>
      <LiveHead title="Break-glass and audit" live={events} />
      <section aria-labelledby="chain-h" data-chain={words ? (words.intact ? 'intact' : 'broken') : 'unknown'}>
        <h2 id="chain-h">The event log's hash chain</h2>
        {chainFailure ? <FailurePanel failure={chainFailure} onSignIn={() => signOut()} /> : null}
        {words && chain ? (
          <div className={words.intact ? 'notice ok' : 'failure'} role="status">
            <p><strong>The chain is {words.text}</strong></p>
            <p>{chain.answer.message.replace(/\.?$/, '.')} Checked {ago(Math.max(0, Date.now() - chain.at))} ago, at {new Date(chain.at).toLocaleTimeString()}.</p>
          </div>
        ) : !chainFailure ? <p role="status">Checking the chain…</p> : null}
        <button type="button" onClick={check} disabled={checking}>{checking ? 'Checking…' : 'Check the chain again'}</button>
      </section>

      <section aria-labelledby="bg-h">
        <h2 id="bg-h">Break-glass</h2>
        {breakglass.failure ? <FailurePanel failure={breakglass.failure} onSignIn={() => signOut()} /> : null}
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <FilterSelect id="node-filter" label="Node" value={filter.node} choices={[{ value: '', label: 'every node' }, ...nodes.map((n) => ({ value: n, label: n }))]} onChange={(node) => setFilter({ node })} />
        </form>
        {bg === null ? null : (
          <>
            <h3>Pins now</h3>
            {pins.length === 0 ? <p data-pins="none">No node is pinned by break-glass{filter.node ? ` on ${filter.node}` : ''}: every node follows its rollouts.</p> : (
              <ul className="pins" data-pins={pins.length}>{pins.map((p) => <li key={`${p.node} ${p.artifact}`}><strong>{pinWords(p)}</strong>, since {p.since}</li>)}</ul>
            )}
            <h3>Commands</h3>
            {rows.length === 0 ? <p data-breakglass="none">No break-glass command was reported{filter.node ? ` by ${filter.node}` : ''}: no node has had one since it joined this control plane.</p> : (
              <table className="breakglass">
                <caption>{rows.length} break-glass command{rows.length === 1 ? '' : 's'} reported, newest first</caption>
                <thead><tr><th scope="col">Node</th><th scope="col">Command</th><th scope="col">Operator and reason</th><th scope="col">Issued, expires</th><th scope="col">At (node's clock)</th><th scope="col">Verified by the control plane</th></tr></thead>
                <tbody>
                  {rows.map((e) => (
                    <tr key={`${e.node_id} ${e.seq}`} data-node={e.node_id} data-verified={e.verified}>
                      <th scope="row">{e.node_id} #{e.seq}</th>
                      <td>{commandWords(e)}</td>
                      <td>{e.operator ?? '—'}{e.reason ? `: ${e.reason}` : ''}</td>
                      <td>{e.issued_at ?? '—'}{e.expires_at ? `, until ${e.expires_at}` : ''}</td>
                      <td>{e.at}</td>
                      <td>{verificationWords(e)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </section>

      <section aria-labelledby="events-h">
        <h2 id="events-h">The event log</h2>
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <FilterSelect id="type-filter" label="Type" value={filter.type} choices={typeChoices(filter.type)} onChange={(type) => setFilter({ type })} />
          <label htmlFor="rollout-filter">Rollout</label>
          <input id="rollout-filter" defaultValue={filter.rollout} placeholder="r-… (every rollout)" onBlur={(e) => { if (e.target.value.trim() !== filter.rollout) setFilter({ rollout: e.target.value.trim() }); }} onKeyDown={(e) => { if (e.key === 'Enter') setFilter({ rollout: e.currentTarget.value.trim() }); }} />
        </form>
        {events.value === null ? null : list.length === 0 ? <p>No event matches these filters.</p> : (
          <table className="events">
            <caption>The newest {list.length} event{list.length === 1 ? '' : 's'}{filter.type ? ` of type ${filter.type}*` : ''}{filter.rollout ? ` of ${filter.rollout}` : ''}, newest first</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Seq</th><th scope="col">Type</th><th scope="col">Rollout</th><th scope="col">What happened</th></tr></thead>
            <tbody>
              {list.map((e) => (
                <tr key={e.seq} data-type={e.type} data-seq={e.seq}>
                  <td><time dateTime={new Date(e.at).toISOString()}>{ago(Math.max(0, now - e.at))} ago</time></td>
                  <th scope="row">#{e.seq}</th>
                  <td><code>{e.type}</code></td>
                  <td>{e.rollout_id ? <Link href={hrefOf({ page: 'rollout', id: e.rollout_id })}>{e.rollout_id}</Link> : '—'}</td>
                  <td>{eventSentence(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
