/**
 * `failsmall … | head -1` ends quietly: no EPIPE stack trace, exit 0 (docs/cli.md), in both
 * binaries. A real command against a real server, through a real shell pipe, then with the
 * reader gone before the first write, which makes the EPIPE certain rather than a race.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { call, DECLARATIONS, testServer } from '../packages/server/test/fixtures.ts';
import { CLI_BIN, REPO_ROOT } from './helpers/procs.ts';

const AGENT_BIN = fileURLToPath(new URL('../packages/cli/bin/failsmall-agent.js', import.meta.url));

/** Runs `bin args`, its stdout into `reader` (a shell command), its stderr and exit code kept. */
function pipeline(bin: string, args: string[], reader: string): Promise<{ code: number; stderr: string; stdout: string }> {
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  // PIPESTATUS[0]: the exit code of failsmall itself, not of head.
  const script = `${quoted} 2>"$ERRFILE" | ${reader}; echo "exit=\${PIPESTATUS[0]}"; cat "$ERRFILE"`;
  return new Promise((resolve, reject) => {
    const errfile = `/tmp/failsmall-pipe-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const p = spawn('bash', ['-c', `${script}; rm -f "$ERRFILE"`], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ERRFILE: errfile }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${args.join(' ')} | ${reader} did not end: ${out}`)); }, 60_000);
    p.once('close', () => {
      clearTimeout(timer);
      const m = /^exit=(\d+)$/m.exec(out);
      if (!m || m.index === undefined) { reject(new Error(`no exit status: ${out}`)); return; }
      resolve({ code: Number(m[1]), stdout: out.slice(0, m.index), stderr: out.slice(m.index + m[0].length + 1) });
    });
  });
}

test('rollout status ID | head -1, and with the reader gone before the first write: exit 0, no stack trace', { timeout: 120_000 }, async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
  await call(s.url, 'POST', '/v1/nodes/register', { token: s.admin, json: { id: 'n1', labels: {}, modules: [] } });
  const started = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
  const id = (started.body.rollout?.id ?? 'r-none') as string;
  const args = ['rollout', 'status', id, '--server', s.url, '--token', s.admin];

  const head = await pipeline(CLI_BIN, args, 'head -1');
  assert.equal(head.code, 0, head.stderr);
  assert.equal(head.stdout.split('\n').filter(Boolean).length, 1, head.stdout);
  assert.equal(head.stderr, '', 'nothing on stderr');

  const gone = await pipeline(CLI_BIN, args, 'head -c 0');
  assert.equal(gone.code, 0, gone.stderr);
  assert.doesNotMatch(gone.stderr, /EPIPE|\n\s+at /);
});

test('failsmall-agent --help | head -c 0: exit 0, no stack trace', { timeout: 60_000 }, async () => {
  const gone = await pipeline(AGENT_BIN, ['--help'], 'head -c 0');
  assert.equal(gone.code, 0, gone.stderr);
  assert.doesNotMatch(gone.stderr, /EPIPE|\n\s+at /);
});
