import type { FailsmallError } from '../errors/index.ts';

/**
 * The order every YAML parser returns its errors in: by line, then column (errors without a
 * position, about the file as a whole, first); errors at the same place keep the order they
 * were found in. The same error twice (same code, place and message: one node reached through
 * two aliases) is kept once. `keepRepeats` is for warnings, which are kept once per path.
 *
 * Examples
 *   return { ok: false, errors: sortErrors(src.errors), warnings: [] };
 */
export function sortErrors<T extends FailsmallError>(errors: readonly T[], keepRepeats = false): T[] {
  const seen = new Set<string>();
  const out: { e: T; i: number }[] = [];
  for (const e of errors) {
    const key = keepRepeats ? `${e.code}:${e.path ?? ''}:${e.message}` : `${e.code}:${e.line ?? ''}:${e.col ?? ''}:${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ e, i: out.length });
  }
  return out
    .sort((a, b) => (a.e.line ?? 0) - (b.e.line ?? 0) || (a.e.col ?? 0) - (b.e.col ?? 0) || a.i - b.i)
    .map((x) => x.e);
}
