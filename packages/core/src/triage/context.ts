import { errorTimeline, type ErrorTimeline } from './error-timeline.ts';
import type { Evidence, MissingSignal, TriageTarget } from './hypothesis.ts';
import type { TriageInput } from './input.ts';
import { LEAD_WINDOW_MS } from './weights.ts';

/** What every class's evidence is read against: the incident's reference times and the error timeline. */
export interface TriageContext {
  readonly input: TriageInput;
  readonly now: number;
  /** null when no per-module error counts were given. */
  readonly timeline: ErrorTimeline | null;
  readonly first_alert_ms: number | null;
  /** The first error, else the first alert, else now: what "before" and "after" mean. */
  readonly ref_ms: number;
  /** Signals are read from here on (LEAD_WINDOW_MS before ref_ms). */
  readonly from_ms: number;
  readonly erroring: ReadonlySet<string>;
}

/** The evidence gathered for one class, before scoring. Items of either sign; scoring splits them. */
export interface ClassEvidence {
  readonly items: readonly Evidence[];
  readonly missing: readonly MissingSignal[];
  readonly target?: TriageTarget;
  readonly first_action: string;
}

export function triageContext(input: TriageInput, now: number): TriageContext {
  const modules = input.errors?.by_module;
  const timeline = modules && modules.length > 0 ? errorTimeline(modules, now) : null;
  const alertTimes = (input.alerts ?? []).map((a) => a.started_at_ms).filter((t) => t <= now);
  const first_alert_ms = alertTimes.length > 0 ? Math.min(...alertTimes) : null;
  const ref_ms = timeline?.first_error_ms ?? first_alert_ms ?? now;
  return {
    input, now, timeline, first_alert_ms, ref_ms, from_ms: ref_ms - LEAD_WINDOW_MS,
    erroring: new Set((timeline?.erroring ?? []).map((m) => m.module)),
  };
}

/** Keeps the items that move the odds at all (a ramp at 0 says nothing). */
export function weighed(items: readonly (Evidence | undefined)[]): Evidence[] {
  return items.filter((e): e is Evidence => e !== undefined && Math.abs(e.weight) >= 0.05).map((e) => ({ ...e, weight: Number(e.weight.toFixed(2)) }));
}

/** "the first error" or "the first alert", for sentences relative to ref_ms. */
export function refName(ctx: TriageContext): string {
  return ctx.timeline?.first_error_ms !== null && ctx.timeline?.first_error_ms !== undefined ? 'the first error' : ctx.first_alert_ms !== null ? 'the first alert' : 'now';
}
