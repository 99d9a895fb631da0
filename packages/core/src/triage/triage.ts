import { changeEvidence, type ChangeEvidence } from './changes.ts';
import { triageContext, weighed, type ClassEvidence } from './context.ts';
import { internalEvidence, readDependencies } from './dependencies.ts';
import { pct, span } from './format.ts';
import type { Evidence, MissingSignal, Triage, TriageClass } from './hypothesis.ts';
import type { TriageInput } from './input.ts';
import { score, summarize } from './score.ts';
import { ramp } from './series.ts';
import { trafficEvidence } from './traffic.ts';
import { vendorEvidence } from './vendors.ts';
import { COHORT, FLAPPING } from './weights.ts';

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
  const change = changeEvidence(ctx);
  const traffic = trafficEvidence(ctx);
  const deps = readDependencies(ctx);
  const internal = internalEvidence(ctx, deps);
  const vendor = vendorEvidence(ctx, deps);
  const against = crossEvidence(change);
  const classes: Record<TriageClass, ClassEvidence> = {
    'change-regression': change,
    ddos: { ...traffic, items: [...traffic.items, ...weighed([against.periodic, against.concentrated('an attack')])] },
    'internal-degradation': { ...internal, items: [...internal.items, ...weighed([against.concentrated('a failing dependency')])] },
    'third-party-failure': { ...vendor, items: [...vendor.items, ...weighed([against.concentrated('a vendor outage')])] },
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

/** Evidence one class's signals give against the others: where the errors fall, and their rhythm. */
function crossEvidence(change: ChangeEvidence): { periodic: Evidence | undefined; concentrated: (cause: string) => Evidence | undefined } {
  const c = change.concentrated;
  const periodic: Evidence | undefined = change.period_ms !== undefined
    ? { signal: 'flapping', weight: FLAPPING.periodic.ddos, value: change.period_ms / 1000, unit: 's', sentence: `errors switch on every ${span(change.period_ms)}: the rhythm of a regenerated configuration, not of an attack` }
    : undefined;
  return {
    periodic,
    concentrated: (cause) => c && c.concentration >= COHORT.others.from
      ? { signal: 'errors_by_cohort', weight: COHORT.others.weight * ramp(c.concentration, COHORT.others.from, COHORT.others.to), value: c.concentration, threshold: COHORT.others.from, unit: 'concentration',
        sentence: `${pct(c.error_share)} of the excess errors fall on the nodes with ${c.version} of rollout ${c.rollout} (${pct(c.request_share)} of requests): ${cause} would hit every node alike` }
      : undefined,
  };
}
