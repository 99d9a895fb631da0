import { ago, gateLine, TERMINAL_STATUSES } from '@failsmall/core/browser';
import { useRef, useState } from 'react';
import type { EventRecord, RolloutAnswer, Verdict } from '../api/types.ts';
import { hrefOf } from '../app/routes.ts';
import { useSession } from '../app/session.tsx';
import { useLive, useServerClock } from '../live/useLive.ts';
import { Actions } from '../parts/Actions.tsx';
import { FailurePanel } from '../parts/FailurePanel.tsx';
import { GateChart } from '../parts/GateChart.tsx';
import { LiveNote } from '../parts/LiveNote.tsx';
import { Link } from '../parts/Link.tsx';
import { StageBarView } from '../parts/StageBarView.tsx';
import { StatusBadge } from '../parts/StatusBadge.tsx';
import { gateSeries, verdictWords } from '../view/gate-series.ts';
import { rollbackStory, type RollbackStory } from '../view/rollback.ts';
import { elapsed, shareOf } from '../view/measures.ts';
import { versionsLabel } from '../view/rollout-list.ts';
import { fleetSize, refusals, timeline } from '../view/timeline.ts';

/** The most verdicts the page keeps for its charts: the newest. */
const MAX_VERDICTS = 20_000;

interface RolloutView extends RolloutAnswer {
  readonly events: readonly EventRecord[];
  readonly verdicts: readonly Verdict[];
}

/**
 * One rollout: where it is (the stage bar, with bake and holdback), its cohort and the nodes that
 * refused, one chart per gate, the verdicts' sentences, the timeline, and the actions this token
 * may take. A rollback is said first and plainly. Live until the rollout ends.
 */
export function RolloutPage({ id }: { id: string }) {
  const { api, signOut } = useSession();
  const [reloads, setReloads] = useState(0);
  const path = encodeURIComponent(id);
  // The verdicts read so far and where the log was: each read after the first asks only for what is new.
  const gates = useRef<{ seq: number | null; verdicts: Verdict[] }>({ seq: null, verdicts: [] });
  const live = useLive<RolloutView>(`${id}#${reloads}`, {
    cursorPath: `/v1/events?rollout=${path}&newest=true&limit=1`,
    followPath: (after) => `/v1/rollouts/${path}/events?after=${after}&wait=20000`,
    done: (v) => TERMINAL_STATUSES.includes(v.rollout.status),
    load: async (signal) => {
      const g = gates.current;
      const [answer, log, fresh] = await Promise.all([
        api.get<RolloutAnswer>(`/v1/rollouts/${path}`, signal),
        api.get<{ events: EventRecord[] }>(`/v1/events?rollout=${path}&type=rollout.&limit=5000`, signal),
        api.get<{ verdicts: Verdict[]; last_seq: number }>(`/v1/rollouts/${path}/verdicts${g.seq === null ? '' : `?after=${g.seq}`}`, signal),
      ]);
      g.verdicts = g.seq === null ? fresh.verdicts : [...g.verdicts, ...fresh.verdicts].slice(-MAX_VERDICTS);
      g.seq = fresh.last_seq;
      return { ...answer, events: log.events, verdicts: g.verdicts };
    },
  });
  const now = useServerClock(live.value?.now ?? null);
  if (!live.value) {
    return live.failure ? <FailurePanel failure={live.failure} onSignIn={() => signOut()} /> : <p role="status">Loading rollout {id}…</p>;
  }
  const { rollout: r, cohort, events, verdicts } = live.value;
  const story = rollbackStory(r, events);
  const fleet = fleetSize(events);
  const refused = refusals(events);
  const series = gateSeries(verdicts);
  return (
    <>
      <p className="crumbs"><Link href={hrefOf({ page: 'rollouts', filter: { artifact: '', state: '', before: '' } })}>Rollouts</Link> / {r.id}</p>
      <h1>Rollout {r.id} <StatusBadge status={r.status} /></h1>
      <p className="subtitle">{r.artifact} {versionsLabel(r)} under policy {r.policy}, started by {r.created_by} {ago(now - r.created_at)} ago</p>
      <LiveNote mode={live.mode} />
      {live.failure ? <FailurePanel failure={live.failure} onSignIn={() => signOut()} /> : null}
      {story ? <Rollback story={story} to={r.from_version} /> : null}
      {r.status === 'paused' ? <p className="notice" role="note"><strong>Paused:</strong> {r.pause_reason ?? 'by hand'}</p> : null}
      {r.status === 'running' && r.phase === 'awaiting_approval' ? <p className="notice" role="note"><strong>Waiting for approval</strong> to go on to the next stage.</p> : null}
      {r.status === 'completed' && r.outcome ? <p className="notice ok" role="note"><strong>Completed</strong> at stage {r.outcome.stage}: {r.outcome.reason.replace(/^completed:\s*/, '')}</p> : null}
      <Actions rollout={r} onDone={() => setReloads((n) => n + 1)} />
      <StageBarView rollout={r} now={now} />
      <section aria-labelledby="cohort-title">
        <h2 id="cohort-title">Cohort</h2>
        <p>
          {cohort.nodes} {cohort.nodes === 1 ? 'node' : 'nodes'} given {r.to_version}{fleet ? `, ${shareOf(cohort.nodes, fleet)} of a fleet of ${fleet}` : ''};{' '}
          {cohort.reported - cohort.failed_loads} run it, {cohort.failed_loads} refused it{cohort.reported < cohort.nodes ? `, ${cohort.nodes - cohort.reported} not reported yet` : ''}.
        </p>
        {refused.length > 0 ? (
          <table className="refusals">
            <caption>Nodes that refused {r.to_version}</caption>
            <thead><tr><th scope="col">node</th><th scope="col">why</th><th scope="col">serves instead</th></tr></thead>
            <tbody>{refused.map((x) => <tr key={x.node}><th scope="row">{x.node}</th><td>{x.error}</td><td>{x.serving ?? 'nothing'}</td></tr>)}</tbody>
          </table>
        ) : null}
      </section>
      <section aria-labelledby="gates-title">
        <h2 id="gates-title">Gates</h2>
        {series.length === 0 ? <p>{r.policy_spec.stages[r.stage_index]?.health_gates.length === 0 ? `Stage ${r.policy_spec.stages[r.stage_index]?.name ?? ''} has no health gate.` : 'No gate has been evaluated yet.'}</p> : series.map((s) => (
          <article key={s.key} className={`gate gate-${s.latest.status}`} data-gate={s.key}>
            <h3>{s.gate} <span className="stage-tag">stage {s.stage}</span> <span className={`verdict verdict-${s.latest.status}`} data-verdict={s.latest.status}>{verdictWords(s.latest.status)}</span></h3>
            <GateChart series={s} />
            <p className="sentence">{s.latest.reason}</p>
          </article>
        ))}
      </section>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <ol className="timeline">
          {timeline(events).map((e) => (
            <li key={e.seq} data-type={e.type}><time dateTime={new Date(e.at).toISOString()}>{new Date(e.at).toLocaleTimeString()}</time> <span className="type">{e.type}</span> {e.text}</li>
          ))}
        </ol>
      </section>
    </>
  );
}

function Rollback({ story, to }: { story: RollbackStory; to: string | null }) {
  const v = story.verdict;
  return (
    <section className="rollback" aria-labelledby="rollback-title" data-rollback="true">
      <h2 id="rollback-title"><span aria-hidden="true">✗ </span>{story.back_at === null ? 'Rolling back' : 'Rolled back'} at stage {story.stage}</h2>
      {v ? <p><strong>Failing gate: {v.gate}</strong>, {verdictWords(v.status)} on stage {v.stage}. Evidence: {gateLine(v)}.</p> : null}
      {!v || story.reason !== v.reason ? <p>{story.reason}</p> : null}
      <p>
        {story.took_ms !== null
          ? <>From detection to the last node back on {to ?? 'its previous version'}: <strong data-took-ms={story.took_ms}>{elapsed(story.took_ms)}</strong>.</>
          : <>Nodes are going back to {to ?? 'their previous version'}…</>}
      </p>
    </section>
  );
}
