/** Number formats for evidence sentences: short, and the same on every machine. */

export function pct(x: number): string {
  const p = 100 * x;
  if (p === 0) return '0%';
  if (Math.abs(p) >= 10) return `${p.toFixed(0)}%`;
  if (Math.abs(p) >= 1) return `${p.toFixed(1)}%`;
  return `${p.toPrecision(2)}%`;
}

export function times(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}×`;
}

/** 240000 → "4 min", 90000 → "1 min 30 s", 40000 → "40 s". */
export function span(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (m >= 60) return m % 60 === 0 ? `${m / 60} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
  return rest === 0 || m >= 10 ? `${m} min` : `${m} min ${rest} s`;
}

/** "11:24:10" (UTC) for a time in ms since the epoch. */
export function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** 2400000 → "2.4M/s". */
export function perSecond(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toPrecision(3)}M/s`;
  if (x >= 1e3) return `${(x / 1e3).toPrecision(3)}k/s`;
  return `${x.toPrecision(3)}/s`;
}

export function round(x: number, digits = 3): number {
  return Number(x.toPrecision(digits));
}
