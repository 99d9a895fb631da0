/**
 * The wait before attempt `attempt + 1`, after `attempt` (≥ 1) attempts failed: exponential
 * backoff with full jitter, `random() × min(maxDelayMs, baseDelayMs × 2^(attempt-1))`. Full
 * jitter spreads the retries of a fleet (or of many control planes) that lost their peer at the
 * same moment, so they do not come back in lockstep. Pure but for `random`.
 */
export function backoffDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 52));
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

/** backoffDelayMs with its attempt count kept: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(baseMs = 250, capMs = 30_000, random: () => number = Math.random) {
    this.#baseMs = baseMs;
    this.#capMs = capMs;
    this.#random = random;
  }

  next(): number {
    this.#attempt++;
    return backoffDelayMs(this.#attempt, this.#baseMs, this.#capMs, this.#random);
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
