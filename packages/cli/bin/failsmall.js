#!/usr/bin/env node
// The failsmall command. It runs the bundle `npm ci` builds (scripts/build.mjs), plain JavaScript
// that starts in a fraction of the time; only a checkout without a build falls back to running the
// TypeScript sources through tsx's loader (about 0.5–1 s more per start; docs/benchmarks.md).
// FAILSMALL_FROM_SOURCE=1 forces the sources, to try an edit without rebuilding.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/failsmall.mjs', import.meta.url);
const sources = new URL('../src/main.ts', import.meta.url);
const fromSource = process.env.FAILSMALL_FROM_SOURCE === '1' || !existsSync(bundle);
let main;
if (!fromSource) {
  ({ main } = await import(bundle.href));
} else if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
} else {
  // An installed package ships the bundle only: FAILSMALL_FROM_SOURCE has nothing to run there.
  process.stderr.write(`error: ${existsSync(bundle) ? 'FAILSMALL_FROM_SOURCE=1, but this install has no sources' : 'the failsmall bundle is missing'} [NO_BUILD]\n  hint: ${existsSync(bundle) ? 'unset FAILSMALL_FROM_SOURCE' : 'reinstall the package, or run `npm run build` in a checkout'}\n`);
  process.exit(3);
}
process.exitCode = await main(process.argv);
