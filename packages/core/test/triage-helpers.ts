import assert from 'node:assert/strict';
import type { CohortErrors, DependencySignal, Hypothesis, MeasuredSeries, ModuleErrors, RolloutChange, Triage, TriageInput, TriageVerdict, VendorStatus } from '../src/triage/index.ts';

/** The hypothesis of one class (or unknown); fails the test when it is not ranked. */
export function hypothesis(t: Triage, c: TriageVerdict): Hypothesis {
  const h = t.hypotheses.find((x) => x.class === c);
  assert.ok(h, `no ${c} hypothesis`);
  return h;
}

/** The leading hypothesis. */
export function top(t: Triage): Hypothesis {
  const h = t.hypotheses[0];
  assert.ok(h);
  return h;
}

/**
 * Hand-built triage inputs for the classifier's unit tests: 40 minutes of 10-second steps
 * from T0, every signal a plain function of the minute, no noise, so that each test states
 * exactly the situation it is about.
 */
export const T0 = Date.parse('2026-01-01T00:00:00Z');
export const STEP_MS = 10_000;
export const MINUTES = 40;
export const END = T0 + MINUTES * 60_000;
export const RPS = 100_000;

export const at = (minute: number): number => T0 + minute * 60_000;

type Curve = (minute: number) => number;

function times(): number[] {
  const out: number[] = [];
  for (let t = T0 + STEP_MS; t <= END; t += STEP_MS) out.push(t);
  return out;
}

const minuteOf = (t: number): number => (t - T0) / 60_000;

export function series(baseline: number, curve: Curve): MeasuredSeries {
  return { baseline, samples: times().map((t) => ({ at_ms: t, value: curve(minuteOf(t)) })) };
}

export function moduleErrors(module: string, ratio: Curve, baseline = 0.001): ModuleErrors {
  const requests = RPS * (STEP_MS / 1000);
  return { module, baseline, samples: times().map((t) => ({ at_ms: t, requests, errors: Math.round(requests * ratio(minuteOf(t))) })) };
}

/** A rollout's cohort: `share` of the nodes (and traffic) have its version from `from` on; each side has its own error ratio. */
export function cohort(rollout: string, version: string, o: { from: number; share: number; withRatio: Curve; withoutRatio: Curve; nodes?: number; baseline?: number }): CohortErrors {
  const nodes = o.nodes ?? 1000;
  const requests = RPS * (STEP_MS / 1000);
  return {
    rollout, version, baseline: o.baseline ?? 0.001,
    samples: times().filter((t) => minuteOf(t) >= o.from).map((t) => {
      const m = minuteOf(t);
      const rw = Math.round(requests * o.share);
      const ro = requests - rw;
      return {
        at_ms: t,
        with_version: { nodes: Math.round(nodes * o.share), requests: rw, errors: Math.round(rw * o.withRatio(m)) },
        without_version: { nodes: nodes - Math.round(nodes * o.share), requests: ro, errors: Math.round(ro * o.withoutRatio(m)) },
      };
    }),
  };
}

export function rollout(id: string, minute: number, o: Partial<RolloutChange> = {}): RolloutChange {
  return { id, artifact: 'api-server', module: 'api', kind: 'code', version: 'v2', from_version: 'v1', started_at_ms: at(minute), ...o };
}

export function dependency(name: string, o: { latency?: Curve; errors?: Curve; vendor?: string; used_by?: string[]; baselineLatency?: number } = {}): DependencySignal {
  const base = o.baselineLatency ?? 10;
  return {
    name, used_by: o.used_by ?? ['api'], ...(o.vendor !== undefined ? { vendor: o.vendor } : {}),
    latency_ms: series(base, o.latency ?? (() => base)),
    error_ratio: series(0.001, o.errors ?? (() => 0.001)),
  };
}

export function statusPage(vendor: string, unreachableFrom: number | null, outageFrom: number | null = null): VendorStatus {
  return {
    vendor,
    polls: times().filter((t) => (t - T0) % 60_000 === 0).map((t) => {
      const m = minuteOf(t);
      if (unreachableFrom !== null && m >= unreachableFrom) return { at_ms: t, reachable: false };
      const out = outageFrom !== null && m >= outageFrom;
      return { at_ms: t, reachable: true, indicator: out ? 'major' : 'none', components: [{ name: 'API', status: out ? 'major_outage' : 'operational' }] };
    }),
  };
}

/** Errors rise to `ratio` at minute 10 on module api; traffic, sources and one dependency stay normal; the alert fires at 11. */
export function incident(o: Partial<TriageInput> & { ratio?: Curve } = {}): TriageInput {
  const { ratio: given, ...rest } = o;
  const ratio = given ?? ((m: number) => (m >= 10 ? 0.05 : 0.001));
  return {
    requests: series(RPS, () => RPS),
    sources: { entropy_bits: series(14, () => 14), never_seen_share: series(0.03, () => 0.03) },
    errors: { by_module: [moduleErrors('api', ratio), moduleErrors('proxy', () => 0.001)] },
    changes: { rollouts: [], external: [] },
    dependencies: [dependency('orders-db')],
    vendors: [statusPage('stripe', null)],
    alerts: [{ name: 'HighErrorRate', started_at_ms: at(11), labels: { module: 'api' } }],
    ...rest,
  };
}
