/**
 * Issue 11, item 12: the CLI takes its token from the environment or a 0600 file, so it never has
 * to be a flag (flags show in `ps`). The real CLI binary against a real control plane.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testServer } from '../packages/server/test/fixtures.ts';

/** Asynchronously: the control plane answers from this same process. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const { FAILSMALL_TOKEN: _drop, FAILSMALL_TOKEN_FILE: _drop2, ...rest } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, ['packages/cli/bin/failsmall.js', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...rest, HOME: env.HOME ?? tmpdir(), ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}${stderr}` });
    });
  });
}

test('the CLI reads its token from FAILSMALL_TOKEN_FILE when the file is 0600, and refuses one others can read', { timeout: 120_000 }, async (t) => {
  const s = await testServer();
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-token-'));
  t.after(async () => { await s.cleanup(); rmSync(dir, { recursive: true, force: true }); });
  const file = join(dir, 'token');
  writeFileSync(file, `${s.admin}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);

  const ok = await cli(['token', 'list', '--server', s.url, '--json'], { FAILSMALL_TOKEN_FILE: file, HOME: dir });
  assert.equal(ok.code, 0, ok.out);
  assert.deepEqual((JSON.parse(ok.out) as { tokens: { name: string }[] }).tokens.map((x) => x.name), ['admin']);

  chmodSync(file, 0o644);
  const open = await cli(['token', 'list', '--server', s.url], { FAILSMALL_TOKEN_FILE: file, HOME: dir });
  assert.equal(open.code, 2, open.out);
  assert.match(open.out, /TOKEN_FILE_OPEN/);
  assert.match(open.out, /chmod 600/);

  // No token anywhere: the API's 401, said plainly.
  const none = await cli(['token', 'list', '--server', s.url], { HOME: dir });
  assert.notEqual(none.code, 0);
  assert.match(none.out, /UNAUTHENTICATED/);

  // The default file, ~/.config/failsmall/token, is read too.
  const cfg = join(dir, '.config', 'failsmall');
  spawnSync('mkdir', ['-p', cfg]);
  writeFileSync(join(cfg, 'token'), s.admin, { mode: 0o600 });
  const dflt = await cli(['nodes', '--server', s.url, '--json'], { HOME: dir });
  assert.equal(dflt.code, 0, dflt.out);
});
