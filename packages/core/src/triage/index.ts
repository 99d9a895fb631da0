/**
 * Incident triage: a pure classifier that ranks a DDoS, a change regression, an internal
 * degradation and a third-party failure from time-stamped signals, each hypothesis with
 * its evidence, its missing signals and a concrete first action (docs/triage.md).
 */
export type * from './input.ts';
export { TRIAGE_CLASSES, TRIAGE_SIGNALS } from './hypothesis.ts';
export type { Evidence, Hypothesis, MissingSignal, Triage, TriageClass, TriageSignal, TriageTarget, TriageVerdict } from './hypothesis.ts';
export { triage } from './triage.ts';
export { renderTriage } from './render.ts';
export * as TRIAGE_WEIGHTS from './weights.ts';
export { COUNT_MAX, COUNTER_NAME, MIX_COUNTERS, MIX_PREFIX, SOURCE_COUNTERS, SOURCE_PREFIX } from './wire.ts';
