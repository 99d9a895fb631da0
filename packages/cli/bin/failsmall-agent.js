#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=131072 node --expose-gc --max-semi-space-size=1
// The fleet agent: the bundle built by `npm ci` (scripts/build.mjs), plain JavaScript.
// The flags keep its memory small: two malloc arenas, a 1 MB semi-space, and --expose-gc so the agent hands back
// the memory of a parsed version at once (docs/benchmarks.md, "agent memory").
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/failsmall-agent.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('failsmall-agent: the agent bundle is missing; run `npm run build` (npm ci builds it)\n');
  process.exit(3);
}
await import(bundle.href);
