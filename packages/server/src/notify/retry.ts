import { retryAfterMs } from '@failsmall/io';

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
