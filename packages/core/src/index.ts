export * from './errors/index.ts';
export * from './duration/index.ts';
export * from './policy/index.ts';
export * from './gates/index.ts';
export * from './cohort/index.ts';
export * from './rollout/index.ts';
export * from './desired/index.ts';
export * from './validation/index.ts';
