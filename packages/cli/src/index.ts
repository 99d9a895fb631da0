export { main } from './main.ts';
export { narrate, summarizeRollout } from '@failsmall/core';
export { EXIT } from './exit-codes.ts';
