/**
 * Issue 11, items 3 and 8: only signed (or node-local) bytes reach a module, and the control
 * plane runs only the validator commands of its own configuration.
 * - a safe default is signed at apply (or offline) and checked by the agent before it is written;
 *   one edited in the database is never written, by the loader or by the kill switch;
 * - a declaration cannot make the control plane run a command; the configured one runs with a
 *   bare environment;
 * - a control plane with only a verify key refuses unsigned pushes; `artifact sign` and
 *   `artifact sign-default` sign offline.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Agent } from '@failsmall/agent';
import { parsePublicKey, verifySafeDefault } from '@failsmall/core';
import { call, DECLARATIONS, testServer, waitFor } from '../packages/server/test/fixtures.ts';

/** Rolls `version` of features out to the given agents and waits until they all serve it. */
async function rollOut(url: string, admin: string, agents: readonly Agent[], version: string): Promise<void> {
  await waitFor('every agent registered', async () => (await call(url, 'GET', '/v1/nodes', { token: admin })).body.nodes.length === agents.length || undefined);
  const r = await call(url, 'POST', '/v1/rollouts', { token: admin, json: { artifact: 'features', version } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await waitFor(`${version} to complete`, async () => (await call(url, 'GET', `/v1/rollouts/${r.body.rollout.id}`, { token: admin })).body.rollout.status === 'completed');
  await waitFor(`every agent on ${version}`, async () => agents.every((x) => x.serving().features === version) || undefined);
}

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'packages', 'cli', 'bin', 'failsmall.js');
const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const FAIL_OPEN = DECLARATIONS.replace('bot-management: { on_load_failure: serve-stale }', 'bot-management: { on_load_failure: fail-open, safe_default: "[]" }');
const actor = { operator: 'alice', reason: 'drill of the kill switch', nonce: 'n-0123456789abcdef' };

test('a safe default is signed at apply, and the agent writes it on the kill switch', async (t) => {
  const s = await testServer();
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: FAIL_OPEN } })).status, 200);
  const modules = (await call(s.url, 'GET', '/v1/modules', { token: s.admin })).body.modules as { name: string; safe_default?: string; safe_default_signature?: string }[];
  const bot = modules.find((m) => m.name === 'bot-management');
  const key = parsePublicKey(s.publicKey);
  assert.ok(key.ok && bot?.safe_default_signature);
  assert.deepEqual(verifySafeDefault(key.key, 'bot-management', '[]', bot.safe_default_signature), { ok: true });
  // Signed for this module only: the same bytes under another module's name do not verify.
  assert.equal(verifySafeDefault(key.key, 'proxy', '[]', bot.safe_default_signature).ok, false);

  assert.equal((await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' })).status, 201);
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  const a = new Agent({ server: s.url, token, nodeId: 'n1', labels: {}, modules: ['bot-management'], dir: join(s.dir, 'n1'), metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: s.publicKey });
  agents.push(a);
  await a.start();
  await rollOut(s.url, s.admin, agents, 'v1');
  const killed = await a.breakglass.killSwitch('bot-management', actor);
  assert.equal(killed.ok, true, JSON.stringify(killed));
  assert.equal(readFileSync(join(s.dir, 'n1', 'features'), 'utf8'), '[]');
});

test('a safe default edited in the database is never written into the module', async (t) => {
  const first = await testServer();
  const keyFile = join(first.dir, 'artifact.key');
  const dbFile = join(first.dir, 'fs.db');
  assert.equal((await call(first.url, 'POST', '/v1/apply', { token: first.admin, json: { text: FAIL_OPEN } })).status, 200);
  assert.equal((await call(first.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: first.admin, body: '["one"]' })).status, 201);
  const token = (await call(first.url, 'POST', '/v1/tokens', { token: first.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  await first.close();

  // An attacker with write access to the store swaps the safe default's bytes and keeps the signature.
  const db = new Database(dbFile);
  const row = db.prepare("SELECT spec FROM declarations WHERE kind = 'module' AND name = 'bot-management'").get() as { spec: string };
  const spec = JSON.parse(row.spec) as { safe_default: string; safe_default_signature: string };
  assert.ok(spec.safe_default_signature);
  db.prepare("UPDATE declarations SET spec = ? WHERE kind = 'module' AND name = 'bot-management'").run(JSON.stringify({ ...spec, safe_default: '["attacker-rule"]' }));
  db.close();

  const s = await testServer({ store: dbFile, signingKeyFile: keyFile });
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.close(); rmSync(first.dir, { recursive: true, force: true }); });
  const warnings: string[] = [];
  const a = new Agent({
    server: s.url, token, nodeId: 'n1', labels: {}, modules: ['bot-management'], dir: join(first.dir, 'n1'), metricsIntervalMs: 100, pollWaitMs: 1000,
    publicKey: first.publicKey, log: { info: () => {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
  });
  agents.push(a);
  await a.start();
  await rollOut(s.url, first.admin, agents, 'v1');
  assert.equal(readFileSync(join(first.dir, 'n1', 'features'), 'utf8'), '["one"]');
  assert.ok(warnings.some((w) => /safe default of bot-management is not signed by the trusted artifact key/.test(w)), warnings.join('\n'));

  const killed = await a.breakglass.killSwitch('bot-management', actor);
  assert.equal(killed.ok, false);
  assert.equal(killed.ok === false && killed.code, 'NO_SAFE_DEFAULT');
  assert.match(killed.ok === false ? killed.message : '', /not signed by the trusted artifact key/);
  assert.equal(readFileSync(join(first.dir, 'n1', 'features'), 'utf8'), '["one"]', 'the module keeps what it served');

  const drill = await a.breakglass.drill('bot-management');
  assert.equal(drill.ok && drill.drill?.[0]?.kill_switch.ok, false);

  // The node's own file is trusted as is: with --safe-default the kill switch works again.
  const b = new Agent({
    server: s.url, token, nodeId: 'n2', labels: {}, modules: ['bot-management'], dir: join(first.dir, 'n2'), metricsIntervalMs: 100, pollWaitMs: 1000,
    publicKey: first.publicKey, safeDefaults: { 'bot-management': '["local"]' },
  });
  agents.push(b);
  await b.start();
  await waitFor('n2 on v1', async () => b.serving().features === 'v1' || undefined);
  const local = await b.breakglass.killSwitch('bot-management', actor);
  assert.equal(local.ok, true, JSON.stringify(local));
  assert.equal(readFileSync(join(first.dir, 'n2', 'features'), 'utf8'), '["local"]');
});

test('apply refuses a safe default whose signature does not verify, with its line and column', async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  const forged = `${'A'.repeat(86)}==`;
  const text = FAIL_OPEN.replace('safe_default: "[]" }', `safe_default: "[]", safe_default_signature: "${forged}" }`);
  const r = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text, file: 'failsmall.yaml' } });
  assert.equal(r.status, 400);
  const e = r.body.error.details.errors[0];
  assert.equal(e.code, 'BAD_SIGNATURE');
  assert.equal(e.file, 'failsmall.yaml');
  assert.equal(e.line, 3);
  assert.ok(e.col > 1);
  assert.equal((await call(s.url, 'GET', '/v1/modules', { token: s.admin })).body.modules.length, 0, 'nothing was applied');
});

test('validator commands come from the server\'s configuration, and run without its environment', async (t) => {
  process.env.FAILSMALL_TEST_SECRET = 'hunter2';
  const s = await testServer({ validators: { features: 'test -z "$FAILSMALL_TEST_SECRET" && grep -qv DROP' } });
  t.after(async () => { delete process.env.FAILSMALL_TEST_SECRET; await s.cleanup(); });
  // A declaration that asks the control plane to run a command of its own choosing is refused.
  const evil = DECLARATIONS.replace('validation: { max_entries: 200, max_bytes: 65536 }', 'validation: { max_entries: 200, max_bytes: 65536, command: "touch /tmp/pwned-by-apply" }');
  const refused = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: evil, file: 'evil.yaml' } });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.details.errors[0].code, 'VALIDATOR_NOT_CONFIGURED');
  assert.equal(refused.body.error.details.errors[0].line, 10);
  assert.equal(existsSync('/tmp/pwned-by-apply'), false);
  // Declaring the configured command is fine; so is declaring none: the configured one runs either way.
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  const ok = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  const bad = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: '["DROP"]' });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.body.error.details.problems.map((p: { code: string }) => p.code), ['COMMAND']);
});

test('offline signing: a control plane with only the verify key refuses unsigned pushes; artifact sign and sign-default sign where the key is', async (t) => {
  const keyed = await testServer();
  const pub = join(keyed.dir, 'artifact.pub');
  writeFileSync(pub, keyed.publicKey);
  const keyFile = join(keyed.dir, 'artifact.key');
  await keyed.close();
  const s = await testServer({ store: join(keyed.dir, 'offline.db'), signingKeyFile: undefined, verifyKeyFile: pub });
  t.after(async () => { await s.close(); rmSync(keyed.dir, { recursive: true, force: true }); });
  // Unsigned safe default: applied, with a warning that agents will not write it.
  const applied = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: FAIL_OPEN } });
  assert.equal(applied.status, 200);
  assert.ok(applied.body.warnings.some((w: { code: string }) => w.code === 'UNSIGNED_SAFE_DEFAULT'));

  const unsigned = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
  assert.equal(unsigned.status, 422);
  assert.equal(unsigned.body.error.code, 'UNSIGNED');

  const content = join(keyed.dir, 'v1.json');
  writeFileSync(content, '["one"]');
  const signed = await cli(['artifact', 'sign', 'features', content, '--version', 'v1', '--key', keyFile]);
  assert.equal(signed.code, 0, signed.stderr);
  const pushed = await cli(['artifact', 'push', 'features', content, '--version', 'v1', '--signature', signed.stdout.trim(), '--server', s.url], { FAILSMALL_TOKEN: s.admin });
  assert.equal(pushed.code, 0, pushed.stderr);
  const versions = (await call(s.url, 'GET', '/v1/artifacts/features', { token: s.admin })).body.versions as { version: string; signature: string }[];
  assert.equal(versions[0]?.signature, signed.stdout.trim());

  const defaultFile = join(keyed.dir, 'default.txt');
  writeFileSync(defaultFile, '[]');
  const line = await cli(['artifact', 'sign-default', 'bot-management', defaultFile, '--key', keyFile]);
  assert.equal(line.code, 0, line.stderr);
  assert.match(line.stdout, /^safe_default_signature: [A-Za-z0-9+/]{86}==\n$/);
  const text = FAIL_OPEN.replace('safe_default: "[]" }', `safe_default: "[]", ${line.stdout.trim()} }`);
  const again = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text } });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.warnings.some((w: { code: string }) => w.code === 'UNSIGNED_SAFE_DEFAULT'), false);
});
