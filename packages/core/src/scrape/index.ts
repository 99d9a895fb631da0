export * from './selector.ts';
export * from './mapping.ts';
export * from './reading.ts';
