import { cohortConcentration, type CohortReading } from './cohort.ts';
import { refName, weighed, type ClassEvidence, type TriageContext } from './context.ts';
import type { DependencyReading } from './dependencies.ts';
import { flappingPeriod, inStepWith, isInStep, type InStep } from './flapping.ts';
import { clock, pct, span } from './format.ts';
import type { Evidence, MissingSignal, TriageTarget } from './hypothesis.ts';
import type { ChangeTouches, ExternalChange, RolloutChange } from './input.ts';
import { ramp } from './series.ts';
import { CHANGE_LOOKBACK_MS, COHORT, ENDED, FLAPPING, SKEW_TOLERANCE_MS, TIMING, TOUCHED } from './weights.ts';

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
  /** Dependencies that degraded after a change touched them: the other classes hear of it. */
  readonly touched: readonly TouchedDependency[];
}

/** A degraded dependency that a recorded change touched just before it degraded. */
export interface TouchedDependency {
  readonly dependency: string;
  readonly change: string;
  readonly change_at_ms: number;
  readonly onset_ms: number;
  readonly degradation: number;
}

/**
 * The change-regression hypothesis. Every rollout and external change in the lookback
 * window is a candidate: it is blamed by its timing against the first error, by the module
 * it touched, by where its errors fall (its cohort against the rest of the fleet) and by
 * whether errors switch on and off in step with its pushes. The best-supported candidate
 * becomes the hypothesis' target.
 */
export function changeEvidence(ctx: TriageContext, deps: readonly DependencyReading[], trafficDropped: boolean): ChangeEvidence {
  const changes = ctx.input.changes;
  const transitions = ctx.timeline?.transitions ?? [];
  const flap = flappingPeriod(transitions);
  if (!changes) {
    const missing: MissingSignal[] = [{ signal: 'changes', sentence: 'no change feed: rollouts and change events are unknown' }];
    return { ...generic(ctx, flap, [], missing), ...(flap ? { period_ms: flap.period_ms } : {}), touched: [] };
  }
  const since = ctx.ref_ms - CHANGE_LOOKBACK_MS;
  // A change is known from when it was recorded: one logged late is not seen before then.
  const known = (recorded: number | undefined) => (recorded ?? -Infinity) <= ctx.now;
  const rollouts = changes.rollouts.filter((r) => r.started_at_ms <= ctx.now && r.started_at_ms >= since && known(r.recorded_at_ms));
  const external = changes.external
    .map((c) => ({ c, at: Date.parse(c.timestamp) }))
    .filter((x) => Number.isFinite(x.at) && x.at <= ctx.now && x.at >= since && known(x.c.recorded_at_ms));

  const readings: CohortReading[] = [];
  const candidates: Candidate[] = [];
  const touched: TouchedDependency[] = [];
  for (const r of rollouts) {
    const pushes = rollouts.filter((o) => o.artifact === r.artifact).map((o) => o.started_at_ms);
    const t = touchedItems(r.id, `rollout ${r.id}`, r.started_at_ms, r.touches, deps);
    touched.push(...t.touched);
    candidates.push(rolloutCandidate(ctx, r, inStepWith(transitions, pushes), pushes, readings, t.items));
  }
  for (const { c, at } of external) {
    const group = external.filter((o) => groupOf(o.c) === groupOf(c)).map((o) => o.at);
    const t = touchedItems(c.id, `change "${c.summary}"`, at, c.touches, deps);
    touched.push(...t.touched);
    candidates.push(externalCandidate(ctx, c, at, inStepWith(transitions, group), group, t.items));
  }
  // Best supported first; of two equally supported, the newer (the change most recently made).
  const best = [...candidates].sort((a, b) => b.score - a.score || b.at_ms - a.at_ms)[0];
  const concentrated = [...readings].filter((r) => r.verdict === 'concentrated').sort((a, b) => b.concentration - a.concentration)[0];
  const extra = { ...(concentrated ? { concentrated } : {}), ...(flap ? { period_ms: flap.period_ms } : {}), touched };
  if (!best) {
    const none: Evidence = { signal: 'changes', weight: TIMING.noChange, value: 0, unit: 'changes',
      sentence: `no rollout or change event in the ${span(CHANGE_LOOKBACK_MS)} before ${refName(ctx)}` };
    return { ...generic(ctx, flap, [none], []), ...extra };
  }
  const inStep = best.items.some((i) => i.signal === 'flapping');
  const periodic = flap && !inStep ? [periodicItem(flap.period_ms, flap.onsets)] : [];
  // Something always changed recently: with error counts measured and no module erring, a change
  // has nothing to explain (a latency-only regression shows in the dependencies or the alerts).
  // A change that cuts traffic off (routes withdrawn, DNS) shows as a drop, not as errors.
  const quiet: Evidence[] = ctx.timeline !== null && ctx.timeline.first_error_ms === null && !trafficDropped
    ? [{ signal: 'errors_by_module', weight: TIMING.noErrors, value: 0, unit: 'modules', sentence: `no module's error ratio rose above its baseline: a change that broke something would show in its errors` }]
    : [];
  return { items: weighed([...best.items, ...periodic, ...quiet]), missing: best.missing, target: best.target, first_action: best.first_action, ...extra };
}

function rolloutCandidate(ctx: TriageContext, r: RolloutChange, step: InStep, pushes: readonly number[], readings: CohortReading[], touchedBy: readonly Evidence[]): Candidate {
  const items: (Evidence | undefined)[] = [timingItem(ctx, r.started_at_ms, `rollout ${r.id} (${r.artifact} ${r.from_version !== undefined ? `${r.from_version} → ` : ''}${r.version})`), ...touchedBy];
  const m = [r.module, ...(r.touches?.services ?? [])].find((x) => ctx.erroring.has(x));
  if (m !== undefined) {
    items.push({ signal: 'errors_by_module', weight: TIMING.moduleMatch, value: null, sentence: `errors rose in ${m}, ${m === r.module ? 'the module' : 'a service'} rollout ${r.id} changes` });
  }
  const missing: MissingSignal[] = [];
  let share: CohortReading | undefined;
  const cohort = ctx.input.errors?.by_cohort?.find((c) => c.rollout === r.id);
  if (!cohort) {
    missing.push({ signal: 'errors_by_cohort', sentence: `no error counts split by rollout ${r.id}'s cohort` });
  } else {
    // A later push of the same artifact changes what "without the version" means: stop there.
    // An old rollout is read over the incident's window only: its errors then are what matter.
    const next = pushes.filter((t) => t > r.started_at_ms).sort((a, b) => a - b)[0];
    const c = cohortConcentration(cohort, Math.max(r.started_at_ms, ctx.from_ms), Math.min(ctx.now, next !== undefined ? next - 1 : ctx.now));
    if (!c.ok) missing.push({ signal: 'errors_by_cohort', sentence: c.why });
    else {
      share = c.reading;
      readings.push(c.reading);
      items.push(cohortItem(c.reading, ageFactor(ctx.ref_ms - r.started_at_ms)));
      if (c.reading.verdict === 'inconclusive') missing.push({ signal: 'errors_by_cohort', sentence: `rollout ${r.id}'s cohort is too small to compare yet (${Math.round(c.reading.requests_with)} requests on ${c.reading.nodes_with} nodes)` });
    }
  }
  if (isInStep(step)) items.push(inStepItem(step, r.artifact, pushes));
  const ended = endedItem(ctx, r);
  if (ended) items.push(ended.item);
  const kept = weighed(items);
  const gap = ctx.ref_ms - r.started_at_ms;
  const concentratedNote = share && share.verdict === 'concentrated' ? `; ${pct(share.error_share)} of the excess errors on nodes that have ${r.version}, which serve ${pct(share.request_share)} of requests` : '';
  const first_action = ended
    ? ended.action
    : isInStep(step)
      ? `stop pushing ${r.artifact} and roll back rollout ${r.id} to ${r.from_version ?? 'its last known-good version'} (errors switch on and off in step with its pushes: ${step.aligned} of ${step.transitions} switches within ${span(FLAPPING.inStep.withinMs)} of a push; it changed ${r.module} ${span(gap)} before ${refName(ctx)})`
      : `${r.state === 'paused' ? 'roll back paused' : 'roll back'} rollout ${r.id} (changed ${r.module} ${gap >= 0 ? `${span(gap)} before` : `${span(gap)} after`} ${refName(ctx)}${concentratedNote})`;
  return { at_ms: r.started_at_ms, target: { kind: 'rollout', id: r.id, artifact: r.artifact, version: r.version }, items: kept, missing, first_action, score: sum(kept) };
}

/**
 * A rollout already rolled back or aborted: never advise doing it again. If the errors went on
 * past the rollback, the rollout was not (the only) cause; if they stopped, the rollback worked.
 */
function endedItem(ctx: TriageContext, r: RolloutChange): { item: Evidence; action: string } | undefined {
  if ((r.state !== 'rolled_back' && r.state !== 'aborted') || r.ended_at_ms === undefined || r.ended_at_ms > ctx.now) return undefined;
  const done = r.state === 'rolled_back' ? 'rolled back' : 'aborted';
  const end = r.ended_at_ms;
  const transitions = (ctx.timeline?.transitions ?? []).filter((t) => t.at_ms <= ctx.now);
  const last = transitions[transitions.length - 1];
  const erringNow = last !== undefined && last.to === 'on';
  const stoppedAfter = last !== undefined && last.to === 'off' && last.at_ms >= end;
  if (erringNow && ctx.now - Math.max(end, last.at_ms) >= ENDED.persistMs && (last.at_ms <= end || transitions.length === 1)) {
    return {
      item: { signal: 'change_timing', weight: ENDED.persisted, value: (ctx.now - end) / 1000, threshold: ENDED.persistMs / 1000, unit: 's',
        sentence: `rollout ${r.id} was ${done} at ${clock(end)}, and errors went on for ${span(ctx.now - end)} after: it is not what keeps them up` },
      action: `look past rollout ${r.id}: it was already ${done} at ${clock(end)} and the errors outlived it by ${span(ctx.now - end)}; check the newest change since, and the dependencies`,
    };
  }
  if (stoppedAfter && last.at_ms - end <= ENDED.persistMs) {
    return {
      item: { signal: 'change_timing', weight: ENDED.stopped, value: (last.at_ms - end) / 1000, threshold: ENDED.persistMs / 1000, unit: 's',
        sentence: `errors stopped ${span(last.at_ms - end)} after rollout ${r.id} was ${done} at ${clock(end)}` },
      action: `keep rollout ${r.id} ${done} (done at ${clock(end)}; errors stopped ${span(last.at_ms - end)} after): confirm every node serves ${r.from_version ?? 'the previous version'} and find why ${r.version} failed before pushing it again`,
    };
  }
  return {
    item: { signal: 'change_timing', weight: 0.1, value: (ctx.now - end) / 1000, unit: 's', sentence: `rollout ${r.id} was ${done} at ${clock(end)}` },
    action: `rollout ${r.id} was already ${done} at ${clock(end)}: confirm every node serves ${r.from_version ?? 'the previous version'} again, and watch whether the errors stop`,
  };
}

/** Full weight for a rollout's first hour, then halving every COHORT.halfLifeMs: old cohorts still speak, less loudly. */
function ageFactor(age: number): number {
  return age <= COHORT.fullWeightMs ? 1 : 0.5 ** ((age - COHORT.fullWeightMs) / COHORT.halfLifeMs);
}

/**
 * Dependencies a change touched that degraded soon after it: evidence for the change, and a
 * record for the dependency's own hypothesis (it is the symptom). A migration that locks a table
 * is then read as the change it is, not as the database failing by itself.
 */
function touchedItems(id: string, what: string, at: number, touches: ChangeTouches | undefined, deps: readonly DependencyReading[]): { items: Evidence[]; touched: TouchedDependency[] } {
  const items: Evidence[] = [];
  const touched: TouchedDependency[] = [];
  for (const name of touches?.dependencies ?? []) {
    const d = deps.find((x) => x.dependency.name === name || x.dependency.vendor === name);
    if (!d || d.degradation < 0.1 || d.onset_ms === null) continue;
    const lag = d.onset_ms - at;
    if (lag < -TOUCHED.beforeMs || lag > TOUCHED.withinMs) continue;
    touched.push({ dependency: d.dependency.name, change: id, change_at_ms: at, onset_ms: d.onset_ms, degradation: d.degradation });
    items.push({ signal: 'dependencies', weight: TOUCHED.change * d.degradation, value: lag / 1000, threshold: TOUCHED.withinMs / 1000, unit: 's',
      sentence: `${what} touched ${d.dependency.name}, which began to degrade ${span(lag)} ${lag >= 0 ? 'after' : 'before'} it (${d.summary})` });
  }
  return { items, touched };
}

function externalCandidate(ctx: TriageContext, c: ExternalChange, at: number, step: InStep, pushes: readonly number[], touchedBy: readonly Evidence[]): Candidate {
  const staged = c.share !== undefined && c.share < 1 ? ` at ${pct(c.share)} of users` : '';
  const items: (Evidence | undefined)[] = [timingItem(ctx, at, `change "${c.summary}"${c.source !== undefined ? ` from ${c.source}` : ''}${staged}`), ...touchedBy];
  const touched = [...c.services, ...(c.touches?.services ?? [])].filter((s) => ctx.erroring.has(s));
  if (touched.length > 0) {
    items.push({ signal: 'errors_by_module', weight: TIMING.moduleMatch, value: null, sentence: `errors rose in ${touched.join(', ')}, which change "${c.summary}" touched` });
  }
  if (isInStep(step)) items.push(inStepItem(step, c.source ?? c.summary, pushes));
  const kept = weighed(items);
  const gap = ctx.ref_ms - at;
  const missing: MissingSignal[] = [{ signal: 'errors_by_cohort', sentence: `change "${c.summary}" was made outside failsmall: no cohort of nodes to compare` }];
  const what = [...c.services, ...(c.touches?.dependencies ?? [])];
  const first_action = `revert "${c.summary}"${c.source !== undefined ? ` (${c.source})` : ''}${staged}: it touched ${what.join(', ') || 'unnamed services'} ${span(gap)} ${gap >= 0 ? 'before' : 'after'} ${refName(ctx)}${isInStep(step) ? `, and errors switch on and off in step with its repeats (${step.aligned} of ${step.transitions} switches)` : ''}`;
  return { at_ms: at, target: { kind: 'change', id: c.id, summary: c.summary }, items: kept, missing, first_action, score: sum(kept) };
}

/** Full weight for a change just before the first error, less the longer before; against one that came after. */
function timingItem(ctx: TriageContext, at: number, what: string): Evidence | undefined {
  const gap = ctx.ref_ms - at;
  const ref = refName(ctx);
  if (gap < -SKEW_TOLERANCE_MS) {
    return { signal: 'change_timing', weight: TIMING.after, value: gap / 1000, threshold: -SKEW_TOLERANCE_MS / 1000, unit: 's',
      sentence: `${what} started ${span(gap)} after ${ref}: it cannot have started the incident` };
  }
  if (gap < 0) {
    // Clocks differ and change feeds lag: a change stamped just after the first error may
    // have come first. Its cohort, not its timestamp, decides.
    return { signal: 'change_timing', weight: TIMING.far, value: gap / 1000, threshold: -SKEW_TOLERANCE_MS / 1000, unit: 's',
      sentence: `${what} at ${clock(at)}, ${span(gap)} after ${ref}: within clock-skew tolerance (${span(SKEW_TOLERANCE_MS)}), so it may have come first` };
  }
  let weight: number;
  if (gap <= TIMING.nearMs) weight = TIMING.near;
  else if (gap <= TIMING.farMs) weight = TIMING.near - (TIMING.near - TIMING.far) * ramp(gap, TIMING.nearMs, TIMING.farMs);
  else weight = TIMING.far * (1 - ramp(gap, TIMING.farMs, TIMING.noneMs));
  return { signal: 'change_timing', weight, value: gap / 1000, threshold: TIMING.noneMs / 1000, unit: 's',
    sentence: `${what} at ${clock(at)}, ${span(gap)} before ${ref}` };
}

function cohortItem(c: CohortReading, age: number): Evidence | undefined {
  const detail = `${pct(c.error_share)} of the excess errors on the ${c.nodes_with} of ${c.nodes_total} nodes with ${c.version}, which serve ${pct(c.request_share)} of requests (error ratio ${pct(c.ratio_with)} there vs ${pct(c.ratio_without)} elsewhere, z = ${c.z.toFixed(1)})`;
  const older = age < 1 ? ` (weighed ×${age.toFixed(2)} for the rollout's age)` : '';
  if (c.verdict === 'concentrated') {
    return { signal: 'errors_by_cohort', weight: age * COHORT.concentrated.change * ramp(c.concentration, COHORT.concentrated.from, COHORT.concentrated.to), value: c.concentration, threshold: COHORT.concentrated.from, baseline: c.request_share, unit: 'concentration',
      sentence: `errors concentrate on the rollout's nodes: ${detail}${older}` };
  }
  if (c.verdict === 'even') {
    return { signal: 'errors_by_cohort', weight: COHORT.even.change, value: c.concentration, threshold: COHORT.even.below, baseline: c.request_share, unit: 'concentration',
      sentence: `errors spread evenly over nodes with and without the version: ${detail}` };
  }
  if (c.verdict === 'healthy') {
    return { signal: 'errors_by_cohort', weight: COHORT.healthy.change, value: c.ratio_with, baseline: c.baseline, unit: 'ratio',
      sentence: `the ${c.nodes_with} nodes with ${c.version} err at the fleet's baseline (${pct(c.ratio_with)} vs ${pct(c.baseline)} over ${Math.round(c.requests_with)} requests; a bad version would have shown)` };
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
