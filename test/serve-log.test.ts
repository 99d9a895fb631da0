import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../packages/agent/src/index.ts';
import { call, DECLARATIONS } from '../packages/server/test/fixtures.ts';
import { Child, CLI_BIN, freePort, runCli, waitFor } from './helpers/procs.ts';

/**
 * The log of `failsmall serve` as an operator's log shipper reads it (issue 14): JSON lines on
 * stderr, each with a level and a message; a start line and a shutdown line; one line per state
 * change (a rollout's start, stages, gate verdicts, completion; tokens; nodes), and none for the
 * agents' long-polls and metrics pushes, however many there are. The banner stays on stdout.
 */

interface Line { level: number; msg: string; event?: string; [k: string]: unknown }

test('serve logs JSON lines: start, one per state change, none per long-poll or metrics push, and shutdown on SIGTERM', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-log-'));
  const port = await freePort();
  const child = new Child(['serve', '--store', join(dir, 'fs.db'), '--port', String(port)], { cwd: dir });
  const agents: Agent[] = [];
  t.after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    if (child.running) child.proc.kill('SIGKILL');
    await child.exited;
    await rm(dir, { recursive: true, force: true });
  });
  const banner = await waitFor('the banner', () => /export FAILSMALL_TOKEN=(\S+)/.exec(child.stdout)?.[1], { timeoutMs: 30_000, last: () => child.describe() });
  const url = `http://127.0.0.1:${port}`;
  const admin = banner;
  const lines = () => child.stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
  const events = (type: string) => lines().filter((l) => l.event === type);

  const started = await waitFor('the start line', () => events('server.started')[0], { last: () => child.describe() });
  assert.equal(started.level, 30);
  assert.equal(started.msg, 'control plane started');
  assert.equal(started.url, url);
  assert.equal(started.store, 'sqlite');
  assert.match(String(started.version), /^\d+\.\d+\.\d+/);
  assert.doesNotMatch(child.stderr, /export FAILSMALL_/, 'the banner is on stdout only');

  const join_ = (await call(url, 'POST', '/v1/tokens', { token: admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  assert.equal((await call(url, 'POST', '/v1/apply', { token: admin, json: { text: DECLARATIONS } })).status, 200);
  for (let i = 0; i < 3; i++) {
    agents.push(new Agent({
      server: url, token: join_, nodeId: `l${i}`, labels: {}, modules: ['bot-management'], dir: join(dir, `agent-${i}`),
      // Short long-polls and frequent pushes: many requests, each of which must stay out of the log.
      metricsIntervalMs: 100, pollWaitMs: 300, allowUnsigned: true, callbacks: { 'bot-management': () => {} },
    }));
  }
  await Promise.all(agents.map((a) => a.start()));
  await waitFor('three nodes', () => events('node.registered').length === 3);
  await call(url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: admin, body: '["good"]' });
  const rollout = (await call(url, 'POST', '/v1/rollouts', { token: admin, json: { artifact: 'features', version: 'v1' } })).body.rollout.id as string;
  let last = '';
  await waitFor('the rollout to complete', async () => {
    const st = (await call(url, 'GET', `/v1/rollouts/${rollout}`, { token: admin })).body.rollout;
    last = JSON.stringify({ status: st.status, stage: st.stage_index, pause: st.pause_reason, verdicts: st.last_verdicts });
    return st.status === 'completed';
  }, { timeoutMs: 60_000, last: () => `${last}\n${child.describe()}` });
  // Keep polling a while after the last change: a dozen more long-polls and dozens of pushes per agent.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await call(url, 'POST', '/v1/tokens/fleet/revoke', { token: admin })).status, 200);
  await waitFor('the revoke line', () => events('token.revoked').length === 1);

  for (const l of lines()) {
    assert.equal(typeof l.level, 'number', JSON.stringify(l));
    assert.equal(typeof l.msg, 'string', JSON.stringify(l));
  }
  const once = ['token.created', 'declarations.applied', 'artifact.version_pushed', 'rollout.started', 'rollout.promoted', 'rollout.completed', 'token.revoked'];
  for (const type of once) assert.equal(events(type).length, 1, `one ${type} line`);
  assert.equal(events('node.registered').length, 3, 'one line per node registered');
  assert.equal(events('rollout.stage_started').length, 2, 'canary and global');
  const verdicts = events('gate.verdict_changed');
  assert.deepEqual(verdicts.map((v) => `${v.gate} ${v.outcome}`), ['bot-management/load_success_rate pass'], 'a gate that passes on every check is one line');
  assert.equal(events('rollout.started')[0]?.rollout, rollout);
  // Nothing about requests: no per-request lines, no long-poll or metrics URL, nothing per node load.
  assert.doesNotMatch(child.stderr, /incoming request|request completed|\/desired|\/metrics|node\.load_reported/);
  const total = lines().length;
  assert.ok(total <= 25, `${total} lines for one rollout on three nodes:\n${child.stderr}`);

  child.proc.kill('SIGTERM');
  const exit = await child.exited;
  assert.equal(exit.code, 0, child.describe());
  const stopping = events('server.stopping')[0];
  const stopped = events('server.stopped')[0];
  assert.equal(stopping?.signal, 'SIGTERM');
  assert.equal(stopped?.signal, 'SIGTERM');
  assert.equal(stopped?.drained, true);
  assert.equal(lines().at(-1)?.event, 'server.stopped', 'the shutdown line is the last');
  assert.match(child.stdout, /failsmall control plane stopped\n$/, 'the banner\'s own last line stays');
});

test('serve --log silent writes no log, and a level that does not exist is a usage error', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bogus = await runCli(['serve', '--store', join(dir, 'fs.db'), '--port', '0', '--log', 'loud'], { cwd: dir });
  assert.equal(bogus.code, 2, bogus.stderr);
  assert.match(bogus.stderr, /--log.*loud.*fatal, error, warn, info, debug, trace, silent/s);

  const port = await freePort();
  const child = new Child(['serve', '--store', join(dir, 'fs.db'), '--port', String(port), '--log', 'silent'], { cwd: dir });
  t.after(async () => { if (child.running) child.proc.kill('SIGKILL'); await child.exited; });
  await waitFor('the banner', () => /export FAILSMALL_TOKEN=/.test(child.stdout), { timeoutMs: 30_000, last: () => child.describe() });
  child.proc.kill('SIGTERM');
  assert.equal((await child.exited).code, 0, child.describe());
  assert.equal(child.stderr, '');
});

test('on a terminal the log is one readable line per entry, not JSON', { timeout: 60_000 }, async (t) => {
  // util-linux's script(1) gives the server a pseudo-terminal for stdout and stderr.
  assert.ok(existsSync('/usr/bin/script'), '/usr/bin/script is missing: apt-get install -y bsdutils');
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-log-'));
  const command = [process.execPath, CLI_BIN, 'serve', '--store', join(dir, 'fs.db'), '--port', '0'].map((a) => `'${a}'`).join(' ');
  const proc = spawn('/usr/bin/script', ['-qfec', command, '/dev/null'], { cwd: dir, detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const closed = new Promise((r) => proc.once('close', r));
  t.after(async () => {
    if (proc.pid !== undefined && proc.exitCode === null) process.kill(-proc.pid, 'SIGTERM');
    await closed;
    await rm(dir, { recursive: true, force: true });
  });
  const line = await waitFor('the pretty start line', () => /^\d\d:\d\d:\d\d\.\d{3} INFO  control plane started event=server\.started url=http:\/\/127\.0\.0\.1:\d+ store=sqlite .*$/m.exec(out)?.[0], { timeoutMs: 30_000, last: () => out });
  assert.doesNotMatch(line, /[{}]/);
  assert.match(out, /export FAILSMALL_TOKEN=/, 'the banner as before');
});
