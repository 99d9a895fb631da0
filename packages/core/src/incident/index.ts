export * from './types.ts';
export * from './grouping.ts';
