/**
 * What the dashboard (packages/web) takes from core: the pure pieces that need nothing of Node
 * (no node:crypto), so the browser bundle holds only them. Types come from the main entry.
 */
export { ago, formatDuration } from './duration/index.ts';
export { comparison, gateLine, narrate, roundValue } from './narrate/index.ts';
export { bakeProgress, stageMarks } from './rollout/progress.ts';
export { TERMINAL_STATUSES } from './rollout/types.ts';
export { checksSummary, signerWords } from './version/words.ts';
export type { StageMark } from './rollout/progress.ts';
