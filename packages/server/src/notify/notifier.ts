import { nodeHttpRequest, type HttpRequest } from '../signals/index.ts';
import type { NotificationEvent, NotificationKind } from './event.ts';
import { backoffDelayMs, outcomeOf, type AttemptOutcome } from './retry.ts';
import { slackRequest } from './slack.ts';
import { targetLabel, type NotifyTarget } from './targets.ts';
import { webhookRequest, type OutboundRequest } from './webhook.ts';

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
  /** Signs webhook timestamps and reads Retry-After dates (default `Date.now`). */
  readonly now?: () => number;
  /** The HTTP call (default node:http). */
  readonly request?: HttpRequest;
  /** Told once per event and target when it is delivered or dropped (e.g. to note it in the incident timeline). */
  readonly onResult?: (result: DeliveryResult) => void;
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
  /** Events given up on: refused (4xx), out of attempts, pushed out of a full queue, or unsent at close. */
  readonly dropped: number;
  /** Events waiting, or being delivered. */
  readonly pending: number;
}

interface Item {
  readonly event: NotificationEvent;
  attempts: number;
}

/** One target's queue: its events go out one at a time, in order, whatever the other targets do. */
class Lane {
  readonly target: NotifyTarget;
  readonly label: string;
  readonly queue: Item[] = [];
  /** The event being delivered: in flight, or waiting for its next attempt. */
  current: Item | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  inflight: Promise<void> | undefined;
  abort: AbortController | undefined;
  delivered = 0;
  failed = 0;
  dropped = 0;

  constructor(target: NotifyTarget) {
    this.target = target;
    this.label = targetLabel(target);
  }
}

// A receiver answers "ok" or a short error; a larger answer is cut off by the transport and retried.
const RESPONSE_MAX_BYTES = 1024 * 1024;

/**
 * Sends notification events to webhooks and Slack in the background. `notify()` only queues:
 * it never waits on the network, so a target that is down or slow never holds up a rollback.
 * Each target has its own queue, delivered in order with exponential backoff and full
 * jitter on network errors, timeouts, 5xx, 408 and 429 (Retry-After is honoured); any
 * other answer is final.
 *
 * Examples
 * ```ts
 * const notifier = new Notifier([{ type: 'slack', url: slackUrl }], { log: app.log });
 * notifier.notify({ kind: 'rollout.rolled_back', id: `rollback-${rollout.id}`, at: Date.now(),
 *   summary: 'bot-features rolled back: gate load_success_rate failed on stage canary', details: { rollout: rollout.id } });
 * // at shutdown: up to 5 s for what is queued, then drop the rest
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
  /** close() was called: no new events, no more retries. */
  #closing = false;
  /** The drain is over: nothing more is sent. */
  #stopped = false;
  #closed: Promise<void> | undefined;

  constructor(targets: readonly NotifyTarget[], o: NotifierOptions) {
    this.#lanes = targets.map((t) => new Lane(t));
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
  }

  /** Queues `event` for every target and returns at once. */
  notify(event: NotificationEvent): void {
    for (const lane of this.#lanes) {
      if (this.#closing) {
        this.#drop(lane, { event, attempts: 0 }, 'the notifier is closed');
        continue;
      }
      if (lane.queue.length >= this.#maxQueue) {
        const oldest = lane.queue.shift();
        if (oldest) this.#drop(lane, oldest, `the queue is full (${this.#maxQueue} waiting); dropped the oldest`);
      }
      lane.queue.push({ event, attempts: 0 });
      this.#next(lane);
    }
  }

  /** Per target, in the order the targets were given. */
  stats(): TargetStats[] {
    return this.#lanes.map((l) => ({
      target: l.label, type: l.target.type, delivered: l.delivered, failed: l.failed, dropped: l.dropped,
      pending: l.queue.length + (l.current ? 1 : 0),
    }));
  }

  /**
   * Stops retrying at once and refuses new events. With `drainMs`, what is queued or in
   * flight may still go out (one attempt each) for that long; then requests in flight are
   * aborted and the rest is dropped, each with a log line.
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
        this.#drop(lane, waiting, 'was waiting for a retry at close');
        this.#next(lane);
      }
    }
    this.#closed = (async () => {
      if (drainMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.#drained(), new Promise((resolve) => { timer = setTimeout(resolve, drainMs); })]);
        clearTimeout(timer);
      }
      this.#stopped = true;
      for (const lane of this.#lanes) {
        lane.abort?.abort();
        for (const item of lane.queue.splice(0)) this.#drop(lane, item, 'not sent before close');
      }
      await Promise.all(this.#lanes.map((l) => l.inflight));
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

  #next(lane: Lane): void {
    if (lane.current || this.#stopped) return;
    const item = lane.queue.shift();
    if (!item) return;
    lane.current = item;
    this.#attempt(lane, item);
  }

  #attempt(lane: Lane, item: Item): void {
    lane.retryTimer = undefined;
    const abort = new AbortController();
    lane.abort = abort;
    const run = this.#send(lane.target, item, abort.signal).then((outcome) => this.#settle(lane, item, outcome));
    lane.inflight = run;
    void run.finally(() => { if (lane.inflight === run) lane.inflight = undefined; });
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
    if (this.#closing) return this.#dropCurrent(lane, item, `attempt ${n} failed (${outcome.reason}) during close`);
    if (n >= this.#maxAttempts) return this.#dropCurrent(lane, item, `gave up after ${n} attempts; the last: ${outcome.reason}`);
    const delay = Math.min(this.#maxDelayMs, outcome.retryAfterMs ?? backoffDelayMs(n, this.#baseDelayMs, this.#maxDelayMs, this.#random));
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

  #emit(lane: Lane, item: Item, r: { result: DeliveryResult['result']; reason?: string }): void {
    if (!this.#onResult) return;
    try {
      this.#onResult({ target: lane.label, event: item.event.id, kind: item.event.kind, attempts: item.attempts, ...r });
    } catch (err) {
      this.#log.warn(`notify: onResult threw: ${err instanceof Error ? err.message : String(err)}`);
    }
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
