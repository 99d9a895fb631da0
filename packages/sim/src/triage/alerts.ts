import type { Alert, MeasuredSeries, TriageInput } from '@failsmall/core';
import { TRIAGE_MODEL } from './model.ts';
import type { TriageScenario } from './types.ts';

/**
 * The alerts an Alertmanager would have raised from the measured series (errors per module,
 * a traffic surge or drop, dependency latency and errors, each held for one minute), and the
 * scenario's own (a synthetic probe, a customer report), in time order.
 */
export function alertsOf(input: TriageInput, s: TriageScenario): Alert[] {
  const a = TRIAGE_MODEL.alerts;
  const out: Alert[] = [];
  const fire = (name: string, labels: Record<string, string>, series: readonly { at_ms: number; on: boolean }[]) => {
    let since: number | null = null;
    for (const x of series) {
      if (!x.on) { since = null; continue; }
      since ??= x.at_ms;
      if (x.at_ms - since >= a.for_ms) { out.push({ name, started_at_ms: x.at_ms, labels }); return; }
    }
  };
  for (const m of input.errors?.by_module ?? []) {
    fire('HighErrorRate', { module: m.module }, m.samples.map((x) => {
      const r = x.requests > 0 ? x.errors / x.requests : 0;
      return { at_ms: x.at_ms, on: r >= a.error_factor * m.baseline && r - m.baseline >= a.error_excess };
    }));
  }
  const req = input.requests;
  if (req) {
    // The surge rule is a fixed threshold, as many are; the drop rule reads the expected rate.
    fire('TrafficSurge', {}, req.samples.map((x) => ({ at_ms: x.at_ms, on: x.value >= a.surge_factor * req.baseline })));
    fire('TrafficDrop', {}, req.samples.map((x) => ({ at_ms: x.at_ms, on: x.value <= a.drop_factor * expectedAt(req, x.at_ms) })));
  }
  for (const d of input.dependencies ?? []) {
    const lat = d.latency_ms;
    if (lat) fire('DependencyLatencyHigh', { dependency: d.name }, lat.samples.map((x) => ({ at_ms: x.at_ms, on: x.value >= a.latency_factor * lat.baseline })));
    if (d.error_ratio) fire('DependencyErrors', { dependency: d.name }, d.error_ratio.samples.map((x) => ({ at_ms: x.at_ms, on: x.value >= a.dependency_errors })));
  }
  for (const x of s.alerts) out.push({ name: x.name, started_at_ms: s.start_ms + x.at_ms, labels: x.labels });
  return out.sort((x, y) => x.started_at_ms - y.started_at_ms);
}

/** The series' expected value at `at_ms`: the latest expected sample at or before it, else the baseline. */
function expectedAt(m: MeasuredSeries, at_ms: number): number {
  let value = m.baseline;
  for (const x of m.expected ?? []) {
    if (x.at_ms > at_ms) break;
    value = x.value;
  }
  return value;
}
