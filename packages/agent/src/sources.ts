import { isIP } from 'node:net';
import { SOURCE_COUNTERS } from '@failsmall/core';
import { entropyMillibitsTimesRequests } from './entropy.ts';

// The wire names live in core, beside the server's reader of them.
export { SOURCE_COUNTERS } from '@failsmall/core';

export interface SourceTrackerOptions {
  /** How long the tracker must have run before it reports never-seen shares (a fresh agent has seen nothing). Default 1 h. */
  readonly warmupMs?: number;
  /** Most prefixes remembered; the oldest are forgotten past it. Default 200,000. */
  readonly maxRemembered?: number;
  readonly now?: () => number;
}

/**
 * Source diversity for triage: which client prefixes (/24 for IPv4, /48 for IPv6) sent this
 * interval's requests. It reports the interval's Shannon entropy over prefixes, and the share
 * of requests from prefixes never seen before. Only the aggregates leave the node, never an
 * address. An attack from a botnet shows as a surge of never-seen prefixes (and, from few
 * sources, an entropy drop); a flash crowd keeps both near normal.
 */
export class SourceTracker {
  readonly #seen = new Map<string, true>();
  readonly #interval = new Map<string, number>();
  readonly #since: number;
  readonly #o: Required<Omit<SourceTrackerOptions, 'now'>> & { now: () => number };
  #requests = 0;
  #neverSeen = 0;

  constructor(opts: SourceTrackerOptions = {}) {
    this.#o = { warmupMs: opts.warmupMs ?? 3600_000, maxRemembered: opts.maxRemembered ?? 200_000, now: opts.now ?? Date.now };
    this.#since = this.#o.now();
  }

  /** One request (or `n`) from a client address, or an already computed prefix. */
  record(client: string, n = 1): void {
    const prefix = clientPrefix(client);
    this.#interval.set(prefix, (this.#interval.get(prefix) ?? 0) + n);
    this.#requests += n;
    if (!this.#seen.has(prefix)) {
      this.#neverSeen += n;
      this.#seen.set(prefix, true);
      if (this.#seen.size > this.#o.maxRemembered) this.#seen.delete(this.#seen.keys().next().value as string);
    }
  }

  /** The interval's counters (then starts a new interval); empty when no source was recorded. */
  drain(): Record<string, number> {
    if (this.#requests === 0) return {};
    const out: Record<string, number> = {
      [SOURCE_COUNTERS.requests]: this.#requests,
      [SOURCE_COUNTERS.entropyWeighted]: entropyMillibitsTimesRequests(this.#interval.values(), this.#requests),
    };
    if (this.#o.now() - this.#since >= this.#o.warmupMs) out[SOURCE_COUNTERS.neverSeen] = this.#neverSeen;
    this.#interval.clear();
    this.#requests = 0;
    this.#neverSeen = 0;
    return out;
  }
}

/** `203.0.113.77` → `203.0.113.0/24`; `2001:db8:1:2::5` → `2001:db8:1::/48`; anything else is taken as a prefix already. */
export function clientPrefix(client: string): string {
  const addr = client.startsWith('::ffff:') && isIP(client.slice(7)) === 4 ? client.slice(7) : client;
  const family = isIP(addr);
  if (family === 4) return `${addr.split('.').slice(0, 3).join('.')}.0/24`;
  if (family === 6) return `${expand6(addr).slice(0, 3).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/48`;
  return client;
}

function expand6(addr: string): string[] {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  return [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
}

/** Counter names for calls to a dependency: `dep__NAME__calls` (or `depv__VENDOR__NAME__…` for a vendor's API). */
export function dependencyCounter(name: string, vendor: string | undefined, what: 'calls' | 'errors' | 'latency_ms'): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_');
  return vendor ? `depv__${safe(vendor)}__${safe(name)}__${what}` : `dep__${safe(name)}__${what}`;
}
