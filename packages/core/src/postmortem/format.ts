/**
 * Number and time formats of the draft: the same bytes on every machine (no locale, no
 * time zone but UTC), and "not recorded" where a fact is missing.
 */

export const NOT_RECORDED = 'not recorded';

/** 2000000 → "2,000,000". */
export function count(n: number): string {
  const [int = '', frac] = String(Math.abs(n)).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${n < 0 ? '−' : ''}${grouped}${frac !== undefined ? `.${frac}` : ''}`;
}

/** 0.0012 → "0.12%", 1/3 → "33.3%", 1 → "100%": three significant digits. */
export function share(x: number): string {
  return x === 0 ? '0%' : `${Number((100 * x).toPrecision(3))}%`;
}

/** 250000 → "4 min 10 s", 3723000 → "1 h 2 min 3 s", 40000 → "40 s" (rounded to the second). */
export function span(ms: number): string {
  const total = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [h > 0 ? `${h} h` : '', m > 0 ? `${m} min` : '', s > 0 || total === 0 ? `${s} s` : ''];
  return `${ms < 0 ? '−' : ''}${parts.filter((p) => p !== '').join(' ')}`;
}

/** ISO 8601 in UTC, to the millisecond: "2025-11-18T11:05:00.000Z". */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** "11:05:00" (UTC). */
export function clock(ms: number): string {
  return iso(ms).slice(11, 19);
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "2025-11-18" → "18 November 2025", for the public variant. */
export function longDay(day: string): string {
  const [y = '', m = '', d = ''] = day.split('-');
  return `${Number(d)} ${MONTHS[Number(m) - 1] ?? ''} ${y}`;
}

/** "11:05:00 UTC" from an ISO time; "2025-11-19 01:00:00 UTC" when it is not on the incident's day. */
export function at(isoTime: string | null, day: string): string {
  if (isoTime === null) return NOT_RECORDED;
  const date = isoTime.slice(0, 10);
  return `${date === day ? '' : `${date} `}${isoTime.slice(11, 19)} UTC`;
}

/** A duration in seconds as "1 min 40 s", or "not recorded". */
export function seconds(s: number | null): string {
  return orNot(s, (v) => span(v * 1000));
}

/** ofTotal(10, 1000, 'nodes') → "10 of 1,000 nodes (1%)"; with no total: "10 nodes (of a total not recorded)". */
export function ofTotal(part: number, total: number | null, noun = ''): string {
  const n = noun === '' ? '' : ` ${noun}`;
  return total === null ? `${count(part)}${n} (of a total not recorded)` : `${count(part)} of ${count(total)}${n}${total > 0 ? ` (${share(part / total)})` : ''}`;
}

/** A measured value, to four significant digits: 0.07916666 → "0.07917". */
export function value(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/** ['a', 'b', 'c'] → "a, b and c". */
export function and(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

/** A value or "not recorded". */
export function orNot<T>(value: T | null, show: (v: T) => string): string {
  return value === null ? NOT_RECORDED : show(value);
}

/** A table cell: no pipes or line breaks from recorded text. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}
