import type { Transition } from './error-timeline.ts';
import { FLAPPING } from './weights.ts';

/** How many error switches followed a push closely enough to be its doing. */
export interface InStep {
  readonly transitions: number;
  readonly aligned: number;
}

/**
 * Counts the switches (on or off) that came within FLAPPING.inStep.withinMs after one of
 * `pushes`: a generated file that is sometimes bad turns errors on and off as it is pushed.
 */
export function inStepWith(transitions: readonly Transition[], pushes: readonly number[]): InStep {
  let aligned = 0;
  for (const t of transitions) {
    if (pushes.some((p) => p <= t.at_ms && t.at_ms - p <= FLAPPING.inStep.withinMs)) aligned++;
  }
  return { transitions: transitions.length, aligned };
}

export function isInStep(s: InStep): boolean {
  return s.transitions >= FLAPPING.inStep.minTransitions && s.aligned / s.transitions >= FLAPPING.inStep.share;
}

/**
 * The period on which errors switch on, when every gap between onsets is a whole multiple
 * of the shortest one (a regenerated file is sometimes good, so some periods are skipped).
 * Undefined when errors do not flap, or not periodically.
 */
export function flappingPeriod(transitions: readonly Transition[]): { readonly period_ms: number; readonly onsets: number } | undefined {
  const p = FLAPPING.periodic;
  const onsets = transitions.filter((t) => t.to === 'on').map((t) => t.at_ms);
  if (onsets.length < p.minOnsets) return undefined;
  const gaps = onsets.slice(1).map((t, i) => t - (onsets[i] ?? t));
  const period = Math.min(...gaps);
  if (period < p.minPeriodMs - p.toleranceMs || period > p.maxPeriodMs) return undefined;
  const periodic = gaps.every((g) => Math.abs(g - Math.round(g / period) * period) <= p.toleranceMs);
  return periodic ? { period_ms: period, onsets: onsets.length } : undefined;
}
