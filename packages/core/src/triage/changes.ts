import { cohortConcentration, type CohortReading } from './cohort.ts';
import { refName, weighed, type ClassEvidence, type TriageContext } from './context.ts';
import { flappingPeriod, inStepWith, isInStep, type InStep } from './flapping.ts';
import { clock, pct, span } from './format.ts';
import type { Evidence, MissingSignal, TriageTarget } from './hypothesis.ts';
import type { ExternalChange, RolloutChange } from './input.ts';
import { ramp } from './series.ts';
import { CHANGE_LOOKBACK_MS, COHORT, FLAPPING, TIMING } from './weights.ts';

/** One change that could have caused the incident, with the evidence for blaming it. */
interface Candidate {
  readonly at_ms: number;
  readonly target: TriageTarget;
  readonly items: readonly Evidence[];
  readonly missing: readonly MissingSignal[];
  readonly first_action: string;
  readonly score: number;
}

export interface ChangeEvidence extends ClassEvidence {
  /** The rollout whose errors are most concentrated on its own nodes, for the other classes' "against" items. */
  readonly concentrated?: CohortReading;
  /** The flapping period, when errors flap. */
  readonly period_ms?: number;
}

/**
 * The change-regression hypothesis. Every rollout and external change in the lookback
 * window is a candidate: it is blamed by its timing against the first error, by the module
 * it touched, by where its errors fall (its cohort against the rest of the fleet) and by
 * whether errors switch on and off in step with its pushes. The best-supported candidate
 * becomes the hypothesis' target.
 */
export function changeEvidence(ctx: TriageContext): ChangeEvidence {
  const changes = ctx.input.changes;
  const transitions = ctx.timeline?.transitions ?? [];
  const flap = flappingPeriod(transitions);
  if (!changes) {
    const missing: MissingSignal[] = [{ signal: 'changes', sentence: 'no change feed: rollouts and change events are unknown' }];
    return { ...generic(ctx, flap, [], missing), ...(flap ? { period_ms: flap.period_ms } : {}) };
  }
  const since = ctx.ref_ms - CHANGE_LOOKBACK_MS;
  const rollouts = changes.rollouts.filter((r) => r.started_at_ms <= ctx.now && r.started_at_ms >= since);
  const external = changes.external
    .map((c) => ({ c, at: Date.parse(c.timestamp) }))
    .filter((x) => Number.isFinite(x.at) && x.at <= ctx.now && x.at >= since);

  const readings: CohortReading[] = [];
  const candidates: Candidate[] = [];
  for (const r of rollouts) {
    const pushes = rollouts.filter((o) => o.artifact === r.artifact).map((o) => o.started_at_ms);
    candidates.push(rolloutCandidate(ctx, r, inStepWith(transitions, pushes), pushes, readings));
  }
  for (const { c, at } of external) {
    const group = external.filter((o) => groupOf(o.c) === groupOf(c)).map((o) => o.at);
    candidates.push(externalCandidate(ctx, c, at, inStepWith(transitions, group), group));
  }
  const best = [...candidates].sort((a, b) => b.score - a.score || b.at_ms - a.at_ms)[0];
  const concentrated = [...readings].sort((a, b) => b.concentration - a.concentration)[0];
  const extra = { ...(concentrated ? { concentrated } : {}), ...(flap ? { period_ms: flap.period_ms } : {}) };
  if (!best) {
    const none: Evidence = { signal: 'changes', weight: TIMING.noChange, value: 0, unit: 'changes',
      sentence: `no rollout or change event in the ${span(CHANGE_LOOKBACK_MS)} before ${refName(ctx)}` };
    return { ...generic(ctx, flap, [none], []), ...extra };
  }
  const inStep = best.items.some((i) => i.signal === 'flapping');
  const periodic = flap && !inStep ? [periodicItem(flap.period_ms, flap.onsets)] : [];
  return { items: weighed([...best.items, ...periodic]), missing: best.missing, target: best.target, first_action: best.first_action, ...extra };
}

function rolloutCandidate(ctx: TriageContext, r: RolloutChange, step: InStep, pushes: readonly number[], readings: CohortReading[]): Candidate {
  const items: (Evidence | undefined)[] = [timingItem(ctx, r.started_at_ms, `rollout ${r.id} (${r.artifact} ${r.from_version !== undefined ? `${r.from_version} → ` : ''}${r.version})`)];
  if (ctx.erroring.has(r.module)) {
    items.push({ signal: 'errors_by_module', weight: TIMING.moduleMatch, value: null, sentence: `errors rose in ${r.module}, the module rollout ${r.id} changes` });
  }
  const missing: MissingSignal[] = [];
  let share: CohortReading | undefined;
  const cohort = ctx.input.errors?.by_cohort?.find((c) => c.rollout === r.id);
  if (!cohort) {
    missing.push({ signal: 'errors_by_cohort', sentence: `no error counts split by rollout ${r.id}'s cohort` });
  } else {
    // A later push of the same artifact changes what "without the version" means: stop there.
    const next = pushes.filter((t) => t > r.started_at_ms).sort((a, b) => a - b)[0];
    const c = cohortConcentration(cohort, r.started_at_ms, Math.min(ctx.now, next !== undefined ? next - 1 : ctx.now));
    if (!c.ok) missing.push({ signal: 'errors_by_cohort', sentence: c.why });
    else {
      share = c.reading;
      readings.push(c.reading);
      items.push(cohortItem(c.reading));
    }
  }
  if (isInStep(step)) items.push(inStepItem(step, r.artifact, pushes));
  const kept = weighed(items);
  const gap = ctx.ref_ms - r.started_at_ms;
  const first_action = isInStep(step)
    ? `stop pushing ${r.artifact} and roll back rollout ${r.id} to ${r.from_version ?? 'its last known-good version'} (errors switch on and off in step with its pushes: ${step.aligned} of ${step.transitions} switches within ${span(FLAPPING.inStep.withinMs)} of a push; it changed ${r.module} ${span(gap)} before ${refName(ctx)})`
    : `roll back rollout ${r.id} (changed ${r.module} ${gap >= 0 ? `${span(gap)} before` : `${span(gap)} after`} ${refName(ctx)}${share && share.concentration > 0 ? `; ${pct(share.error_share)} of errors on nodes that have ${r.version}, which serve ${pct(share.request_share)} of requests` : ''})`;
  return { at_ms: r.started_at_ms, target: { kind: 'rollout', id: r.id, artifact: r.artifact, version: r.version }, items: kept, missing, first_action, score: sum(kept) };
}

function externalCandidate(ctx: TriageContext, c: ExternalChange, at: number, step: InStep, pushes: readonly number[]): Candidate {
  const items: (Evidence | undefined)[] = [timingItem(ctx, at, `change "${c.summary}"${c.source !== undefined ? ` from ${c.source}` : ''}`)];
  const touched = c.services.filter((s) => ctx.erroring.has(s));
  if (touched.length > 0) {
    items.push({ signal: 'errors_by_module', weight: TIMING.moduleMatch, value: null, sentence: `errors rose in ${touched.join(', ')}, which change "${c.summary}" touched` });
  }
  if (isInStep(step)) items.push(inStepItem(step, c.source ?? c.summary, pushes));
  const kept = weighed(items);
  const gap = ctx.ref_ms - at;
  const missing: MissingSignal[] = [{ signal: 'errors_by_cohort', sentence: `change "${c.summary}" was made outside failsmall: no cohort of nodes to compare` }];
  const first_action = `revert "${c.summary}"${c.source !== undefined ? ` (${c.source})` : ''}: it touched ${c.services.join(', ') || 'unnamed services'} ${span(gap)} ${gap >= 0 ? 'before' : 'after'} ${refName(ctx)}${isInStep(step) ? `, and errors switch on and off in step with its repeats (${step.aligned} of ${step.transitions} switches)` : ''}`;
  return { at_ms: at, target: { kind: 'change', id: c.id, summary: c.summary }, items: kept, missing, first_action, score: sum(kept) };
}

/** Full weight for a change just before the first error, less the longer before; against one that came after. */
function timingItem(ctx: TriageContext, at: number, what: string): Evidence | undefined {
  const gap = ctx.ref_ms - at;
  const ref = refName(ctx);
  if (gap < 0) {
    return { signal: 'change_timing', weight: TIMING.after, value: gap / 1000, threshold: 0, unit: 's',
      sentence: `${what} started ${span(gap)} after ${ref}: it cannot have started the incident` };
  }
  let weight: number;
  if (gap <= TIMING.nearMs) weight = TIMING.near;
  else if (gap <= TIMING.farMs) weight = TIMING.near - (TIMING.near - TIMING.far) * ramp(gap, TIMING.nearMs, TIMING.farMs);
  else weight = TIMING.far * (1 - ramp(gap, TIMING.farMs, TIMING.noneMs));
  return { signal: 'change_timing', weight, value: gap / 1000, threshold: TIMING.noneMs / 1000, unit: 's',
    sentence: `${what} at ${clock(at)}, ${span(gap)} before ${ref}` };
}

function cohortItem(c: CohortReading): Evidence | undefined {
  const k = c.concentration;
  const detail = `${pct(c.error_share)} of the excess errors on the ${c.nodes_with} of ${c.nodes_total} nodes with ${c.version}, which serve ${pct(c.request_share)} of requests (error ratio ${pct(c.ratio_with)} there vs ${pct(c.ratio_without)} elsewhere)`;
  if (k >= COHORT.concentrated.from) {
    return { signal: 'errors_by_cohort', weight: COHORT.concentrated.change * ramp(k, COHORT.concentrated.from, COHORT.concentrated.to), value: k, threshold: COHORT.concentrated.from, unit: 'concentration',
      sentence: `errors concentrate on the rollout's nodes: ${detail}` };
  }
  if (k < COHORT.even.below) {
    return { signal: 'errors_by_cohort', weight: COHORT.even.change, value: k, threshold: COHORT.even.below, unit: 'concentration',
      sentence: `errors spread evenly over nodes with and without the version: ${detail}` };
  }
  return undefined;
}

function inStepItem(step: InStep, what: string, pushes: readonly number[]): Evidence {
  const gaps = pushes.slice(1).map((t, i) => t - (pushes[i] ?? t)).filter((g) => g > 0);
  const every = gaps.length > 0 ? ` (pushed every ${span(Math.min(...gaps))})` : '';
  return { signal: 'flapping', weight: FLAPPING.inStep.change, value: step.aligned, threshold: FLAPPING.inStep.share * step.transitions, unit: 'switches',
    sentence: `errors switched on or off within ${span(FLAPPING.inStep.withinMs)} after a push of ${what} ${step.aligned} of ${step.transitions} times${every}` };
}

function periodicItem(period: number, onsets: number): Evidence {
  return { signal: 'flapping', weight: FLAPPING.periodic.change, value: period / 1000, unit: 's',
    sentence: `errors switch on every ${span(period)} (${onsets} onsets): a periodic configuration regeneration` };
}

/** The hypothesis when no change is recorded: only the flapping can point at one. */
function generic(ctx: TriageContext, flap: ReturnType<typeof flappingPeriod>, items: readonly Evidence[], missing: readonly MissingSignal[]): ClassEvidence {
  const all = flap ? [...items, periodicItem(flap.period_ms, flap.onsets)] : items;
  const first_action = flap
    ? `find what regenerates every ${span(flap.period_ms)} and stop it: errors switch on on that period and no recorded change is in step`
    : `find the change: none is recorded in the ${span(CHANGE_LOOKBACK_MS)} before ${refName(ctx)}; check deploys and config pushes made outside failsmall`;
  return { items: weighed(all), missing, first_action };
}

/** External changes repeat as one generator when they come from the same source for the same services. */
function groupOf(c: ExternalChange): string {
  return `${c.source ?? c.summary}|${[...c.services].sort().join(',')}`;
}

function sum(items: readonly Evidence[]): number {
  return items.reduce((a, e) => a + e.weight, 0);
}
