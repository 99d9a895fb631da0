/**
 * Issue 14, found item 3: an operator's shell exports FAILSMALL_TOKEN(_FILE) for the admin CLI, and
 * an agent started from it once ran with the admin token. The agent reads its own variables first,
 * and refuses a person's token whatever its source.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CliError } from '../packages/cli/src/client.ts';
import { EXIT } from '../packages/cli/src/exit-codes.ts';
import { resolveAgentToken } from '../packages/cli/src/token-source.ts';

const ADMIN = `fs_admin_${'a'.repeat(32)}`;
const JOIN = `fs_join_${'j'.repeat(32)}`;
const AGENT = `fs_agent_${'g'.repeat(32)}`;
const HOME = mkdtempSync(join(tmpdir(), 'failsmall-agent-token-'));
test.after(() => rmSync(HOME, { recursive: true, force: true }));

test('the agent prefers FAILSMALL_AGENT_TOKEN, then FAILSMALL_AGENT_TOKEN_FILE, over the admin CLI\'s variables', () => {
  assert.equal(resolveAgentToken(undefined, { HOME, FAILSMALL_TOKEN: ADMIN, FAILSMALL_AGENT_TOKEN: JOIN }), JOIN);
  const file = join(HOME, 'agent-token');
  writeFileSync(file, `${AGENT}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  assert.equal(resolveAgentToken(undefined, { HOME, FAILSMALL_TOKEN: ADMIN, FAILSMALL_AGENT_TOKEN_FILE: file }), AGENT);
  assert.equal(resolveAgentToken(JOIN, { HOME, FAILSMALL_AGENT_TOKEN: AGENT }), JOIN, 'the flag wins');
  assert.equal(resolveAgentToken(undefined, { HOME, FAILSMALL_TOKEN: AGENT }), AGENT, 'FAILSMALL_TOKEN still works for an agent token');
  assert.equal(resolveAgentToken(undefined, { HOME }), undefined);
});

test('a person\'s token is refused with the variable it came from and exit 6, whatever the source', () => {
  const refused = (env: NodeJS.ProcessEnv, flag?: string) => {
    try { resolveAgentToken(flag, { HOME, ...env }); } catch (err) { return err; }
    return undefined;
  };
  const fromEnv = refused({ FAILSMALL_TOKEN: ADMIN });
  assert.ok(fromEnv instanceof CliError);
  assert.equal(fromEnv.code, 'NOT_AN_AGENT_TOKEN');
  assert.equal(fromEnv.exitCode, EXIT.TOKEN_REFUSED);
  assert.match(fromEnv.message, /from FAILSMALL_TOKEN is an admin token/);
  assert.match(fromEnv.hint ?? '', /--role join/);
  for (const role of ['deployer', 'approver', 'viewer', 'ingest']) {
    const err = refused({}, `fs_${role}_${'x'.repeat(32)}`);
    assert.ok(err instanceof CliError && err.message.includes(`from --token is a ${role} token`), role);
  }
});
