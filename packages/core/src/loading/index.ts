export * from './validate.ts';
export * from './on-failure.ts';
export * from './safe-default.ts';
