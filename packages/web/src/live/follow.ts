import type { EventRecord } from '../api/types.ts';
import { failureFrom, type ApiFailure } from '../api/failure.ts';

/** What follow needs of the API: one GET (the long-poll). */
export interface EventSource {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
}

export interface FollowOptions {
  readonly api: EventSource;
  /** The long-poll's path after a cursor, e.g. `/v1/rollouts/ID/events?after=12&wait=20000`. */
  readonly path: (after: number) => string;
  /** The newest seq the page has already read. */
  readonly after: number;
  readonly signal: AbortSignal;
  /** Called with each batch of new events; the page reloads what it shows. */
  readonly onEvents: (events: readonly EventRecord[]) => Promise<void> | void;
  /** Called with a failure while the API is unreachable or refuses, and with null once it answers again. */
  readonly onFailure: (f: ApiFailure | null) => void;
  /** Checked after each batch: a finished rollout has nothing more to wait for. */
  readonly done?: () => boolean;
  /** The least time between two polls: a gate evaluated every 50 ms does not reload the page 20 times a second. */
  readonly minGapMs?: number;
  /** How long to wait before trying again after a failure. */
  readonly retryMs?: number;
}

/**
 * Follows the event log with long-polls, the page's live updates: the server holds each request
 * until an event comes (the controller's answer at once), so a change reaches an open page
 * within a round trip. A failure is reported and retried; a 401 or 403 stops the loop (a new
 * token is needed, not patience).
 */
export async function follow(o: FollowOptions): Promise<void> {
  let after = o.after;
  let failing = false;
  while (!o.signal.aborted && !(o.done?.() ?? false)) {
    const started = Date.now();
    try {
      const { events } = await o.api.get<{ events: EventRecord[] }>(o.path(after), o.signal);
      if (failing) { failing = false; o.onFailure(null); }
      if (events.length > 0) {
        after = Math.max(after, ...events.map((e) => e.seq));
        await o.onEvents(events);
      }
      await pause(Math.max(0, (o.minGapMs ?? 250) - (Date.now() - started)), o.signal);
    } catch (err) {
      if (o.signal.aborted) return;
      const f = failureFrom(err);
      failing = true;
      o.onFailure(f);
      if (f.kind === 'unauthenticated' || f.kind === 'forbidden' || f.kind === 'not-found') return;
      await pause(o.retryMs ?? 2000, o.signal);
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) { resolve(); return; }
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
