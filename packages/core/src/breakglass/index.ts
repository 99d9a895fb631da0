export * from './command.ts';
export * from './verify.ts';
export * from './inventory.ts';
export * from './report.ts';
