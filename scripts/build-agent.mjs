// Bundles the lean fleet agent (packages/cli/src/agent-main.ts) into one plain-JavaScript file,
// packages/cli/dist/failsmall-agent.mjs, so that nodes run it with node alone: no TypeScript
// loader in memory (about 40 MB), none of the control plane's drivers. Runs on npm ci (prepare).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [`${root}packages/cli/src/agent-main.ts`],
  outfile: `${root}packages/cli/dist/failsmall-agent.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Minified: V8 keeps the whole source in memory (about 1.5 MB less resident); ASCII, so it is held one byte a character.
  minify: true,
  charset: 'ascii',
  // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __failsmallRequire } from 'node:module'; const require = __failsmallRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log('built packages/cli/dist/failsmall-agent.mjs');
