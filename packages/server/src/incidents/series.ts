import type { MeasuredSeries, Sample } from '@failsmall/core';

/** The step of the series triage reads. */
export const STEP_MS = 30_000;

/** Agents' custom counters summed per module and step (IncidentStore.counterBuckets). */
export type CounterBucket = { module: string; bucket: number; counters: Record<string, number> };

/** A series with its usual value: the median before `until`. */
export function measured(samples: readonly Sample[], until: number): MeasuredSeries {
  return { baseline: baselineOf(samples, until), samples };
}

/** The usual value of a series: its median before the incident (its first value when nothing precedes it). */
export function baselineOf(xs: readonly Sample[], until: number): number {
  return median(xs.filter((x) => x.at_ms <= until).map((x) => x.value)) ?? xs[0]?.value ?? 0;
}

/** The lower median, or undefined for none. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}
