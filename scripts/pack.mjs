// `npm run pack [-- --out DIR]`: the tarball that `npm install -g` installs, failsmall-VERSION.tgz.
// The workspace packages are private and stay so (nothing else is published): the published package
// is made here, in a staging directory, from the build (scripts/build.mjs) and a manifest written
// for it: name `failsmall`, the two commands, and as dependencies only what the bundles keep
// external (native addons). Prints the tarball's path on its last line.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readJson = async (path) => JSON.parse(await readFile(join(root, path), 'utf8'));

const outFlag = process.argv.indexOf('--out');
if (outFlag !== -1 && !process.argv[outFlag + 1]) {
  process.stderr.write('pack: --out needs a directory (e.g. npm run pack -- --out /tmp)\n');
  process.exit(2);
}
const out = resolve(outFlag === -1 ? root : process.argv[outFlag + 1]);

const rootPkg = await readJson('package.json');
const cliPkg = await readJson('packages/cli/package.json');
const serverPkg = await readJson('packages/server/package.json');
const manifest = {
  name: 'failsmall',
  version: cliPkg.version,
  description: rootPkg.description,
  type: 'module',
  license: rootPkg.license,
  engines: cliPkg.engines,
  bin: cliPkg.bin,
  files: ['bin', 'dist'],
  // better-sqlite3 is a native addon the bundle cannot hold (scripts/build.mjs, EXTERNAL); the
  // same range the server is developed against.
  dependencies: { 'better-sqlite3': serverPkg.dependencies['better-sqlite3'] },
};

const staging = await mkdtemp(join(tmpdir(), 'failsmall-pack-'));
try {
  // A fresh build of the sources as they are, made in the staging directory: the checkout's own dist/ may be older, and is left alone.
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--out', join(staging, 'dist')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await cp(join(root, 'packages/cli/bin'), join(staging, 'bin'), { recursive: true });
  await cp(join(root, 'README.md'), join(staging, 'README.md'));
  await writeFile(join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await mkdir(out, { recursive: true });
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: staging, encoding: 'utf8' }).trim().split('\n').pop();
  console.log(join(out, name));
} finally {
  await rm(staging, { recursive: true, force: true });
}
