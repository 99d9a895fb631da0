/** What one delivery attempt came to. */
export type AttemptOutcome =
  | { readonly type: 'delivered'; readonly status: number }
  /** Worth trying again: no connection, a timeout, 5xx, 408 or 429 (`retryAfterMs` when the target said when). */
  | { readonly type: 'retry'; readonly reason: string; readonly retryAfterMs?: number }
  /** The target refused this event (another 4xx, a redirect): sending it again would be refused again. */
  | { readonly type: 'rejected'; readonly reason: string };

/** Sorts an HTTP answer into delivered, retry or rejected. `nowMs` reads an HTTP-date Retry-After. */
export function outcomeOf(status: number, retryAfter: string | undefined, bodySnippet: string, nowMs: number): AttemptOutcome {
  if (status >= 200 && status <= 299) return { type: 'delivered', status };
  const reason = `HTTP ${status}${bodySnippet ? `: ${bodySnippet}` : ''}`;
  if (status >= 500 || status === 408 || status === 429) {
    const after = retryAfterMs(retryAfter, nowMs);
    return after === undefined ? { type: 'retry', reason } : { type: 'retry', reason, retryAfterMs: after };
  }
  return { type: 'rejected', reason };
}

/**
 * The wait before attempt `attempt + 1`, after `attempt` (≥ 1) attempts failed: exponential
 * backoff with full jitter, `random() × min(maxDelayMs, baseDelayMs × 2^(attempt-1))`. The
 * jitter spreads retries from many control planes (or after one outage) over time.
 */
export function backoffDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 52));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as milliseconds from now: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
