import { parseDuration } from '@failsmall/core';
import { CliError } from '../client.ts';
import { EXIT } from '../exit-codes.ts';

/** `--wait 30s` / `--timeout 60s` → ms; a bad duration is a usage error naming the flag. */
export function waitMs(flag: string, text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const d = parseDuration(text);
  if (!d.ok) throw new CliError('BAD_DURATION', `${flag}: ${d.message}`, EXIT.USAGE, 'a duration such as 30s, 2m or 1h');
  return d.ms;
}

/**
 * Asks `probe` every `everyMs` until it returns a value or `ms` have passed, for scripts that
 * start a control plane or agents in the background and must wait for them (the README's tour).
 * Throws the last error, or calls `late` for the error to throw, when time runs out.
 */
export async function pollUntil<T>(ms: number, probe: () => Promise<T | undefined>, late: () => Error, everyMs = 250): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    let last: unknown;
    try {
      const got = await probe();
      if (got !== undefined) return got;
    } catch (err) {
      // Only "not there yet" is retried: a refused token or a bad request will not get better.
      if (!(err instanceof CliError) || err.exitCode !== EXIT.UNREACHABLE) throw err;
      last = err;
    }
    if (Date.now() >= until) throw last ?? late();
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
