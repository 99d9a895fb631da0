/**
 * The fleet simulator: a scenario (fleet, traffic, modules, artifacts, policy, the change
 * and how modules fail) run in virtual time under three regimes, side by side.
 */
export { parseScenario, SCENARIO_DEFAULTS, SCENARIO_ERROR_CODES, SCENARIO_KEYS } from './scenario/parse.ts';
export type * from './scenario/types.ts';
export { simulate } from './simulate.ts';
export type { NodeCore, SimulateOptions } from './simulate.ts';
export { formatReport, REGIMES } from './report.ts';
export type { RegimeName, RegimeReport, RolloutSummary, SimulationReport } from './report.ts';
export type { RecordedTick, RegimeRecord, TickCounts } from './record.ts';
export { simulatedIncident } from './postmortem-run.ts';
export type { SimulatedIncident, SimulatedTruth } from './postmortem-run.ts';
export { renderContent } from './content.ts';
export { Rng } from './rng.ts';
export { runSimulateCommand } from './cli.ts';
export * from './triage/index.ts';
