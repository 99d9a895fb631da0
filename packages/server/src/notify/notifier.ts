import { createHash } from 'node:crypto';
import { nodeHttpRequest, type HttpRequest } from '../signals/index.ts';
import type { OutboxStore, OutboxUpdate } from '../store/outbox-store.ts';
import { NOTIFICATION_KINDS, type NotificationEvent, type NotificationKind } from './event.ts';
import { backoffDelayMs } from '@failsmall/io';
import { outcomeOf, type AttemptOutcome } from './retry.ts';
import { slackRequest } from './slack.ts';
import { targetLabel, type NotifyTarget } from './targets.ts';
import { webhookRequest, type OutboundRequest } from './webhook.ts';
import { within } from './within.ts';

/** pino and console both fit. */
export interface NotifyLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface NotifierOptions {
  readonly log: NotifyLog;
  /** Events waiting per target, besides the one being delivered; past it the oldest is dropped (default 10 000). */
  readonly maxQueue?: number;
  /** Attempts per event and target before it is dropped (default 8). */
  readonly maxAttempts?: number;
  /** The backoff's first ceiling (default 1 s); it doubles per attempt up to `maxDelayMs`. */
  readonly baseDelayMs?: number;
  /** The longest wait between attempts, a target's Retry-After included (default 5 min). */
  readonly maxDelayMs?: number;
  /** Per attempt, connection to response (default 5 s). */
  readonly timeoutMs?: number;
  /** The jitter's source, in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
  /** Signs webhook timestamps, reads Retry-After dates and dates outbox rows (default `Date.now`). */
  readonly now?: () => number;
  /** The HTTP call (default node:http). */
  readonly request?: HttpRequest;
  /** Told once per event and target when it is delivered or dropped (e.g. to note it in the incident timeline). */
  readonly onResult?: (result: DeliveryResult) => void;
  /**
   * Where events wait, so that a restart loses none (`store.outbox`). Each event is written there
   * per target when it is notified, and each attempt's outcome after it; `resume()` at start sends
   * what is still pending. A write that fails is logged and delivery goes on from memory.
   */
  readonly outbox?: OutboxStore;
}

export interface DeliveryResult {
  readonly target: string;
  readonly event: string;
  readonly kind: NotificationKind;
  readonly result: 'delivered' | 'dropped';
  readonly attempts: number;
  /** Why it was dropped. */
  readonly reason?: string;
}

/** Counts per target. Every event notified is, at any time, delivered, dropped or pending. */
export interface TargetStats {
  readonly target: string;
  readonly type: NotifyTarget['type'];
  /** Events the target accepted (2xx). */
  readonly delivered: number;
  /** Attempts that did not succeed, retried ones included. */
  readonly failed: number;
  /** Events given up on: refused (4xx), out of attempts, pushed out of a full queue, or unsent at close (without an outbox). */
  readonly dropped: number;
  /** Events waiting, or being delivered; with an outbox, also those left in it at close for the next start. */
  readonly pending: number;
}

interface Item {
  readonly event: NotificationEvent;
  attempts: number;
  /** When its next attempt is due (`now()` clock); 0 for a fresh event. Set on events resumed from the outbox. */
  readonly dueAt: number;
  /**
   * With an outbox: the row's writes, in order. Resolves to true when the row is this item's,
   * false when an earlier notify of the same event holds it (a duplicate, never sent), and
   * undefined when the store could not say.
   */
  row?: Promise<boolean | undefined>;
  /** Not tried yet in this process: the first attempt waits (briefly) to learn whether it is a duplicate. */
  fresh?: boolean;
}

/** How long delivery waits for the outbox: to learn whether an event is a duplicate, and at close for the last writes. */
const STORE_WAIT_MS = 2000;
/** Delivered and dropped rows are deleted from the outbox this long after their last change, at `resume()`. */
const OUTBOX_KEEP_MS = 7 * 24 * 3600 * 1000;

/** One target's queue: its events go out one at a time, in order, whatever the other targets do. */
class Lane {
  readonly target: NotifyTarget;
  readonly label: string;
  /** Its name in the outbox: the label, unless another target has the same label. */
  readonly key: string;
  readonly queue: Item[] = [];
  /** The event being delivered: in flight, or waiting for its next attempt. */
  current: Item | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  inflight: Promise<void> | undefined;
  abort: AbortController | undefined;
  delivered = 0;
  failed = 0;
  dropped = 0;
  /** Events not sent before close, left pending in the outbox for the next start. */
  kept = 0;

  constructor(target: NotifyTarget, key: string) {
    this.target = target;
    this.label = targetLabel(target);
    this.key = key;
  }
}

// A receiver answers "ok" or a short error; a larger answer is cut off by the transport and retried.
const RESPONSE_MAX_BYTES = 1024 * 1024;

/**
 * Sends notification events to webhooks and Slack in the background. `notify()` only queues:
 * it never waits on the network or the database, so a target that is down or slow never holds
 * up a rollback. Each target has its own queue, delivered in order with exponential backoff
 * and full jitter on network errors, timeouts, 5xx, 408 and 429 (Retry-After is honoured);
 * any other answer is final.
 *
 * With an `outbox` (the store's), events also wait in the database: a restart loses none, and
 * an event notified twice (same id) is sent once. Call `resume()` once at start.
 *
 * Examples
 * ```ts
 * const notifier = new Notifier([{ type: 'slack', url: slackUrl }], { log: app.log, outbox: store.outbox });
 * await notifier.resume(); // what the last process left pending goes out first
 * notifier.notify({ kind: 'rollout.rolled_back', id: `rollback-${rollout.id}`, at: Date.now(),
 *   summary: 'bot-features rolled back: gate load_success_rate failed on stage canary', details: { rollout: rollout.id } });
 * // at shutdown: up to 5 s for what is queued; the rest stays pending in the outbox
 * await notifier.close({ drainMs: 5000 });
 * ```
 */
export class Notifier {
  readonly #lanes: readonly Lane[];
  readonly #log: NotifyLog;
  readonly #maxQueue: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #request: HttpRequest;
  readonly #onResult: ((r: DeliveryResult) => void) | undefined;
  readonly #outbox: OutboxStore | undefined;
  /** Outbox writes not settled yet: close() waits for them (briefly). */
  readonly #writes = new Set<Promise<unknown>>();
  /** The last outbox write failed: the next failure is not logged again until one succeeds. */
  #outboxFailing = false;
  #resumed = false;
  /** close() was called: no new events, no more retries. */
  #closing = false;
  /** The drain is over: nothing more is sent. */
  #stopped = false;
  #closed: Promise<void> | undefined;
  /** The last outbox write asked for: the next one waits for it. */
  #writeChain: Promise<unknown> = Promise.resolve();

  constructor(targets: readonly NotifyTarget[], o: NotifierOptions) {
    const keys = outboxKeys(targets);
    this.#lanes = targets.map((t, i) => new Lane(t, keys[i] ?? targetLabel(t)));
    this.#log = o.log;
    this.#maxQueue = Math.max(1, o.maxQueue ?? 10_000);
    this.#maxAttempts = Math.max(1, o.maxAttempts ?? 8);
    this.#baseDelayMs = o.baseDelayMs ?? 1000;
    this.#maxDelayMs = o.maxDelayMs ?? 300_000;
    this.#timeoutMs = o.timeoutMs ?? 5000;
    this.#random = o.random ?? Math.random;
    this.#now = o.now ?? Date.now;
    this.#request = o.request ?? nodeHttpRequest;
    this.#onResult = o.onResult;
    this.#outbox = o.outbox;
  }

  /** Queues `event` for every target (and, with an outbox, writes it there in the background) and returns at once, with a promise of the outbox write that nobody has to await. */
  notify(event: NotificationEvent): Promise<void> {
    const outbox = this.#outbox;
    // Stored even while closing: a notice raised during shutdown (an alert, a resolve) waits in the outbox for the next start.
    const added = outbox && this.#lanes.length > 0
      ? this.#write('store an event', () => outbox.add(this.#lanes.map((l) => ({ target: l.key, event })), this.#now()))
      : undefined;
    for (const lane of this.#lanes) {
      if (this.#closing) {
        if (outbox) lane.kept++;
        else this.#drop(lane, { event, attempts: 0, dueAt: 0 }, 'the notifier is closed');
        continue;
      }
      this.#enqueue(lane, [{ event, attempts: 0, dueAt: 0, ...(added ? { row: added.then((keys) => keys?.has(lane.key)), fresh: true } : {}) }]);
      this.#next(lane);
    }
    // Settles (never rejects) once the event is in the outbox, or its write failed: a caller that must not lose it across a crash waits for this.
    return added ? added.then(() => undefined) : Promise.resolve();
  }

  /**
   * With an outbox, at start (before the first `notify()`): deletes delivered and dropped rows
   * older than 7 days, then queues every pending row, oldest first, ahead of anything newer, with
   * its attempts so far; a retry that fell due while the process was down goes at once. Rows of a
   * target that is not configured any more stay in the outbox, with one log line per target.
   * Never throws: when the outbox cannot be read, that is logged and the rows wait for the next start.
   */
  async resume(): Promise<void> {
    const outbox = this.#outbox;
    if (!outbox || this.#resumed || this.#closing) return;
    this.#resumed = true;
    const now = this.#now();
    // Events notified before resume() whose rows they wrote themselves: those rows are theirs, not to queue again.
    const owned = new Set<string>();
    await Promise.all(this.#lanes.flatMap((l) => [...l.queue, ...(l.current ? [l.current] : [])].map(async (i) => {
      if ((await within(i.row ?? Promise.resolve(true), STORE_WAIT_MS)) !== false) owned.add(`${l.key}\n${i.event.id}`);
    })));
    await this.#write('delete old rows', () => outbox.prune(now - OUTBOX_KEEP_MS));
    const rows = await this.#write('read pending events', () => outbox.pending());
    if (!rows || this.#closing) return;
    const lanes = new Map(this.#lanes.map((l) => [l.key, { lane: l, items: [] as Item[] }]));
    const orphans = new Map<string, number>();
    for (const row of rows) {
      const to = lanes.get(row.target);
      if (!to) {
        orphans.set(row.target, (orphans.get(row.target) ?? 0) + 1);
        continue;
      }
      if (owned.has(`${row.target}\n${row.event_id}`)) continue;
      const event = storedEvent(row.event);
      if (event) {
        to.items.push({ event, attempts: row.attempts, dueAt: row.next_at, row: Promise.resolve(true) });
        continue;
      }
      to.lane.dropped++;
      this.#log.warn(`notify: ${to.lane.label}: dropped ${row.kind} ${row.event_id}: its row in the outbox is not a readable event`);
      void this.#write('drop an unreadable row', () => outbox.update(row.target, row.event_id, { attempts: row.attempts, state: 'dropped', last_error: 'not a readable event' }, now));
    }
    for (const [target, n] of orphans) this.#log.warn(`notify: ${n} pending event(s) in the outbox for ${target}, which is not configured now; left there`);
    for (const { lane: l, items } of lanes.values()) {
      if (items.length === 0) continue;
      this.#log.info(`notify: ${l.label}: ${items.length} pending event(s) from before the restart`);
      this.#enqueue(l, [...items, ...l.queue.splice(0)]);
      this.#next(l);
    }
  }

  /** Per target, in the order the targets were given. */
  stats(): TargetStats[] {
    return this.#lanes.map((l) => ({
      target: l.label, type: l.target.type, delivered: l.delivered, failed: l.failed, dropped: l.dropped,
      pending: l.queue.length + (l.current ? 1 : 0) + l.kept,
    }));
  }

  /**
   * Stops retrying at once and refuses new events. With `drainMs`, what is queued or in
   * flight may still go out (one attempt each) for that long; then requests in flight are
   * aborted. Without an outbox the rest is dropped, each with a log line; with one it stays
   * pending there for the next start (one log line per target), and close waits (briefly)
   * for the last outbox writes.
   */
  close(o: { readonly drainMs?: number } = {}): Promise<void> {
    if (this.#closed) return this.#closed;
    const drainMs = o.drainMs ?? 0;
    this.#closing = true;
    if (drainMs <= 0) this.#stopped = true;
    for (const lane of this.#lanes) {
      if (lane.retryTimer && lane.current) {
        clearTimeout(lane.retryTimer);
        lane.retryTimer = undefined;
        const waiting = lane.current;
        lane.current = undefined;
        this.#release(lane, waiting, 'was waiting for a retry at close');
        this.#next(lane);
      }
    }
    this.#closed = (async () => {
      if (drainMs > 0) await within(this.#drained(), drainMs);
      this.#stopped = true;
      for (const lane of this.#lanes) {
        lane.abort?.abort();
        for (const item of lane.queue.splice(0)) this.#release(lane, item, 'not sent before close');
      }
      await Promise.all(this.#lanes.map((l) => l.inflight));
      if (!this.#outbox) return;
      await within(Promise.all(this.#writes), STORE_WAIT_MS);
      for (const l of this.#lanes) {
        if (l.kept > 0) this.#log.warn(`notify: ${l.label}: ${l.kept} event(s) not sent before close; left pending in the outbox for the next start`);
      }
    })();
    return this.#closed;
  }

  async #drained(): Promise<void> {
    for (;;) {
      const busy = this.#lanes.flatMap((l) => (l.inflight ? [l.inflight] : []));
      if (busy.length === 0) return;
      await Promise.race(busy);
    }
  }

  /** Appends to the lane's queue; past maxQueue the oldest waiting event is dropped. */
  #enqueue(lane: Lane, items: readonly Item[]): void {
    for (const item of items) {
      if (lane.queue.length >= this.#maxQueue) {
        const oldest = lane.queue.shift();
        if (oldest) this.#drop(lane, oldest, `the queue is full (${this.#maxQueue} waiting); dropped the oldest`);
      }
      lane.queue.push(item);
    }
  }

  #next(lane: Lane): void {
    while (!lane.current && !this.#stopped) {
      const item = lane.queue.shift();
      if (!item) return;
      const wait = item.dueAt - this.#now();
      // Only an event resumed from the outbox can be due later; during close it stays there.
      if (wait > 0 && this.#closing) {
        this.#release(lane, item, 'not due before close');
        continue;
      }
      lane.current = item;
      if (wait > 0) lane.retryTimer = setTimeout(() => this.#attempt(lane, item), wait).unref();
      else this.#attempt(lane, item);
    }
  }

  #attempt(lane: Lane, item: Item): void {
    lane.retryTimer = undefined;
    const abort = new AbortController();
    lane.abort = abort;
    const run = this.#deliver(lane, item, abort.signal);
    lane.inflight = run;
    void run.finally(() => { if (lane.inflight === run) lane.inflight = undefined; });
  }

  async #deliver(lane: Lane, item: Item, signal: AbortSignal): Promise<void> {
    if (item.fresh && item.row) {
      item.fresh = false;
      // Briefly: a store that hangs delays a notice by STORE_WAIT_MS, and never stops it.
      const mine = await within(item.row, STORE_WAIT_MS);
      if (mine === false || this.#stopped) {
        lane.abort = undefined;
        lane.current = undefined;
        if (mine === false) this.#log.info(`notify: ${lane.label}: ${item.event.kind} ${item.event.id} was notified before; not sent again`);
        else this.#release(lane, item, 'not sent before close');
        this.#next(lane);
        return;
      }
    }
    const outcome = await this.#send(lane.target, item, signal);
    if (signal.aborted && this.#outbox) {
      // Our own abort at the end of close(): not a failure of the target. The row keeps its last real attempt and error.
      lane.abort = undefined;
      lane.current = undefined;
      this.#release(lane, item, 'in flight at close');
      this.#next(lane);
      return;
    }
    this.#settle(lane, item, outcome);
  }

  #settle(lane: Lane, item: Item, outcome: AttemptOutcome): void {
    lane.abort = undefined;
    const what = `${item.event.kind} ${item.event.id}`;
    if (outcome.type === 'delivered') {
      lane.delivered++;
      this.#finish(lane, item, { result: 'delivered' });
      return;
    }
    lane.failed++;
    const n = item.attempts;
    if (outcome.type === 'rejected') return this.#dropCurrent(lane, item, `refused (${outcome.reason}); not retrying`);
    if (this.#closing && !this.#outbox) return this.#dropCurrent(lane, item, `attempt ${n} failed (${outcome.reason}) during close`);
    if (n >= this.#maxAttempts) return this.#dropCurrent(lane, item, `gave up after ${n} attempts; the last: ${outcome.reason}`);
    const delay = Math.min(this.#maxDelayMs, outcome.retryAfterMs ?? backoffDelayMs(n, this.#baseDelayMs, this.#maxDelayMs, this.#random));
    this.#persist(lane, item, { attempts: n, next_at: this.#now() + delay, last_error: outcome.reason });
    if (this.#closing) {
      // With an outbox: the next start makes the next attempt.
      lane.current = undefined;
      this.#release(lane, item, `attempt ${n} failed (${outcome.reason}) during close`);
      this.#next(lane);
      return;
    }
    this.#log.info(`notify: ${lane.label}: attempt ${n} of ${this.#maxAttempts} for ${what} failed (${outcome.reason}); next in ${delay} ms`);
    // Unref'd: a pending retry alone does not keep a process alive; close({ drainMs }) is how to flush.
    lane.retryTimer = setTimeout(() => this.#attempt(lane, item), delay).unref();
  }

  #dropCurrent(lane: Lane, item: Item, reason: string): void {
    lane.dropped++;
    this.#log.warn(`notify: ${lane.label}: dropped ${item.event.kind} ${item.event.id}: ${reason}`);
    this.#finish(lane, item, { result: 'dropped', reason });
  }

  #finish(lane: Lane, item: Item, r: { result: DeliveryResult['result']; reason?: string }): void {
    lane.current = undefined;
    this.#emit(lane, item, r);
    this.#next(lane);
  }

  /** Drops an event that is not the lane's current one (queued, or refused at the door). */
  #drop(lane: Lane, item: Item, reason: string): void {
    lane.dropped++;
    this.#log.warn(`notify: ${lane.label}: dropped ${item.event.kind} ${item.event.id}: ${reason}`);
    this.#emit(lane, item, { result: 'dropped', reason });
  }

  /** An event not sent at close (no longer the lane's current): left pending in the outbox, or without one dropped. */
  #release(lane: Lane, item: Item, reason: string): void {
    if (this.#outbox) lane.kept++;
    else this.#drop(lane, item, reason);
  }

  /** Records the final result: in the outbox, and to `onResult`. */
  #emit(lane: Lane, item: Item, r: { result: DeliveryResult['result']; reason?: string }): void {
    this.#persist(lane, item, { attempts: item.attempts, state: r.result, ...(r.reason !== undefined ? { last_error: r.reason } : {}) });
    if (!this.#onResult) return;
    try {
      this.#onResult({ target: lane.label, event: item.event.id, kind: item.event.kind, attempts: item.attempts, ...r });
    } catch (err) {
      this.#log.warn(`notify: onResult threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Updates the item's outbox row after its earlier writes, unless the row is another item's (a duplicate). */
  #persist(lane: Lane, item: Item, u: OutboxUpdate): void {
    const outbox = this.#outbox;
    if (!outbox || !item.row) return;
    const at = this.#now();
    const row = item.row.then(async (mine) => {
      if (mine !== false) await this.#write('record an attempt', () => outbox.update(lane.key, item.event.id, u, at));
      return mine;
    });
    item.row = row;
    this.#track(row);
  }

  /** One outbox write: a failure is logged (once until a write succeeds again) and resolves to undefined; it never stops delivery. */
  #write<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    // One write at a time, in the order they were asked for: rows get their creation order (which a
    // restart sends in) from the order of notify(), and an update never overtakes its row's insert.
    const run = this.#writeChain.then(async () => {
      try {
        const v = await write();
        if (this.#outboxFailing) this.#log.warn('notify: the outbox works again');
        this.#outboxFailing = false;
        return v;
      } catch (err) {
        if (!this.#outboxFailing) {
          this.#log.warn(`notify: could not ${what} in the outbox (${err instanceof Error ? err.message : String(err)}); delivery goes on from memory, and a restart before it is done may lose or repeat events`);
        }
        this.#outboxFailing = true;
        return undefined;
      }
    });
    this.#writeChain = run;
    return this.#track(run);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#writes.add(p);
    void p.finally(() => this.#writes.delete(p));
    return p;
  }

  async #send(target: NotifyTarget, item: Item, signal: AbortSignal): Promise<AttemptOutcome> {
    item.attempts++;
    let req: OutboundRequest;
    try {
      req = target.type === 'webhook' ? webhookRequest(item.event, target.secret, Math.floor(this.#now() / 1000)) : slackRequest(item.event);
    } catch (err) {
      return { type: 'rejected', reason: `the event cannot be encoded as JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
    try {
      const res = await this.#request(target.url, { method: 'POST', headers: req.headers, body: req.body, timeoutMs: this.#timeoutMs, maxBytes: RESPONSE_MAX_BYTES, signal });
      const snippet = res.body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
      return outcomeOf(res.status, res.headers['retry-after'], snippet, this.#now());
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (e.name === 'TimeoutError') return { type: 'retry', reason: `no answer within ${this.#timeoutMs} ms` };
      const code = 'code' in e && typeof e.code === 'string' ? ` (${e.code})` : '';
      return { type: 'retry', reason: `${e.message}${code}` };
    }
  }
}

/**
 * Each target's name in the outbox: its label, which outlives a restart and holds no credential.
 * Targets that share a label (two Slack channels on one host) add a short hash of their URL.
 */
function outboxKeys(targets: readonly NotifyTarget[]): string[] {
  const labels = targets.map(targetLabel);
  return targets.map((t, i) => {
    const label = labels[i] ?? targetLabel(t);
    if (labels.indexOf(label) === labels.lastIndexOf(label)) return label;
    return `${label} #${createHash('sha256').update(t.url).digest('hex').slice(0, 12)}`;
  });
}

/** An event read back from the outbox, when it has the shape of one. */
function storedEvent(v: Readonly<Record<string, unknown>>): NotificationEvent | undefined {
  const ok = typeof v.id === 'string' && typeof v.at === 'number' && typeof v.summary === 'string'
    && NOTIFICATION_KINDS.includes(v.kind as NotificationKind) && typeof v.details === 'object' && v.details !== null;
  return ok ? (v as unknown as NotificationEvent) : undefined;
}
