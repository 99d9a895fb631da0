import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Child, freePort, waitFor } from './helpers/procs.ts';

/**
 * The banner of `failsmall serve` as a new user reads it: both variables the CLI needs, ready to
 * paste (issue 14: the token alone sent the next command to the default :7070), and a line when
 * it stops.
 */
test('serve prints FAILSMALL_SERVER and FAILSMALL_TOKEN to export and the dashboard\'s login link, and says when it has stopped', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-banner-'));
  const port = await freePort();
  const child = new Child(['serve', '--store', join(dir, 'fs.db'), '--port', String(port)], { cwd: dir });
  t.after(async () => {
    if (child.running) child.proc.kill('SIGKILL');
    await child.exited;
    await rm(dir, { recursive: true, force: true });
  });
  const banner = await waitFor('the token line', () => (/export FAILSMALL_TOKEN=\S+/.test(child.stdout) ? child.stdout : undefined), { timeoutMs: 30_000, last: () => child.describe() });
  assert.match(banner, new RegExp(`^  export FAILSMALL_SERVER=http://127\\.0\\.0\\.1:${port}$`, 'm'));
  assert.match(banner, /^  export FAILSMALL_TOKEN=\S+ {4}# the admin token: shown once/m);
  // Pasting the two lines works: the exported server answers with the exported token.
  const server = /export FAILSMALL_SERVER=(\S+)/.exec(banner)?.[1];
  const token = /export FAILSMALL_TOKEN=(\S+)/.exec(banner)?.[1];
  const res = await fetch(`${server}/v1/rollouts`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  // The dashboard's login link, the token in its fragment; the page is there.
  assert.match(banner, new RegExp(`^the dashboard: http://127\\.0\\.0\\.1:${port}/#token=${token} {4}# signs in as admin$`, 'm'));
  assert.equal((await fetch(`${server}/`)).status, 200);
  // The same token in .failsmall/admin.token, the owner's alone, for a shell or a unit without a terminal.
  const file = join(dir, '.failsmall', 'admin.token');
  assert.match(banner, new RegExp(`^  # or: export FAILSMALL_TOKEN_FILE=${file.replaceAll('.', '\\.')} `, 'm'));
  assert.equal((await readFile(file, 'utf8')).trim(), token);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  child.proc.kill('SIGTERM');
  const exit = await child.exited;
  assert.equal(exit.code, 0, child.describe());
  assert.match(child.stdout, /stopping on SIGTERM: finishing requests, closing the store\nfailsmall control plane stopped\n$/);
});
