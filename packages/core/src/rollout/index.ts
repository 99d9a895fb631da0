export * from './types.ts';
export * from './observe.ts';
export * from './step.ts';
export { isFailedVerdict, isRolloutFailure } from './failure.ts';
export { bakeProgress, stageMarks, type StageMark } from './progress.ts';
