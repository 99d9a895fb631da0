// The install path (docs/operations.md, "Installing"): `npm run pack` makes the tarball, `npm install -g`
// installs it into a prefix outside the checkout, and the installed commands work on their own, with
// no checkout or tsx to lean on: --version, --help, failsmall-agent --help, the demo, and `failsmall
// serve` on SQLite and on PostgreSQL answering /healthz and serving the dashboard at /. npm compiles better-sqlite3 during the install when no
// prebuilt binary can be downloaded (none can here): about 2 minutes on 2 cores, most of this test.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { freshPostgres } from '../packages/server/test/fixtures.ts';
import { freePort, REPO_ROOT, sleep, waitFor } from './helpers/procs.ts';
import { spawnInstalled, type Installed } from './helpers/installed.ts';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;
const tmp = mkdtempSync(join(tmpdir(), 'failsmall-install-'));
const prefix = join(tmp, 'prefix');
// npm passes its settings to scripts as npm_config_*; an outer `npm test` must not steer the install.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
let installed: Installed;

before(async () => {
  const packed = await run(process.execPath, [join(REPO_ROOT, 'scripts/pack.mjs'), '--out', tmp], { env, timeout: 120_000 });
  const tarball = packed.stdout.trim().split('\n').pop() ?? '';
  assert.match(tarball, new RegExp(`failsmall-${VERSION.replaceAll('.', '\\.')}\\.tgz$`));
  // From tmp, so that no .npmrc or workspace of the checkout applies; packages come from npm's cache
  // when they are there. better-sqlite3's install script compiles the native addon: allowed by name.
  await run('npm', ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund', '--allow-scripts=better-sqlite3'],
    { cwd: tmp, env, timeout: 8 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  installed = { bin: join(prefix, 'bin'), env };
}, { timeout: 10 * 60_000 });

after(() => rmSync(tmp, { recursive: true, force: true }));

test('the installed failsmall prints its version and help, and failsmall-agent its help', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await spawnInstalled(installed, 'failsmall', [flag], { cwd: tmp }).done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  }
  const help = await spawnInstalled(installed, 'failsmall', ['--help'], { cwd: tmp }).done;
  assert.equal(help.code, 0, help.stderr);
  for (const command of ['serve', 'agent', 'apply', 'rollout', 'breakglass']) assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`));
  const agentHelp = await spawnInstalled(installed, 'failsmall-agent', ['--help'], { cwd: tmp }).done;
  assert.equal(agentHelp.code, 0, agentHelp.stderr);
  assert.match(agentHelp.stdout, /--node-id <id>/);
});

test('bad input to the installed failsmall is a usage error, not a stack trace', async () => {
  const r = await spawnInstalled(installed, 'failsmall', ['serve', '--store', 'mysql://nowhere/db', '--port', '0'], { cwd: tmp }).done;
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('the installed failsmall demo finds its example files without a checkout (dist/examples)', { timeout: 120_000 }, async () => {
  const demo = await spawnInstalled(installed, 'failsmall', ['demo', '--once', '--nodes', '10'], { cwd: tmp }).done;
  assert.equal(demo.code, 0, `${demo.stdout.slice(-2000)}\n${demo.stderr}`);
  assert.match(demo.stdout, /dist\/examples\/scenarios\/nov18-oversized-feature-file\.yaml/);
  assert.match(demo.stdout, /dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=fs_admin_/);
});

for (const engine of ['sqlite', 'postgres'] as const) {
  test(`the installed failsmall serve answers /healthz on ${engine}`, { timeout: 90_000 }, async () => {
    const data = join(tmp, `data-${engine}`);
    mkdirSync(data);
    const pg = engine === 'postgres' ? await freshPostgres() : undefined;
    const port = await freePort();
    // The data directory is the working directory too, as under systemd (StateDirectory=): the
    // default key paths (.failsmall/keys/…) resolve there, never in the checkout.
    const serve = spawnInstalled(installed, 'failsmall', ['serve', '--store', pg?.url ?? join(data, 'failsmall.db'), '--port', String(port)], { cwd: data });
    try {
      const health = await waitFor(`/healthz on port ${port}`, async () => {
        if (serve.exited()) throw new Error(`failsmall serve exited early:\n${serve.stderr()}`);
        const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return res?.ok ? await res.json() as { ok: boolean; store: string } : undefined;
      }, { timeoutMs: 30_000, last: () => serve.stderr() });
      assert.deepEqual(health, { ok: true, store: engine });
      // The dashboard comes with the package (dist/web), found beside the bundle.
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1] ?? '';
      assert.equal((await fetch(`http://127.0.0.1:${port}${script}`)).status, 200, `the page's script ${script}`);
    } finally {
      serve.child.kill('SIGTERM');
      const exit = await Promise.race([serve.done, sleep(10_000).then(() => undefined)]);
      if (!exit) serve.child.kill('SIGKILL');
      await pg?.drop();
    }
    assert.ok(engine === 'postgres' || readFileSync(join(data, 'failsmall.db')).length > 0, 'the SQLite store is in the data directory');
  });
}
