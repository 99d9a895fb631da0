import { MIX_COUNTERS } from '@failsmall/core';
import { entropyMillibitsTimesRequests } from './entropy.ts';
import { userAgentFamily } from './user-agent.ts';

// The wire names live in core, beside the server's reader of them.
export { MIX_COUNTERS } from '@failsmall/core';

/** One request, as `meter.mix()` takes it. */
export interface MixRequest {
  /** The HTTP method; anything but the standard ones counts as `OTHER`. */
  readonly method: string;
  /**
   * The route template that served it (`/search`, `/item/:id`), never the raw path: raw paths
   * have a key per id, so their entropy measures the ids, and they may carry personal data.
   */
  readonly path_class: string;
  /** The raw `User-Agent` header (undefined when absent); only its family is kept. */
  readonly user_agent?: string | undefined;
  /** Server time spent answering it, in ms. */
  readonly cost_ms: number;
  /** Overrides the configured expensive path classes for this request. */
  readonly expensive?: boolean;
}

export interface RequestMixOptions {
  /** Path classes whose requests are expensive to answer (a search, a report, a login that hashes). */
  readonly expensive?: Iterable<string>;
  /** Most distinct keys per dimension (methods, path classes, user-agent families) in one interval; the rest count as `other`. Default 256. */
  readonly maxKeys?: number;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** Requests per key over one interval, with at most `max` keys: past it, new keys count as `other`, so memory stays bounded. */
class BoundedCounts {
  readonly #counts = new Map<string, number>();
  readonly #max: number;
  constructor(max: number) { this.#max = max; }

  add(key: string, n: number): void {
    const k = this.#counts.has(key) || this.#counts.size < this.#max ? key : 'other';
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + n);
  }

  values(): IterableIterator<number> {
    return this.#counts.values();
  }

  clear(): void {
    this.#counts.clear();
  }
}

/**
 * The request mix for triage: what this interval's requests asked for, and what answering them
 * cost. An application-layer attack changes *what* is asked (one expensive search path, one
 * client library, one method) more than how much; a flash crowd asks for what users always ask
 * for. Only per-interval counts per method, path class and user-agent family are kept, and only
 * their entropies, the expensive requests and the total cost leave the node.
 */
export class RequestMixTracker {
  readonly #expensive: ReadonlySet<string>;
  readonly #methods: BoundedCounts;
  readonly #paths: BoundedCounts;
  readonly #agents: BoundedCounts;
  #requests = 0;
  #expensiveRequests = 0;
  #costMs = 0;

  constructor(opts: RequestMixOptions = {}) {
    // One key of the cap is kept for `other`, so the overflow always has somewhere to go.
    const max = Math.max(1, (opts.maxKeys ?? 256) - 1);
    this.#expensive = new Set(opts.expensive ?? []);
    this.#methods = new BoundedCounts(max);
    this.#paths = new BoundedCounts(max);
    this.#agents = new BoundedCounts(max);
  }

  /** One request (or `n` alike, each costing `cost_ms`). */
  record(r: MixRequest, n = 1): void {
    // A count that is not a whole number would make the push invalid, and the control plane refuses the whole push.
    if (!Number.isSafeInteger(n) || n <= 0) return;
    const method = r.method.toUpperCase();
    this.#methods.add(METHODS.has(method) ? method : 'OTHER', n);
    this.#paths.add(r.path_class, n);
    this.#agents.add(userAgentFamily(r.user_agent), n);
    if (r.expensive ?? this.#expensive.has(r.path_class)) this.#expensiveRequests += n;
    if (Number.isFinite(r.cost_ms) && r.cost_ms > 0) this.#costMs += r.cost_ms * n;
    this.#requests += n;
  }

  /** The interval's counters (then starts a new interval); empty when no request was recorded. */
  drain(): Record<string, number> {
    if (this.#requests === 0) return {};
    const out: Record<string, number> = {
      [MIX_COUNTERS.requests]: this.#requests,
      [MIX_COUNTERS.methodEntropyWeighted]: entropyMillibitsTimesRequests(this.#methods.values(), this.#requests),
      [MIX_COUNTERS.pathEntropyWeighted]: entropyMillibitsTimesRequests(this.#paths.values(), this.#requests),
      [MIX_COUNTERS.userAgentEntropyWeighted]: entropyMillibitsTimesRequests(this.#agents.values(), this.#requests),
      [MIX_COUNTERS.expensive]: this.#expensiveRequests,
      [MIX_COUNTERS.costMs]: Math.round(this.#costMs),
    };
    for (const c of [this.#methods, this.#paths, this.#agents]) c.clear();
    this.#requests = 0;
    this.#expensiveRequests = 0;
    this.#costMs = 0;
    return out;
  }
}
