// `failsmall --version` / `-V`, from the bundle the checkout runs (bin/failsmall.js) and from the
// sources, and the program's --version must not swallow `artifact push --version <label>`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli, REPO_ROOT } from './helpers/procs.ts';

const VERSION = (JSON.parse(readFileSync(`${REPO_ROOT}packages/cli/package.json`, 'utf8')) as { version: string }).version;

for (const [label, env] of [['bundle', {}], ['sources (tsx)', { FAILSMALL_FROM_SOURCE: '1' }]] as const) {
  test(`failsmall --version and -V print the package version (${label})`, async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), VERSION);
    }
  });
}

test('artifact push keeps its own --version <label>', async () => {
  const r = await runCli(['artifact', 'push', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /--version <label>/);
  // The label reaches push (which then fails on the missing file), not the program's --version.
  const push = await runCli(['artifact', 'push', 'x', '/nonexistent/file', '--version', 'v1', '--server', 'http://127.0.0.1:9']);
  assert.notEqual(push.stdout.trim(), VERSION);
  assert.notEqual(push.code, 0);
  assert.doesNotMatch(push.stderr, /\n\s+at /, 'a typed error, not a stack trace');
});
