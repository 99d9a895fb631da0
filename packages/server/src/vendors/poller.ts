import { nodeHttpRequest, type HttpRequest } from '../signals/index.ts';
import {
  parseStatuspageSummary, type ComponentStatus, type StatuspageIncident, type StatuspageIndicator,
} from './summary.ts';

/** A vendor whose public Statuspage page failsmall polls. */
export interface Vendor {
  readonly name: string;
  /** The page root (`https://www.githubstatus.com`) or its summary (`…/api/v2/summary.json`). */
  readonly url: string;
}

export type VendorPollErrorCode = 'BAD_URL' | 'UNREACHABLE' | 'TIMEOUT' | 'HTTP_STATUS' | 'BAD_JSON' | 'BAD_STATUSPAGE';

export interface VendorPollError {
  readonly code: VendorPollErrorCode;
  readonly message: string;
}

/**
 * One poll of one vendor's page. It is assignable to triage's `StatusPoll`
 * (`{ at_ms, reachable, indicator?, components? }`). `reachable: false` means the page gave
 * no usable answer (no connection, timeout, non-2xx, or a body that is not a summary), and
 * `error` says which.
 */
export interface VendorPoll {
  readonly vendor: string;
  readonly at_ms: number;
  readonly reachable: boolean;
  readonly indicator?: StatuspageIndicator;
  readonly components?: readonly { readonly name: string; readonly status: ComponentStatus; readonly group?: boolean }[];
  readonly incidents?: readonly StatuspageIncident[];
  readonly error?: VendorPollError;
}

export interface VendorLog {
  warn(msg: string): void;
}

export interface StatuspagePollerOptions {
  /** Called once per vendor per poll; a throw or rejection is logged and polling goes on. */
  readonly onPoll: (poll: VendorPoll) => void | Promise<void>;
  readonly log: VendorLog;
  /** Between the end of one poll and the start of the next (default 60 s). */
  readonly intervalMs?: number;
  /** Per request (default 5 s). */
  readonly timeoutMs?: number;
  /** Stamps `at_ms` (default `Date.now`). */
  readonly now?: () => number;
  /** The HTTP call (default node:http). */
  readonly request?: HttpRequest;
}

const SUMMARY_PATH = '/api/v2/summary.json';
// GitHub's summary is about 20 KB; a page many times larger is not a status page.
const MAX_SUMMARY_BYTES = 2 * 1024 * 1024;

/**
 * Polls vendors' Atlassian Statuspage pages (`/api/v2/summary.json`) and hands each result to
 * `onPoll`, for triage to tell "our change broke it" from "the vendor is down". A page that
 * does not answer is reported as such, never as an outage or as healthy.
 *
 * Examples
 * ```ts
 * const poller = new StatuspagePoller([{ name: 'github', url: 'https://www.githubstatus.com' }], {
 *   log: console,
 *   onPoll: (poll) => recorder.vendorPoll(poll),
 * });
 * poller.start();
 * // …
 * await poller.stop();
 * ```
 */
export class StatuspagePoller {
  readonly #vendors: readonly Vendor[];
  readonly #onPoll: StatuspagePollerOptions['onPoll'];
  readonly #log: VendorLog;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #request: HttpRequest;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  /** Aborts the polls in flight when stop() is called; replaced by a fresh one after. */
  #abort = new AbortController();
  #inflight: Promise<unknown> | undefined;

  constructor(vendors: readonly Vendor[], o: StatuspagePollerOptions) {
    this.#vendors = vendors;
    this.#onPoll = o.onPoll;
    this.#log = o.log;
    this.#intervalMs = o.intervalMs ?? 60_000;
    this.#timeoutMs = o.timeoutMs ?? 5000;
    this.#now = o.now ?? Date.now;
    this.#request = o.request ?? nodeHttpRequest;
  }

  /** Polls now, then `intervalMs` after each poll ends (polls never overlap). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const tick = async (): Promise<void> => {
      this.#timer = undefined;
      await this.pollOnce();
      // Unref'd: a poller alone does not keep a process (a CLI run, a test) alive.
      if (this.#running) this.#timer = setTimeout(() => { void tick(); }, this.#intervalMs).unref();
    };
    void tick();
  }

  /** Stops the schedule and aborts a poll in flight; resolves once it has ended. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    this.#abort = new AbortController();
    await this.#inflight;
  }

  /** Polls every vendor once, concurrently; calls `onPoll` for each and returns the polls in vendor order. */
  async pollOnce(): Promise<VendorPoll[]> {
    const signal = this.#abort.signal;
    const run = Promise.all(this.#vendors.map(async (v) => {
      const poll = await this.#poll(v, signal);
      // A poll cut short by stop() says nothing about the vendor.
      if (signal.aborted) return poll;
      try {
        await this.#onPoll(poll);
      } catch (err) {
        this.#log.warn(`vendors: onPoll failed for ${v.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
      return poll;
    }));
    this.#inflight = run;
    try { return await run; } finally { if (this.#inflight === run) this.#inflight = undefined; }
  }

  async #poll(v: Vendor, signal: AbortSignal): Promise<VendorPoll> {
    const at_ms = this.#now();
    const down = (code: VendorPollErrorCode, message: string): VendorPoll => {
      this.#log.warn(`vendors: ${v.name} status page: ${message}`);
      return { vendor: v.name, at_ms, reachable: false, error: { code, message } };
    };
    const url = statuspageSummaryUrl(v.url);
    if (!url.ok) return down('BAD_URL', url.message);
    let res;
    try {
      res = await this.#request(url.url, { method: 'GET', headers: { accept: 'application/json' }, timeoutMs: this.#timeoutMs, maxBytes: MAX_SUMMARY_BYTES, signal });
    } catch (err) {
      if (signal.aborted) return { vendor: v.name, at_ms, reachable: false, error: { code: 'UNREACHABLE', message: 'the poller was stopped' } };
      const e = err instanceof Error ? err : new Error(String(err));
      if (e.name === 'TimeoutError') return down('TIMEOUT', `${url.url} did not answer within ${this.#timeoutMs} ms`);
      const code = 'code' in e && typeof e.code === 'string' ? ` (${e.code})` : '';
      return down('UNREACHABLE', `${url.url}: ${e.message}${code}`);
    }
    if (res.status < 200 || res.status > 299) return down('HTTP_STATUS', `${url.url} answered HTTP ${res.status}`);
    let json: unknown;
    try { json = JSON.parse(res.body.toString('utf8')); } catch (err) {
      return down('BAD_JSON', `${url.url} answered a body that is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const summary = parseStatuspageSummary(json);
    if (!summary.ok) return down('BAD_STATUSPAGE', `${url.url}: ${summary.error.message}`);
    const s = summary.value;
    return {
      vendor: v.name,
      at_ms,
      reachable: true,
      // Planned maintenance is not an outage; the components under maintenance still say which parts.
      indicator: s.indicator,
      components: s.components,
      incidents: s.incidents,
    };
  }
}

/**
 * The summary URL for a vendor URL: a URL ending in `.json` is used as it is; any other is
 * taken as the page root and gets `/api/v2/summary.json`.
 *
 * Examples
 * ```ts
 * statuspageSummaryUrl('https://www.githubstatus.com/');  // { ok: true, url: 'https://www.githubstatus.com/api/v2/summary.json' }
 * statuspageSummaryUrl('https://status.example.com/api/v2/summary.json');  // unchanged
 * ```
 */
export function statuspageSummaryUrl(url: string): { readonly ok: true; readonly url: string } | { readonly ok: false; readonly message: string } {
  let u: URL;
  try { u = new URL(url); } catch {
    return { ok: false, message: `${JSON.stringify(url)} is not a URL; give the page root, e.g. https://www.githubstatus.com` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, message: `${JSON.stringify(url)} is not an http(s) URL` };
  if (!u.pathname.endsWith('.json')) u.pathname = `${u.pathname.replace(/\/+$/, '')}${SUMMARY_PATH}`;
  return { ok: true, url: u.toString() };
}
