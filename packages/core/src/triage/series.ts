import type { MeasuredSeries, Sample } from './input.ts';

/** The samples taken at or before `now`, in time order. */
export function upTo<T extends { readonly at_ms: number }>(samples: readonly T[], now: number): T[] {
  return samples.filter((s) => s.at_ms <= now).sort((a, b) => a.at_ms - b.at_ms);
}

/** 0 at `from`, 1 at `to`, linear between and clamped: how graded evidence scales its weight. */
export function ramp(x: number, from: number, to: number): number {
  if (!Number.isFinite(x)) return x > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, (x - from) / (to - from)));
}

export interface Reading {
  readonly at_ms: number;
  readonly value: number;
}

/**
 * The mean over `windowMs` ending at each sample from `from` on: smooths one noisy step
 * away without hiding a surge that lasts a minute.
 */
export function readings(samples: readonly Sample[], from: number, windowMs: number): Reading[] {
  const out: Reading[] = [];
  let start = 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s === undefined) continue;
    sum += s.value;
    while (start < i && (samples[start]?.at_ms ?? 0) <= s.at_ms - windowMs) sum -= samples[start++]?.value ?? 0;
    if (s.at_ms >= from) out.push({ at_ms: s.at_ms, value: sum / (i - start + 1) });
  }
  return out;
}

/** The reading where `score` is highest (the first of equals), or undefined for none. */
export function peak(rs: readonly Reading[], score: (r: Reading) => number): Reading | undefined {
  let best: Reading | undefined;
  let bestScore = -Infinity;
  for (const r of rs) {
    const s = score(r);
    if (s > bestScore) { best = r; bestScore = s; }
  }
  return best;
}

/** The reading at (or last before) `at`. */
export function readingAt(rs: readonly Reading[], at: number): Reading | undefined {
  let found: Reading | undefined;
  for (const r of rs) {
    if (r.at_ms > at) break;
    found = r;
  }
  return found ?? rs[0];
}

/** What the series expected at `at`: the last `expected` sample at or before it, else its baseline. */
export function expectedAt(s: MeasuredSeries, at: number): number {
  let v = s.baseline;
  for (const x of s.expected ?? []) {
    if (x.at_ms > at) break;
    v = x.value;
  }
  return v > 0 ? v : s.baseline;
}
