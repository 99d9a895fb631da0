export { main } from './main.ts';
export { narrate, summary } from './narrate.ts';
export { EXIT } from './exit-codes.ts';
