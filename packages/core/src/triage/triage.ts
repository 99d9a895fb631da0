import { changeEvidence, type ChangeEvidence, type TouchedDependency } from './changes.ts';
import { triageContext, weighed, type ClassEvidence } from './context.ts';
import { internalEvidence, readDependencies, type DependencyReading } from './dependencies.ts';
import { pct, span } from './format.ts';
import type { Evidence, MissingSignal, Triage, TriageClass, TriageTarget } from './hypothesis.ts';
import type { TriageInput } from './input.ts';
import { score, summarize } from './score.ts';
import { ramp } from './series.ts';
import { trafficEvidence, type TrafficEvidence } from './traffic.ts';
import { vendorEvidence } from './vendors.ts';
import { COHORT, FLAPPING, LOAD, TOUCHED } from './weights.ts';

/**
 * Ranks the four causes of an incident (change-regression, ddos, internal-degradation,
 * third-party-failure) from the signals in `input` as they stood at `now`. Pure and
 * deterministic: samples after `now` are ignored, nothing is read from the clock or the
 * network. Every hypothesis carries the evidence for and against it, the signals that are
 * missing, and a first action naming what to act on.
 *
 * Examples
 *   const t = triage(input, Date.parse('2025-11-18T11:35:00Z'));
 *   t.hypotheses[0].class         // 'change-regression'
 *   t.hypotheses[0].first_action  // 'stop pushing bot-management-feature-file and roll back rollout …'
 */
export function triage(input: TriageInput, now: number): Triage {
  const ctx = triageContext(input, now);
  const deps = readDependencies(ctx);
  const traffic = trafficEvidence(ctx, deps);
  const change = changeEvidence(ctx, deps, traffic.dropped);
  const internal = internalEvidence(ctx, deps);
  const vendor = vendorEvidence(ctx, deps);
  const against = crossEvidence(change);
  const explains = (c: ClassEvidence) => weighed([
    traffic.explainedBy && c.target && c.target.id === traffic.explainedBy.id ? traffic.explainedBy.item : undefined,
    underLoad(traffic, deps, c),
  ]);
  const classes: Record<TriageClass, ClassEvidence> = {
    'change-regression': change,
    ddos: { ...traffic, items: [...traffic.items, ...weighed([against.periodic, against.concentrated('an attack')])] },
    'internal-degradation': { ...internal, items: [...internal.items, ...explains(internal), ...weighed([against.concentrated('a failing dependency'), touchedBy(change.touched, internal.target)])] },
    'third-party-failure': { ...vendor, items: [...vendor.items, ...explains(vendor), ...weighed([against.concentrated('a vendor outage'), touchedBy(change.touched, vendor.target, deps)])] },
  };
  const shared: MissingSignal[] = ctx.timeline === null ? [{ signal: 'errors_by_module', sentence: 'no error counts by module: the first error and the failing modules are unknown' }] : [];
  const { hypotheses, unexplained } = score(classes, shared);
  return {
    now_ms: now,
    first_alert_ms: ctx.first_alert_ms,
    first_error_ms: ctx.timeline?.first_error_ms ?? null,
    hypotheses,
    unexplained,
    summary: summarize(hypotheses, unexplained),
  };
}

/**
 * The dependency (or vendor) a class blames began to degrade after hostile-looking traffic
 * began: it is under the attack's load, a symptom (an application-layer attack on a search
 * path shows first as a slow search database).
 */
function underLoad(traffic: TrafficEvidence, deps: readonly DependencyReading[], c: ClassEvidence): Evidence | undefined {
  const h = traffic.hostile;
  const target = c.target;
  if (!h || !target) return undefined;
  const d = deps.filter((x) => (target.kind === 'vendor' ? x.dependency.vendor === target.id : x.dependency.name === target.id) && x.onset_ms !== null).sort((a, b) => b.degradation - a.degradation)[0];
  if (!d || d.onset_ms === null || d.onset_ms < h.onset_ms - LOAD.slackMs) return undefined;
  // Under an attack's load, "it degraded, and the erroring module calls it" is as likely as under
  // its own failure: that evidence stops discriminating, in proportion to how hostile the traffic looks.
  const support = c.items.filter((e) => e.weight > 0).reduce((a, e) => a + e.weight, 0);
  const lag = d.onset_ms - h.onset_ms;
  return { signal: 'request_rate', weight: -h.strength * Math.min(support, LOAD.maxCancel), value: lag / 1000, threshold: -LOAD.slackMs / 1000, unit: 's',
    sentence: `${d.dependency.name} began to degrade ${span(Math.abs(lag))} ${lag >= 0 ? 'after' : 'before'} ${h.what} began: it is under that load, a symptom` };
}

/** The dependency (or vendor) a class blames degraded right after a change touched it: the change is the likelier cause. */
function touchedBy(touched: readonly TouchedDependency[], target: TriageTarget | undefined, deps: readonly DependencyReading[] = []): Evidence | undefined {
  if (!target) return undefined;
  const names = target.kind === 'vendor' ? deps.filter((d) => d.dependency.vendor === target.id).map((d) => d.dependency.name) : [target.id];
  const t = [...touched].filter((x) => names.includes(x.dependency)).sort((a, b) => b.degradation - a.degradation)[0];
  if (!t) return undefined;
  const lag = t.onset_ms - t.change_at_ms;
  return { signal: 'changes', weight: TOUCHED.dependency * t.degradation, value: lag / 1000, threshold: TOUCHED.withinMs / 1000, unit: 's',
    sentence: `${t.dependency} began to degrade ${span(lag)} ${lag >= 0 ? 'after' : 'before'} change ${t.change} touched it: the change is the likelier cause` };
}

/** Evidence one class's signals give against the others: where the errors fall, and their rhythm. */
function crossEvidence(change: ChangeEvidence): { periodic: Evidence | undefined; concentrated: (cause: string) => Evidence | undefined } {
  const c = change.concentrated;
  const periodic: Evidence | undefined = change.period_ms !== undefined
    ? { signal: 'flapping', weight: FLAPPING.periodic.ddos, value: change.period_ms / 1000, unit: 's', sentence: `errors switch on every ${span(change.period_ms)}: the rhythm of a regenerated configuration, not of an attack` }
    : undefined;
  return {
    periodic,
    concentrated: (cause) => c && c.verdict === 'concentrated' && c.concentration >= COHORT.others.from
      ? { signal: 'errors_by_cohort', weight: COHORT.others.weight * ramp(c.concentration, COHORT.others.from, COHORT.others.to), value: c.concentration, threshold: COHORT.others.from, unit: 'concentration',
        sentence: `${pct(c.error_share)} of the excess errors fall on the nodes with ${c.version} of rollout ${c.rollout} (${pct(c.request_share)} of requests): ${cause} would hit every node alike` }
      : undefined,
  };
}
