export * from './types.ts';
export * from './decide.ts';
export * from './load-sequence.ts';
export * from './step.ts';
export * from './fleet-summary.ts';
