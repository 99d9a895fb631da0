import pg from 'pg';

/** The channel every replica of one store database notifies and listens on. */
export const CHANGE_CHANNEL = 'failsmall_commits';

/**
 * What a committed write tells the other replicas: who wrote it (so a replica ignores its own)
 * and the types of the events it appended. `resync`: the feed was down and came back, so
 * anything may have changed meanwhile: read everything again.
 */
export interface Change {
  readonly origin: string;
  readonly types: readonly string[];
  /** The rollouts the events were about. */
  readonly rollouts: readonly string[];
  readonly resync?: boolean;
}

/**
 * The NOTIFY payload of a commit: small (PostgreSQL caps it at 8000 bytes), so types and rollout
 * ids only, each once, never more than 50 of each: a listener needs to know what kind of thing
 * changed, and reads the rest from the store.
 */
export function changePayload(origin: string, events: readonly { type: string; rollout_id: string | null }[]): string {
  return JSON.stringify(changeOf(origin, events));
}

/** The change a set of committed events makes, as every listener hears it (types and rollouts, each once, at most 50). */
export function changeOf(origin: string, events: readonly { type: string; rollout_id: string | null }[]): Change {
  return {
    origin,
    types: [...new Set(events.map((e) => e.type))].slice(0, 50),
    rollouts: [...new Set(events.flatMap((e) => (e.rollout_id === null ? [] : [e.rollout_id])))].slice(0, 50),
  };
}

function parseChange(text: string | undefined): Change | undefined {
  try {
    const v = JSON.parse(text ?? '') as { origin?: unknown; types?: unknown; rollouts?: unknown };
    if (typeof v.origin !== 'string' || !Array.isArray(v.types) || !Array.isArray(v.rollouts)) return undefined;
    const strings = (a: unknown[]) => a.filter((t): t is string => typeof t === 'string');
    return { origin: v.origin, types: strings(v.types), rollouts: strings(v.rollouts) };
  } catch {
    return undefined;
  }
}

/**
 * Listens for the commits of the other replicas on one PostgreSQL database (LISTEN on a
 * dedicated connection: a pooled one would be handed to a query and miss notifications). A lost
 * connection (a PostgreSQL restart, a failover) is reconnected with backoff, and the first
 * notice after it is a `resync`, because what was committed while it was down was never heard.
 * NOTIFY is delivered only on commit, so nothing is heard of a write that rolled back.
 *
 * pg's own Client, not a library: LISTEN is a few lines on the driver the store already uses.
 */
export class PgChangeFeed {
  readonly #url: string;
  readonly #origin: string;
  readonly #listeners = new Set<(c: Change) => void>();
  #client: pg.Client | undefined;
  #closed = false;
  #retryMs = 250;
  #timer: NodeJS.Timeout | undefined;
  #connected: Promise<void> | undefined;

  constructor(url: string, origin: string) {
    this.#url = url;
    this.#origin = origin;
  }

  /** Whether the feed is listening now (for health). */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  onChange(fn: (c: Change) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Connects and listens; resolves once listening (or once the first attempt failed: it retries on its own). */
  start(): Promise<void> {
    this.#connected ??= this.#connect(false);
    return this.#connected;
  }

  async #connect(again: boolean): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#url });
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.end().catch(() => undefined);
      this.#retry();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (m) => {
      const change = parseChange(m.payload);
      if (change && change.origin !== this.#origin) this.#emit(change);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch {
      client.removeAllListeners();
      // The socket may still report its loss after this: an 'error' with no listener would crash.
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
      this.#retry();
      return;
    }
    if (this.#closed) { await client.end().catch(() => undefined); return; }
    this.#client = client;
    this.#retryMs = 250;
    if (again) this.#emit({ origin: '', types: [], rollouts: [], resync: true });
  }

  #retry(): void {
    if (this.#closed || this.#timer) return;
    const wait = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, 5000);
    this.#timer = setTimeout(() => { this.#timer = undefined; void this.#connect(true); }, wait);
  }

  #emit(c: Change): void {
    for (const fn of this.#listeners) {
      try { fn(c); } catch { /* a listener's failure is its own */ }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const c = this.#client;
    this.#client = undefined;
    if (c) { c.removeAllListeners(); c.on('error', () => undefined); await c.end().catch(() => undefined); }
  }
}
