#!/usr/bin/env node
// The failsmall command. It runs the bundle `npm ci` builds (scripts/build.mjs), plain JavaScript
// that starts in a fraction of the time; only a checkout without a build falls back to running the
// TypeScript sources through tsx's loader (about 1 s more per start; docs/benchmarks.md).
// FAILSMALL_FROM_SOURCE=1 forces the sources, to try an edit without rebuilding.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/failsmall.mjs', import.meta.url);
let main;
if (existsSync(bundle) && process.env.FAILSMALL_FROM_SOURCE !== '1') {
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/main.ts'));
}
process.exitCode = await main(process.argv);
