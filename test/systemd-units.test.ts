// examples/systemd/*.service, checked by `systemd-analyze verify` (scripts/test.sh installs Debian's
// systemd package when it is missing; without it this test fails, never skips). verify wants each
// ExecStart= binary to exist: the units name /usr/local/bin/…, where `npm install -g --prefix /usr/local`
// puts them, so the test points them at executables it creates. verify only warns (exit 0) on an
// unknown key or a key in the wrong section, so any output at all fails the test.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/procs.ts';

const run = promisify(execFile);
const UNITS = { 'failsmall-server.service': 'failsmall', 'failsmall-agent.service': 'failsmall-agent' } as const;
const INSTALLED_BIN = '/usr/local/bin/';
const tmp = mkdtempSync(join(tmpdir(), 'failsmall-systemd-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const unitText = (name: string) => readFileSync(join(REPO_ROOT, 'examples/systemd', name), 'utf8');

test('systemd-analyze verify accepts both units, without a warning', async () => {
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  const copies: string[] = [];
  for (const [unit, command] of Object.entries(UNITS)) {
    const stub = join(bin, command);
    writeFileSync(stub, '#!/bin/sh\nexit 0\n');
    chmodSync(stub, 0o755);
    const text = unitText(unit);
    assert.ok(text.includes(`ExecStart=${INSTALLED_BIN}${command} `), `${unit} runs ${INSTALLED_BIN}${command}`);
    const copy = join(tmp, unit);
    writeFileSync(copy, text.replaceAll(`ExecStart=${INSTALLED_BIN}`, `ExecStart=${bin}/`));
    copies.push(copy);
  }
  let result: { stdout: string; stderr: string };
  try {
    result = await run('systemd-analyze', ['verify', ...copies], { timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') assert.fail('systemd-analyze is missing: scripts/test.sh installs it (apt-get install -y systemd); run that, or install it yourself');
    assert.fail(`systemd-analyze verify refused the units:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  assert.equal(`${result.stdout}${result.stderr}`.trim(), '', 'systemd-analyze verify printed warnings');
});

for (const unit of Object.keys(UNITS)) {
  test(`${unit}: its own user and state directory, secrets from a file, hardening, restarts`, () => {
    const text = unitText(unit);
    for (const key of [/^User=failsmall/m, /^StateDirectory=failsmall/m, /^EnvironmentFile=-?\/etc\/failsmall\/\S+\.env$/m, /^NoNewPrivileges=yes$/m,
      /^ProtectSystem=strict$/m, /^ReadWritePaths=\/var\/lib\/failsmall/m, /^Restart=(on-failure|always)$/m, /^CapabilityBoundingSet=$/m]) {
      assert.match(text, key);
    }
    // Tokens never on the command line, where ps shows them.
    assert.doesNotMatch(text, /^ExecStart=.*--token/m);
  });
}
