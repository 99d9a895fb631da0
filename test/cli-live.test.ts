/**
 * The live view and the commands around it, as a user runs them: a control plane and four
 * agents, the real `failsmall` binary. A piped `rollout watch` prints one line per change; on a
 * terminal (a pseudo-terminal made by script(1)) it redraws a frame in place. Then `rollout
 * list`, `retry`, `undo`, `artifact versions` and `events` (filtered, --follow), each with a
 * refusal that says what was wrong and exits as docs/cli.md says.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { Agent } from '@failsmall/agent';
import { EXIT } from '../packages/cli/src/exit-codes.ts';
import { call, testServer } from '../packages/server/test/fixtures.ts';
import { featureFleet } from '../packages/server/test/feature-fleet.ts';
import { CLI_BIN, Child, REPO_ROOT, runCli, waitFor } from './helpers/procs.ts';

interface Listed { id: string; status: string; to_version: string }

function show(r: { code: number | null; stdout: string; stderr: string }): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}

const idOf = (stdout: string) => /rollout (r-[0-9a-f]{10}):/.exec(stdout)?.[1] ?? '';

/** Runs the CLI on a pseudo-terminal (script -qfec), as a person at a terminal would. */
function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, CLI_BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qfec', command, '/dev/null'], { cwd: REPO_ROOT, env: { ...process.env, ...env, COLUMNS: '120', LINES: '40' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`script ${command} did not end:\n${output}`)); }, 60_000);
    p.once('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

test('live view, rollout list, retry, undo, artifact versions and events, through the real CLI', { timeout: 300_000 }, async (t) => {
  const s = await testServer();
  let agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  agents = await featureFleet(s, { bad: ['v2'], nodes: ['n1', 'n2', 'n3', 'n4'] });
  assert.equal((await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v3', { token: s.admin, body: '["three"]' })).status, 201);
  const env = { FAILSMALL_SERVER: s.url, FAILSMALL_TOKEN: s.admin };
  const cli = (args: string[]) => runCli(args, { env, timeoutMs: 120_000 });

  let v1 = '';
  await t.test('a piped watch prints one line per change: no gate line repeated every evaluation', async () => {
    const r = await cli(['rollout', 'start', 'features', 'v1', '--reason', 'first ship (CHG-1)', '--watch']);
    assert.equal(r.code, EXIT.OK, show(r));
    v1 = idOf(r.stdout);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /started by admin: first ship \(CHG-1\)$/, show(r));
    assert.match(r.stdout, /completed at stage global/);
    assert.match(r.stdout, /^finished: r-[0-9a-f]+ .* completed at stage global/m);
    // Two stages, a gate each: the gates are evaluated every 200 ms, but each verdict is said once per stage.
    assert.equal(new Set(lines).size, lines.length, `a line repeated:\n${r.stdout}`);
    assert.ok(lines.length <= 14, `${lines.length} lines for one short rollout:\n${r.stdout}`);
    assert.equal(lines.filter((l) => /^ {4}pass {2}/.test(l)).length, 2, r.stdout);
    assert.doesNotMatch(r.stdout, /\x1b\[/, 'no cursor movement when piped');
  });

  let v2 = '';
  await t.test('rollout retry starts a rolled-back rollout again under its policy, and says so; a completed one is refused', async () => {
    const bad = await cli(['rollout', 'start', 'features', 'v2', '--watch']);
    assert.equal(bad.code, EXIT.ROLLOUT_FAILED, show(bad));
    v2 = idOf(bad.stdout);
    const retried = await cli(['rollout', 'retry', v2, '--reason', 'node n1 rebuilt', '--watch']);
    assert.equal(retried.code, EXIT.ROLLOUT_FAILED, show(retried));
    assert.match(retried.stdout, new RegExp(`features v1 → v2 under policy quick .*started by admin: retry of ${v2} \\(rolled back\\): node n1 rebuilt`), show(retried));
    assert.notEqual(idOf(retried.stdout), v2);

    const refused = await cli(['rollout', 'retry', v1]);
    assert.equal(refused.code, EXIT.INVALID, show(refused));
    assert.match(refused.stderr, /rollout r-[0-9a-f]+ completed: features runs v1 already; there is nothing to retry \[NOT_RETRYABLE\]/);
    assert.match(refused.stderr, /hint: .*failsmall rollout undo/);
  });

  await t.test('rollout undo ARTIFACT goes back to the version before the last completed rollout; undoing a rolled-back one is refused', async () => {
    const v3 = await cli(['rollout', 'start', 'features', 'v3', '--watch']);
    assert.equal(v3.code, EXIT.OK, show(v3));
    const v3id = idOf(v3.stdout);
    const undo = await cli(['rollout', 'undo', 'features', '--reason', 'v3 confuses the bot scores', '--watch']);
    assert.equal(undo.code, EXIT.OK, show(undo));
    assert.match(undo.stdout, new RegExp(`features v3 → v1 under policy quick .*undo of ${v3id} \\(v3 → v1\\): v3 confuses the bot scores`), show(undo));

    const refused = await cli(['rollout', 'undo', v2]);
    assert.equal(refused.code, EXIT.INVALID, show(refused));
    assert.match(refused.stderr, /rollout r-[0-9a-f]+ rolled back: its nodes went back to v1 already; only a completed rollout can be undone \[NOT_UNDOABLE\]/);
    const unknown = await cli(['rollout', 'undo', 'no-such-artifact']);
    assert.equal(unknown.code, EXIT.INVALID, show(unknown));
    assert.match(unknown.stderr, /NOT_FOUND/);
  });

  await t.test('rollout list shows state, stage and age; --state filters; a state that does not exist exits 2', async () => {
    const plain = await cli(['rollout', 'list']);
    assert.equal(plain.code, EXIT.OK, show(plain));
    assert.match(plain.stdout, /^rollout +artifact +versions +state +stage +started +updated +by$/m);
    assert.match(plain.stdout, new RegExp(`^${v1} +features +\\(none\\) → v1 +completed +global 2/2 +\\d+[smh] ago +\\d+[smh] ago +admin$`, 'm'), show(plain));
    assert.match(plain.stdout, new RegExp(`^${v2} +features +v1 → v2 +rolled back +canary 1/2 `, 'm'));
    const rolledBack = await cli(['rollout', 'list', '--state', 'rolled_back', '--json']);
    assert.equal(rolledBack.code, EXIT.OK, show(rolledBack));
    const listed = (JSON.parse(rolledBack.stdout) as { rollouts: Listed[] }).rollouts;
    assert.equal(listed.length, 2);
    assert.ok(listed.every((r) => r.status === 'rolled_back' && r.to_version === 'v2'));
    const bad = await cli(['rollout', 'list', '--state', 'failed']);
    assert.equal(bad.code, EXIT.USAGE, show(bad));
    assert.match(bad.stderr, /argument 'failed' is invalid\. Allowed choices are active, running, paused, rolling_back, completed, rolled_back, aborted/);
  });

  await t.test('artifact versions: each version with its hash, signature and where it is live; an unknown artifact exits 1', async () => {
    const r = await cli(['artifact', 'versions', 'features']);
    assert.equal(r.code, EXIT.OK, show(r));
    // v1 is ["one"]: one entry, pushed by the admin token, signed with the control plane's key, both declared limits passed.
    assert.match(r.stdout, /^v1 +7 B +1 +[0-9a-f]{12} +\d+[smh] ago by admin +sha256:[0-9a-f]{16} \(control plane\) +2 of 2 passed +4\/4 nodes +current$/m, show(r));
    assert.match(r.stdout, /^v2 +\d+ B +300 +.* +max_entries failed +0\/4 nodes +FORCED past its limits$/m, show(r));
    const j = JSON.parse((await cli(['artifact', 'versions', 'features', '--json'])).stdout) as { current_version: string; versions: { version: string; nodes_serving: number; current: boolean }[] };
    assert.equal(j.current_version, 'v1');
    assert.deepEqual(j.versions.map((v) => [v.version, v.nodes_serving, v.current]), [['v3', 0, false], ['v2', 0, false], ['v1', 4, true]]);
    const unknown = await cli(['artifact', 'versions', 'nope']);
    assert.equal(unknown.code, EXIT.INVALID, show(unknown));
    assert.match(unknown.stderr, /\[NOT_FOUND\]/);
  });

  await t.test('events: filtered by rollout and type prefix, newest last; --json lines; a bad --since exits 2', async () => {
    const r = await cli(['events', '--rollout', v1, '--type', 'rollout.']);
    assert.equal(r.code, EXIT.OK, show(r));
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z  #\\d+  rollout\\.started  ${v1}  rollout ${v1}: features \\(none\\) → v1 .*first ship`), r.stdout);
    assert.match(lines.at(-1) ?? '', /rollout\.completed/);
    assert.ok(lines.every((l) => l.includes(`  ${v1}  `) && /  rollout\./.test(l)), r.stdout);
    const j = await cli(['events', '--type', 'gates.evaluated', '--limit', '2', '--json']);
    assert.equal(j.code, EXIT.OK, show(j));
    const evs = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; type: string });
    assert.equal(evs.length, 2);
    assert.ok(evs.every((e) => e.type === 'gates.evaluated') && (evs[0]?.seq ?? 0) < (evs[1]?.seq ?? 0), 'newest last');
    const bad = await cli(['events', '--since', 'yesterday']);
    assert.equal(bad.code, EXIT.USAGE, show(bad));
    assert.match(bad.stderr, /--since yesterday: .*\[BAD_DURATION\]/);
    // Checked by the API's schema: the refusal names the field, the value and what is allowed.
    const badType = await cli(['events', '--type', 'Rollout.*']);
    assert.equal(badType.code, EXIT.INVALID, show(badType));
    assert.match(badType.stderr, /^failsmall: bad value for type: "Rollout\.\*" \(an event type or its prefix: lower-case letters, digits, "_" and "\."\)$/m);
  });

  await t.test('events --follow prints new events as they are written; a terminal watch redraws its frame in place', async () => {
    const follow = new Child(['events', '--follow', '--type', 'rollout.'], { env });
    t.after(() => follow.stop());
    await waitFor('the follower to print the log so far', () => follow.stdout.includes('rollout.completed'), { timeoutMs: 30_000, last: () => follow.describe() });
    const held = await cli(['rollout', 'start', 'features', 'v3', '--policy', 'held', '--json']);
    assert.equal(held.code, EXIT.OK, show(held));
    const id = (JSON.parse(held.stdout) as { rollout: { id: string } }).rollout.id;

    const script = spawnSync('script', ['--version'], { encoding: 'utf8' });
    assert.equal(script.status, 0, 'script(1) from util-linux is needed to test the terminal view');
    const watching = onTerminal(['rollout', 'watch', id], env);
    // The held policy bakes its canary for a minute: the frame is redrawn every second meanwhile.
    await waitFor('the held rollout to bake', async () => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout.phase === 'baking', { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 2500));
    const aborted = await cli(['rollout', 'abort', id, '--reason', 'wrong file']);
    assert.equal(aborted.code, EXIT.OK, show(aborted));
    const tty = await watching;
    assert.equal(tty.code, EXIT.ROLLOUT_FAILED, tty.output);
    assert.match(tty.output, /\x1b\[\d+A\x1b\[J/, `the frame is redrawn in place:\n${JSON.stringify(tty.output.slice(0, 3000))}`);
    assert.match(tty.output, /stages {2}▶ canary {2}· global {2}1\/2 baking \d+(\.\d)?s of 1m/, 'the bake clock runs');
    const finalFrame = tty.output.slice(tty.output.lastIndexOf('\x1b[J'));
    assert.match(finalFrame, new RegExp(`${id}  features v1 → v3  policy held  aborted`), JSON.stringify(finalFrame));
    assert.match(finalFrame, /stages {2}✗ canary {2}· global/);
    assert.match(finalFrame, /aborted: .*wrong file/);
    assert.match(tty.output, new RegExp(`finished: ${id} `));

    await waitFor('the follower to print the new rollout and its abort', () => follow.stdout.includes(`rollout.started  ${id}`) && follow.stdout.includes(`rollout.rolling_back  ${id}  ROLLBACK at stage canary (1 nodes back to v1): aborted by admin: wrong file`) && follow.stdout.includes(`rollout.aborted  ${id}`), { timeoutMs: 30_000, last: () => follow.describe() });
    assert.ok(follow.running, 'the follower keeps running');
  });
});
