/**
 * The CLI as a user runs it, with real processes only: `failsmall serve`, a token, four
 * `failsmall agent`s with synthetic traffic and a reload command, `apply`, `artifact push`,
 * `rollout start --watch` of a good version (exit 0) and of a bad one (exit 4, rolled back
 * at the canary), `rollout status --json`, `nodes --json`, ROLLOUT_ACTIVE and `rollout abort`,
 * then the commands that need no fleet: `policy validate`, `demo --once --json`, usage and
 * connection errors with their exit codes.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT } from '../packages/cli/src/exit-codes.ts';
import { Child, runCli, startServe, waitFor, type Served } from './helpers/procs.ts';

const ARTIFACT = 'bot-management-feature-file';
const AGENTS = 4;
/** The module refuses any file that contains BAD, as a real reload command would. */
const RELOAD = 'bot-management=grep -q BAD "$FAILSMALL_FILE" && exit 1 || exit 0';

interface CliRollout {
  id: string;
  status: string;
  phase: string;
  stage_index: number;
  assigned: string[];
  outcome: { stage: string; reason: string; verdict?: { gate: string; status: string; reason: string } } | null;
}
interface CliNode { id: string; loads: { artifact: string; version: string | null; ok: boolean; serving: string | null; error: string | null }[] }

function json<T>(stdout: string, what: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new Error(`${what}: stdout is not one JSON document:\n${stdout.slice(0, 2000)}`);
  }
}

function show(r: { code: number | null; stdout: string; stderr: string }): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}

test('failsmall CLI end to end: serve, agents, apply, push, rollouts good and bad, status, nodes, abort', { timeout: 240_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-e2e-'));
  const children: Child[] = [];
  let server: Served | undefined;
  t.after(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await server?.child.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const keys = await runCli(['keys', 'init', '--dir', join(dir, 'keys'), '--json'], { cwd: dir });
  assert.equal(keys.code, EXIT.OK, show(keys));
  const again = await runCli(['keys', 'init', '--dir', join(dir, 'keys')], { cwd: dir });
  assert.equal(again.code, EXIT.INVALID, 'keys init refuses to overwrite a key');
  assert.match(again.stderr, /KEY_EXISTS/);
  server = await startServe({ store: join(dir, 'fs.db'), port: 0, tickMs: 100, cwd: dir, signingKey: join(dir, 'keys', 'artifact.key') });
  assert.ok(server.adminToken, 'a fresh store prints its admin token');
  const env = { FAILSMALL_SERVER: server.url, FAILSMALL_TOKEN: server.adminToken };
  const cli = (args: string[], timeoutMs?: number) => runCli(args, { env, cwd: dir, ...(timeoutMs ? { timeoutMs } : {}) });
  // Files are named relative to the repo in the user's terms (examples/…), so run those from the repo root.
  const cliInRepo = (args: string[]) => runCli(args, { env });

  // ── token, fleet, declarations, versions ──────────────────────────────────
  const tok = await cli(['token', 'create', '--name', 'fleet', '--role', 'join', '--json']);
  assert.equal(tok.code, EXIT.OK, show(tok));
  const agentToken = json<{ ok: boolean; role: string; token: string }>(tok.stdout, 'token create --json');
  assert.equal(agentToken.role, 'join');
  assert.match(agentToken.token, /\S{16,}/);

  // examples/demo.yaml's error_rate gate needs min_samples 400 in its 5 s window from a one-node
  // canary. An agent records rps × interval per push and the next push starts when the last one
  // ends, so a slow box records less than rps: at 200/s the gate still fills with pushes 750 ms apart.
  for (let i = 1; i <= AGENTS; i++) {
    children.push(new Child([
      'agent', '--node-id', `e2e-node-${i}`, '--labels', `region=${['eu', 'us'][i % 2]},customer_tier=free`,
      '--modules', 'bot-management,proxy', '--dir', join(dir, 'agents', `n${i}`),
      '--metrics-interval', '300', '--synthetic-traffic', '200', '--synthetic-error-rate', '0', '--poll-wait', '5000',
      '--reload', RELOAD, '--public-key', join(dir, 'keys', 'artifact.pub'),
    ], { env: { FAILSMALL_SERVER: server.url, FAILSMALL_TOKEN: agentToken.token }, cwd: dir }));
  }

  const applied = await cliInRepo(['apply', 'examples/demo.yaml']);
  assert.equal(applied.code, EXIT.OK, show(applied));
  assert.match(applied.stdout, new RegExp(`artifact ${ARTIFACT}: created`));
  assert.match(applied.stdout, /policy demo-three-stage: created/);

  await mkdir(join(dir, 'files'), { recursive: true });
  const good = join(dir, 'files', 'features-v1.json');
  const bad = join(dir, 'files', 'features-v2.json');
  const later = join(dir, 'files', 'features-v3.json');
  await writeFile(good, JSON.stringify([{ name: 'feature_a', weight: 0.5 }, { name: 'feature_b', weight: 0.25 }]));
  await writeFile(bad, JSON.stringify([{ name: 'BAD', weight: 1 }, { name: 'BAD', weight: 1 }]));
  await writeFile(later, JSON.stringify([{ name: 'feature_a', weight: 0.5 }, { name: 'feature_c', weight: 0.75 }]));
  for (const [file, version] of [[good, 'v1'], [bad, 'v2'], [later, 'v3']] as const) {
    const pushed = await cli(['artifact', 'push', ARTIFACT, file, '--version', version]);
    assert.equal(pushed.code, EXIT.OK, show(pushed));
    assert.match(pushed.stdout, new RegExp(`${ARTIFACT}@${version}: pushed`));
  }

  await waitFor(`${AGENTS} agents to register`, async () => {
    const r = await cli(['nodes', '--json']);
    return r.code === EXIT.OK && json<{ nodes: CliNode[] }>(r.stdout, 'nodes --json').nodes.length === AGENTS;
  }, { timeoutMs: 60_000, intervalMs: 250, last: () => children.map((c) => (c.running ? '' : c.describe())).join('\n') });

  // ── a good version: watched to completion ─────────────────────────────────
  let goodId = '';
  await t.test('rollout start v1 --watch completes through canary, partial and global (exit 0)', async () => {
    const r = await cli(['rollout', 'start', ARTIFACT, 'v1', '--watch'], 120_000);
    assert.equal(r.code, EXIT.OK, show(r));
    for (const stage of ['canary', 'partial', 'global']) assert.match(r.stdout, new RegExp(`stage ${stage} \\(`), `the watch names stage ${stage}\n${show(r)}`);
    assert.match(r.stdout, /completed at stage global: 4 nodes run the new version/);
    assert.match(r.stdout, /finished: r-[0-9a-f]+ .* completed at stage global/);
    assert.ok(r.stdout.indexOf('stage canary') < r.stdout.indexOf('stage partial') && r.stdout.indexOf('stage partial') < r.stdout.indexOf('stage global'), 'stages in order');
    goodId = /rollout (r-[0-9a-f]+):/.exec(r.stdout)?.[1] ?? '';
    assert.ok(goodId, 'the watch names the rollout id');
  });

  // ── a bad version: refused by the canary's reload command, rolled back ───
  let badId = '';
  await t.test('rollout start v2 --watch of a version the module refuses exits 4 and names the failing gate', async () => {
    const r = await cli(['rollout', 'start', ARTIFACT, 'v2', '--watch'], 120_000);
    assert.equal(r.code, EXIT.ROLLOUT_FAILED, show(r));
    assert.match(r.stdout, /refused it \(apply: reload command exited 1\); it keeps serving its last known-good v1/);
    assert.match(r.stdout, /FAIL {2}bot-management\/load_success_rate: 0 < 0\.999/);
    assert.match(r.stdout, /ROLLBACK at stage canary .*gate bot-management\/load_success_rate on stage canary failed/);
    assert.match(r.stdout, /finished: r-[0-9a-f]+ .* rolled_back at stage canary/);
    assert.doesNotMatch(r.stdout, /stage partial/, 'the bad version never leaves the canary');
    badId = /rollout (r-[0-9a-f]+):/.exec(r.stdout)?.[1] ?? '';
    assert.ok(badId && badId !== goodId);
  });

  await t.test('rollout status ID --json shows rolled_back with the failing verdict', async () => {
    const r = await cli(['rollout', 'status', badId, '--json']);
    assert.equal(r.code, EXIT.OK, show(r));
    const body = json<{ ok: boolean; rollout: CliRollout; cohort: { nodes: number; reported: number; failed_loads: number } }>(r.stdout, 'rollout status --json');
    assert.equal(body.rollout.id, badId);
    assert.equal(body.rollout.status, 'rolled_back');
    assert.equal(body.rollout.outcome?.stage, 'canary');
    assert.equal(body.rollout.outcome?.verdict?.gate, 'bot-management/load_success_rate');
    assert.equal(body.rollout.outcome?.verdict?.status, 'fail');
    assert.deepEqual(body.cohort, { nodes: 1, reported: 1, failed_loads: 1 });
    const goodStatus = json<{ rollout: CliRollout }>((await cli(['rollout', 'status', goodId, '--json'])).stdout, 'rollout status --json');
    assert.equal(goodStatus.rollout.status, 'completed');
  });

  await t.test('nodes --json: every node serves v1; the canary node refused v2', async () => {
    const r = await cli(['nodes', '--json']);
    assert.equal(r.code, EXIT.OK, show(r));
    const { nodes } = json<{ ok: boolean; nodes: CliNode[] }>(r.stdout, 'nodes --json');
    assert.deepEqual(nodes.map((n) => n.id).sort(), Array.from({ length: AGENTS }, (_, i) => `e2e-node-${i + 1}`));
    const refused = nodes.filter((n) => n.loads.some((l) => l.artifact === ARTIFACT && l.version === 'v2'));
    assert.equal(refused.length, 1, 'exactly one node (the 1% canary of 4) tried v2');
    for (const n of nodes) {
      const l = n.loads.find((x) => x.artifact === ARTIFACT);
      assert.ok(l, `${n.id} reported a load`);
      assert.equal(l.serving, 'v1', `${n.id} serves v1`);
      if (l.version === 'v2') { assert.equal(l.ok, false); assert.match(l.error ?? '', /reload command exited 1/); }
      else assert.deepEqual({ version: l.version, ok: l.ok }, { version: 'v1', ok: true });
    }
  });

  // ── one rollout per artifact: ROLLOUT_ACTIVE, then abort ──────────────────
  await t.test('a second rollout start on an artifact with an active rollout exits 1 with ROLLOUT_ACTIVE; abort ends the first', async () => {
    const hold = join(dir, 'hold.yaml');
    await writeFile(hold, [
      'policies:',
      '  hold-for-approval:',
      `    artifact: ${ARTIFACT}`,
      '    interval: 500ms',
      '    bake: 1s',
      '    load_timeout: 5s',
      '    stages:',
      '      - name: canary',
      '        scope: 1% nodes',
      '        approval: manual',
      '        health_gates:',
      '          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 5s }',
      '',
    ].join('\n'));
    const ap = await cli(['apply', hold]);
    assert.equal(ap.code, EXIT.OK, show(ap));

    const first = await cli(['rollout', 'start', ARTIFACT, 'v3', '--policy', 'hold-for-approval', '--json']);
    assert.equal(first.code, EXIT.OK, show(first));
    const held = json<{ ok: boolean; rollout: CliRollout }>(first.stdout, 'rollout start --json').rollout;
    assert.equal(held.status, 'running');

    const second = await cli(['rollout', 'start', ARTIFACT, 'v3']);
    assert.equal(second.code, EXIT.INVALID, show(second));
    assert.match(second.stderr, /\[ROLLOUT_ACTIVE\]/);
    assert.match(second.stderr, new RegExp(`already has rollout ${held.id}`));
    const secondJson = await cli(['rollout', 'start', ARTIFACT, 'v3', '--json']);
    assert.equal(secondJson.code, EXIT.INVALID, show(secondJson));
    assert.equal(json<{ ok: boolean; error: { code: string } }>(secondJson.stdout, 'rollout start --json (refused)').error.code, 'ROLLOUT_ACTIVE');

    // Still active after the refusals: it waits for a human at the canary.
    await waitFor('the held rollout to wait for approval', async () => {
      const s = json<{ rollout: CliRollout }>((await cli(['rollout', 'status', held.id, '--json'])).stdout, 'rollout status --json');
      return s.rollout.status === 'running' && s.rollout.phase === 'awaiting_approval';
    }, { timeoutMs: 60_000, intervalMs: 250 });

    const aborted = await cli(['rollout', 'abort', held.id, '--reason', 'e2e test']);
    assert.equal(aborted.code, EXIT.OK, show(aborted));
    assert.match(aborted.stdout, /^abort: /m);
    let last = '';
    await waitFor(`rollout ${held.id} to end aborted`, async () => {
      const s = json<{ rollout: CliRollout }>((await cli(['rollout', 'status', held.id, '--json'])).stdout, 'rollout status --json');
      last = s.rollout.status;
      return s.rollout.status === 'aborted';
    }, { timeoutMs: 60_000, intervalMs: 250, last: () => last });
    const again = await cli(['rollout', 'abort', held.id]);
    assert.equal(again.code, EXIT.INVALID, `aborting a finished rollout is refused\n${show(again)}`);
    assert.match(again.stderr, /\[ROLLOUT_FINISHED\]/);

    // The canary went back to v1: every node serves v1 again.
    await waitFor('every node to serve v1 after the abort', async () => {
      const { nodes } = json<{ nodes: CliNode[] }>((await cli(['nodes', '--json'])).stdout, 'nodes --json');
      return nodes.length === AGENTS && nodes.every((n) => n.loads.find((l) => l.artifact === ARTIFACT)?.serving === 'v1');
    }, { timeoutMs: 60_000, intervalMs: 250 });
  });

  for (const c of children) assert.ok(c.running, `agent still running at the end\n${c.describe()}`);
});

test('policy validate: the seed policy fails with file:line:col and ALIAS_UNDEFINED (exit 1); examples/failsmall.yaml is valid (exit 0)', { timeout: 60_000 }, async () => {
  const [seed, ok] = await Promise.all([
    runCli(['policy', 'validate', 'examples/seed-policy.yaml']),
    runCli(['policy', 'validate', 'examples/failsmall.yaml']),
  ]);
  assert.equal(seed.code, EXIT.INVALID, show(seed));
  assert.match(seed.stderr, /^examples\/seed-policy\.yaml:21:\d+: .*\[ALIAS_UNDEFINED\]$/m, show(seed));
  assert.match(seed.stderr, /hint: /);
  assert.equal(ok.code, EXIT.OK, show(ok));
  assert.match(ok.stdout, /examples\/failsmall\.yaml: valid/);
});

test('demo --once --json: v1 completes, v2 is rolled back at the canary with its failing gate (exit 0)', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-e2e-demo-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await runCli(['demo', '--once', '--json', '--nodes', '20'], { cwd: dir, timeoutMs: 100_000 });
  assert.equal(r.code, EXIT.OK, show(r));
  const out = json<{ ok: boolean; fleet_nodes: number; nodes_serving_v1: number; rollouts: { final_state: string; stopped_at_stage: string | null; failing_verdict: { gate: string; status: string } | null }[] }>(r.stdout, 'demo --json');
  assert.equal(out.ok, true);
  assert.equal(out.fleet_nodes, 20);
  assert.equal(out.nodes_serving_v1, 20);
  assert.equal(out.rollouts[0]?.final_state, 'completed');
  assert.equal(out.rollouts[1]?.final_state, 'rolled_back');
  assert.equal(out.rollouts[1]?.stopped_at_stage, 'canary');
  assert.equal(out.rollouts[1]?.failing_verdict?.gate, 'bot-management/load_success_rate');
  assert.equal(out.rollouts[1]?.failing_verdict?.status, 'fail');
});

test('usage and connection errors: unknown flag exits 2, an unreachable server exits 3 with a message', { timeout: 60_000 }, async () => {
  const [usage, down] = await Promise.all([
    runCli(['nodes', '--no-such-flag']),
    runCli(['nodes', '--server', 'http://127.0.0.1:1'], { env: { FAILSMALL_TOKEN: 'x' } }),
  ]);
  assert.equal(usage.code, EXIT.USAGE, show(usage));
  assert.match(usage.stderr, /unknown option '--no-such-flag'/);
  assert.equal(down.code, EXIT.UNREACHABLE, show(down));
  assert.match(down.stderr, /cannot reach the control plane at http:\/\/127\.0\.0\.1:1/);
  assert.match(down.stderr, /\[UNREACHABLE\]/);
});
