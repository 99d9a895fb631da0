import { TERMINAL_STATUSES, type RolloutState, type Verdict } from '@failsmall/core';
import type { ApiClient } from '../client.ts';
import { EXIT } from '../exit-codes.ts';
import { summarizeRollout, type EventRecord, type GateOverride } from '@failsmall/core';
import type { Out } from '../output.ts';
import { changedLines, cohortChange } from './changes.ts';
import { frame, type CohortCount } from './frame.ts';
import { EMPTY_HISTORY, record, type History } from './history.ts';
import { Region } from './region.ts';

/** `GET /v1/rollouts/:id`. */
export interface StatusResponse {
  rollout: RolloutState;
  cohort: CohortCount;
  dependency_gate?: { overridden: GateOverride | null };
  /** The control plane's clock (absent from servers before it): bake and age are measured on it, not on this machine's. */
  now?: number;
}

/**
 * How long one long-poll for events waits: a second on a terminal (the frame's bake clock
 * moves) and while a stage applies (nodes take the version without an event); else until the
 * next event, up to 10 s.
 */
const SHORT_WAIT_MS = 1000;
const LONG_WAIT_MS = 10_000;

/**
 * Follows a rollout until it ends. Piped: one line per change (a stage starts, a gate's verdict
 * changes, a node refuses, the rollout ends; changes.ts), the lines the demo prints. On a
 * terminal: the same lines scroll above a frame (frame.ts) redrawn in place. With --json, one
 * JSON event per line (NDJSON), then `{"final": state}`. `onLine` takes the lines instead (the demo).
 * Exit: 0 completed, 4 rolled back or aborted, 5 paused and waiting for a human.
 */
export async function watch(client: ApiClient, id: string, out: Out, onLine?: (line: string) => void): Promise<number> {
  const region = !out.json && !onLine && process.stdout.isTTY === true
    ? new Region((t) => process.stdout.write(t), () => process.stdout.columns || 80)
    : undefined;
  const path = `/v1/rollouts/${encodeURIComponent(id)}`;
  let after = 0;
  let history: History = EMPTY_HISTORY;
  let said: Readonly<Record<string, Verdict['status']>> = {};
  let cohortSaid = '';
  let applying = true;
  const say = (lines: readonly string[]) => {
    if (onLine) lines.forEach((l) => onLine(l));
    else if (region) region.above(lines);
    else if (!out.json) for (const l of lines) process.stdout.write(`${l}\n`);
  };
  const take = (events: readonly EventRecord[]) => {
    for (const e of events) {
      after = Math.max(after, e.seq);
      if (out.json && !onLine) process.stdout.write(`${JSON.stringify(e)}\n`);
      history = record(history, e);
      const changed = changedLines(e, said);
      said = changed.said;
      say(changed.lines);
    }
  };
  for (;;) {
    take((await client.get<{ events: EventRecord[] }>(`${path}/events?after=${after}&wait=${region || applying ? SHORT_WAIT_MS : LONG_WAIT_MS}`)).events);
    const status = await client.get<StatusResponse>(path);
    const r = status.rollout;
    applying = r.status === 'running' && r.phase === 'applying';
    const cohort = cohortChange(r, status.cohort, cohortSaid);
    cohortSaid = cohort.said;
    say(cohort.lines);
    const ended = TERMINAL_STATUSES.includes(r.status) || r.status === 'paused';
    // The events that led to the end were written with it: print them before the verdict on it.
    if (ended) take((await client.get<{ events: EventRecord[] }>(`${path}/events?after=${after}`)).events);
    region?.draw(frame({ rollout: r, cohort: status.cohort, history, now: status.now ?? Date.now() }));
    if (!ended) continue;
    if (out.json && !onLine) process.stdout.write(`${JSON.stringify({ final: r })}\n`);
    else if (region) process.stdout.write(`${r.status === 'paused' ? 'paused' : 'finished'}: ${summarizeRollout(r)}\n`);
    else say([`${r.status === 'paused' ? 'paused' : 'finished'}: ${summarizeRollout(r)}`]);
    return r.status === 'completed' ? EXIT.OK : r.status === 'paused' ? EXIT.ROLLOUT_PAUSED : EXIT.ROLLOUT_FAILED;
  }
}
