/**
 * Labelled triage scenarios: parse one, generate the signals triage reads in virtual time,
 * and replay triage step by step to measure accuracy and time to a correct verdict.
 */
export { parseTriageScenario, TRIAGE_SCENARIO_DEFAULTS, TRIAGE_SCENARIO_ERROR_CODES, TRIAGE_SCENARIO_KEYS, EVENT_TYPES } from './parse.ts';
export { generateTriageInput, TRIAGE_MODEL } from './generate.ts';
export { evaluateTriageScenario, isCorrect, scoreTriageRuns } from './evaluate.ts';
export type { TriageRun, TriageScore, TriageStep } from './evaluate.ts';
export { loadTriageScenarios } from './load.ts';
export { LABEL_CLASSES, ROLLOUT_END_STATES, UNMEASURED_SIGNALS } from './types.ts';
export type * from './types.ts';
