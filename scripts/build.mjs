// Bundles the two commands into plain JavaScript so that neither needs the TypeScript loader at
// run time (tsx costs about 1 s per start and 40 MB). Runs on npm ci (prepare); a pack builds its own copy (--out).
//  - packages/cli/dist/failsmall-agent.mjs: the lean fleet agent, one file, none of the control
//    plane's drivers (docs/agent.md).
//  - packages/cli/dist/cli/failsmall.mjs: the whole `failsmall` command, split at its dynamic
//    imports so that `failsmall --help` parses only the command tree, not the server or the
//    simulator (docs/benchmarks.md, "CLI startup").
//  - packages/cli/dist/web/: the dashboard (packages/web, a Vite build), which `failsmall serve`
//    serves at / from beside its bundle (docs/dashboard.md).
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import { cp, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}packages/cli/`;
// Native addons cannot be bundled: they stay dependencies of the published package
// (scripts/pack.mjs). pg-native is pg's optional native binding, never installed here.
// Kept in step with the dependencies scripts/pack.mjs gives the published package.
const EXTERNAL = ['better-sqlite3', 'pg-native'];
const version = JSON.parse(await readFile(`${cli}package.json`, 'utf8')).version;
// --out DIR builds elsewhere (scripts/pack.mjs builds into its staging directory), so that a pack
// never rewrites the dist/ that a running test or command of this checkout is loading chunks from.
const outFlag = process.argv.indexOf('--out');
if (outFlag !== -1 && !process.argv[outFlag + 1]) {
  process.stderr.write('build: --out needs a directory\n');
  process.exit(2);
}
const dist = outFlag === -1 ? `${cli}dist` : resolve(process.argv[outFlag + 1]);

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Minified: V8 keeps the whole source in memory (about 1.5 MB less resident); ASCII, so it is held one byte a character.
  minify: true,
  charset: 'ascii',
  external: EXTERNAL,
  // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __failsmallRequire } from 'node:module'; const require = __failsmallRequire(import.meta.url);" },
  // Written in so that --version needs no file read (packages/cli/src/version.ts).
  define: { FAILSMALL_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
};

await rm(dist, { recursive: true, force: true });
await build({ ...common, entryPoints: [`${cli}src/agent-main.ts`], outfile: `${dist}/failsmall-agent.mjs` });
await build({
  ...common,
  entryPoints: { failsmall: `${cli}src/main.ts` },
  outdir: `${dist}/cli`,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunk-[hash]',
});
// The dashboard: static files, found by the server at ../web/ from dist/cli/ (server routes/dashboard.ts).
await viteBuild({ configFile: `${root}packages/web/vite.config.ts`, build: { outDir: `${dist}/web`, emptyOutDir: true } });
// The demo's two example files, for an installed package that has no checkout around it (demo.ts).
for (const file of ['demo.yaml', 'scenarios/nov18-oversized-feature-file.yaml']) {
  await cp(`${root}examples/${file}`, `${dist}/examples/${file}`);
}
console.log(`built ${dist} (failsmall ${version}: cli/failsmall.mjs, failsmall-agent.mjs, web/)`);
