export * from './types.ts';
export * from './metric-value.ts';
export * from './evaluate.ts';
