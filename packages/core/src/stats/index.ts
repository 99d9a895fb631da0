export * from './normal.ts';
export * from './rate-confidence-sequence.ts';
export * from './rate-regression.ts';
export * from './wald-sprt.ts';
export * from './mann-whitney.ts';
export * from './latency-exceedance.ts';
export * from './node-contrast.ts';
