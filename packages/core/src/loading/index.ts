export * from './validate.ts';
export * from './on-failure.ts';
