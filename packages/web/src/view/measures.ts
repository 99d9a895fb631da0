import { formatDuration } from '@failsmall/core/browser';

/**
 * `25%`, `0.5%`: a cohort's share of its fleet, to one decimal below 10%.
 *
 * Examples
 *   shareOf(1, 200) // '0.5%'
 */
export function shareOf(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  const p = (100 * part) / whole;
  return `${p >= 10 || Number.isInteger(p) ? Math.round(p) : p.toFixed(1)}%`;
}

/**
 * `640 ms`, `1.8 s`, `2m5s`: an elapsed time as people read it (the rollback's detection to the
 * last node back).
 */
export function elapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}
