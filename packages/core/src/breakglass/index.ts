export * from './command.ts';
export * from './verify.ts';
export * from './inventory.ts';
