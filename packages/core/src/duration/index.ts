/**
 * Durations in policies are strings such as `500ms`, `60s`, `5m`, `1h30m`.
 * A bare number is refused: `60` could mean seconds or milliseconds, and guessing is how outages start.
 *
 * Examples
 *   parseDuration('1m30s') // { ok: true, ms: 90000 }
 *   parseDuration('60')    // { ok: false, message: ... }
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export type DurationParse = { ok: true; ms: number } | { ok: false; message: string };

export function parseDuration(text: string): DurationParse {
  const s = text.trim();
  if (s === '') return { ok: false, message: 'empty duration' };
  let total = 0;
  PART.lastIndex = 0;
  let consumed = 0;
  while (consumed < s.length) {
    PART.lastIndex = consumed;
    const m = PART.exec(s);
    if (!m) return { ok: false, message: `bad duration "${text}"` };
    total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
    consumed = PART.lastIndex;
  }
  if (!Number.isFinite(total) || total <= 0) return { ok: false, message: `duration "${text}" must be greater than zero` };
  return { ok: true, ms: Math.round(total) };
}

/** The inverse, for messages: 90000 → "1m30s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) { parts.push(`${n}${unit}`); rest -= n * size; }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

/**
 * `12s`, `3m`, `2h`, `4d`: how long ago, for people reading a list or a live view (the CLI's
 * tables, the dashboard), not for arithmetic (the JSON keeps the epoch milliseconds).
 */
export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
