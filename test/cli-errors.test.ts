/**
 * What a user sees when the control plane says no: a refused token is named as one (CLI exit 6,
 * the agent stops with exit 6 instead of retrying), and a schema error names the field, the value
 * sent and the values allowed. Real server, real processes (docs/cli.md, docs/agent.md).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { call, DECLARATIONS, testServer } from '../packages/server/test/fixtures.ts';
import { Child, runCli } from './helpers/procs.ts';

const AGENT_BIN = fileURLToPath(new URL('../packages/cli/bin/failsmall-agent.js', import.meta.url));
const TOKEN_REFUSED = 6;

test('incident status with a value outside the enum: the field, the value and the allowed values, no validator wording', { timeout: 60_000 }, async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  const opened = await call(s.url, 'POST', '/v1/incidents', { token: s.admin, json: { title: 'checkout slow' } });
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  const id = opened.body.incident.id as string;

  // The server's body carries the enum's values in a documented field (docs/api.md).
  const raw = await call(s.url, 'POST', `/v1/incidents/${id}/status`, { token: s.admin, json: { status: 'closed' } });
  assert.equal(raw.status, 400);
  assert.deepEqual(raw.body.error.details.issues[0], { ...raw.body.error.details.issues[0], field: 'status', value: 'closed', allowed: ['open', 'investigating', 'mitigated', 'resolved'] });

  const r = await runCli(['incident', 'status', id, 'closed', '--server', s.url, '--token', s.admin]);
  assert.equal(r.code, 1, r.child.describe());
  assert.equal(r.stderr, 'failsmall: bad value for status: "closed" (allowed: open, investigating, mitigated, resolved)\n');
});

test('the CLI names 401 and 403 as token problems and exits 6', { timeout: 60_000 }, async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  const wrong = await runCli(['incident', 'list', '--server', s.url, '--token', 'not-a-token']);
  assert.equal(wrong.code, TOKEN_REFUSED, wrong.child.describe());
  assert.match(wrong.stderr, /^error: the token was refused: unknown or revoked token \[UNAUTHENTICATED\]\n {2}hint: .*check FAILSMALL_TOKEN \/ FAILSMALL_TOKEN_FILE/);

  const viewer = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'ann', role: 'viewer' } })).body.token as string;
  const forbidden = await runCli(['incident', 'open', '--title', 'x', '--server', s.url, '--token', viewer]);
  assert.equal(forbidden.code, TOKEN_REFUSED, forbidden.child.describe());
  assert.match(forbidden.stderr, /the token was refused: a viewer token cannot do this: it needs the deployer role \[FORBIDDEN\]/);
  assert.doesNotMatch(forbidden.stderr, /\n\s+at /, 'no stack trace');
});

for (const bin of ['failsmall agent', 'failsmall-agent'] as const) {
  test(`${bin} with a wrong token stops with exit 6 and says so, instead of retrying as if unreachable`, { timeout: 60_000 }, async (t) => {
    const s = await testServer();
    t.after(() => s.cleanup());
    const args = ['--server', s.url, '--token', 'wrong-token', '--node-id', 'n1', '--dir', join(s.dir, 'agent'), '--poll-wait', '1000'];
    const started = Date.now();
    const exit = bin === 'failsmall agent' ? await runAgentCli(args) : await runAgentBundle(args);
    assert.equal(exit.code, TOKEN_REFUSED, exit.output);
    assert.ok(Date.now() - started < 15_000, `exited after ${Date.now() - started} ms`);
    assert.match(exit.output, /the token was refused: .*HTTP 401 UNAUTHENTICATED: unknown or revoked token.*check FAILSMALL_TOKEN/);
    assert.doesNotMatch(exit.output, /unreachable|retrying/);
  });
}

async function runAgentCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = new Child(['agent', ...args]);
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 30_000);
  const exit = await child.exited;
  clearTimeout(timer);
  return { code: exit.code, output: child.describe() };
}

/** The lean bundle nodes run (npm ci builds it). */
async function runAgentBundle(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

test('EMPTY_COHORT names break-glass pins when they are what emptied the stage, and how to lift them', { timeout: 60_000 }, async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["a"]' });
  const pin = { artifact: 'features', action: 'lkg', version: 'v0', state: 'serving', operator: 'alice', reason: 'bad file', nonce: 'n-1', since: '2026-12-06T00:00:00Z' };
  const reg = await call(s.url, 'POST', '/v1/nodes/register', { token: s.admin, json: { id: 'n1', labels: {}, modules: [], pins: [pin] } });
  assert.ok(reg.status < 300, JSON.stringify(reg.body));

  const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'EMPTY_COHORT');
  assert.match(r.body.error.message, /pinned by break-glass on features \(n1\)/);
  assert.match(r.body.error.hint, /failsmall breakglass unpin features/);
  assert.doesNotMatch(r.body.error.hint, /register nodes first/);

  const cli = await runCli(['rollout', 'start', 'features', 'v1', '--server', s.url, '--token', s.admin]);
  assert.equal(cli.code, 1, cli.child.describe());
  assert.match(cli.stderr, /pinned by break-glass on features \(n1\)[^\n]*\[EMPTY_COHORT\]\n {2}hint: lift the pins/);
});

test('failsmall-agent with a person\'s token (a viewer\'s) stops with exit 6 before it asks the control plane anything', { timeout: 60_000 }, async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  const viewer = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'ann', role: 'viewer' } })).body.token as string;
  const exit = await runAgentBundle(['--server', s.url, '--token', viewer, '--node-id', 'n1', '--dir', join(s.dir, 'agent'), '--poll-wait', '1000']);
  assert.equal(exit.code, TOKEN_REFUSED, exit.output);
  assert.match(exit.output, /the token from --token is a viewer token: an agent runs with a join or agent token \[NOT_AN_AGENT_TOKEN\]/);
  assert.equal((await call(s.url, 'GET', '/v1/nodes', { token: s.admin })).body.nodes.length, 0, 'nothing registered');
});
