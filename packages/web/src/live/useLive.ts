import { useEffect, useRef, useState } from 'react';
import { failureFrom, type ApiFailure } from '../api/failure.ts';
import type { EventRecord } from '../api/types.ts';
import { useSession } from '../app/session.tsx';
import { follow } from './follow.ts';

export interface LiveOptions<T> {
  /** Reads what the page shows; called once, then after each batch of new events. */
  readonly load: (signal: AbortSignal) => Promise<T>;
  /** The newest matching event (`…&newest=true&limit=1`): where following starts. */
  readonly cursorPath: string;
  /** The long-poll after a cursor. */
  readonly followPath: (after: number) => string;
  /** Nothing more will happen (a finished rollout): stop following. */
  readonly done?: (value: T) => boolean;
  /** Also read again this often (ms): for what changes without an event, such as a node's load report. */
  readonly everyMs?: number;
}

export interface Live<T> {
  readonly value: T | null;
  readonly failure: ApiFailure | null;
  /** `loading`, `live` (following), `ended` (nothing more to follow), `failing` (retrying). */
  readonly mode: 'loading' | 'live' | 'ended' | 'failing';
}

/**
 * A page's data, kept current without a reload: read it, then follow the event log with
 * long-polls (follow.ts) and read it again after each batch. `key` changes start over.
 */
export function useLive<T>(key: string, o: LiveOptions<T>): Live<T> {
  const { api } = useSession();
  const [state, setState] = useState<Live<T>>({ value: null, failure: null, mode: 'loading' });
  const opts = useRef(o);
  opts.current = o;
  useEffect(() => {
    const ctl = new AbortController();
    let current: T | null = null;
    const done = () => current !== null && (opts.current.done?.(current) ?? false);
    const show = (value: T) => { current = value; setState({ value, failure: null, mode: done() ? 'ended' : 'live' }); };
    let every: ReturnType<typeof setInterval> | undefined;
    void (async () => {
      try {
        // The cursor first: an event written while the page loads is read again, never missed.
        const { events } = await api.get<{ events: EventRecord[] }>(opts.current.cursorPath, ctl.signal);
        show(await opts.current.load(ctl.signal));
        // A failed read here is left to the long-poll, which reports the control plane's failures.
        if (opts.current.everyMs) every = setInterval(() => { opts.current.load(ctl.signal).then(show, () => undefined); }, opts.current.everyMs);
        await follow({
          api, signal: ctl.signal, after: events[events.length - 1]?.seq ?? 0, path: opts.current.followPath, done,
          onEvents: async () => { show(await opts.current.load(ctl.signal)); },
          onFailure: (failure) => setState((s) => ({ value: s.value, failure, mode: failure ? 'failing' : done() ? 'ended' : 'live' })),
        });
      } catch (err) {
        if (!ctl.signal.aborted) setState((s) => ({ value: s.value, failure: failureFrom(err), mode: 'failing' }));
      }
    })();
    return () => { ctl.abort(); clearInterval(every); };
  }, [api, key]);
  return state;
}

/** The control plane's clock, ticking: `serverNow` as last read, moved on by this machine's clock. */
export function useServerClock(serverNow: number | null, everyMs = 1000): number {
  const [offset, setOffset] = useState(0);
  const [, setTick] = useState(0);
  useEffect(() => { if (serverNow !== null) setOffset(serverNow - Date.now()); }, [serverNow]);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return Date.now() + offset;
}
