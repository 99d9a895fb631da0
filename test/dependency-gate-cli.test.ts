/**
 * The dependency gate as a user meets it, with real processes: `failsmall serve`,
 * `artifact push --manifest` (YAML from examples/manifests, a refused file with
 * file:line:col), `rollout start` refused with DEPENDENCY_GATE (exit 1, each finding on
 * its own line, --json with the findings); `rollout approve` by a second person with their
 * own token; then `rollout start --override-dependency-gate`, and `rollout status` showing who
 * approved it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT } from '../packages/cli/src/exit-codes.ts';
import { Api, REPO_ROOT, runCli, startServe, type Served } from './helpers/procs.ts';

const DECLARATIONS = [
  'modules: { bot-management: { on_load_failure: serve-stale } }',
  'artifacts: { features: { kind: feature-file, module: bot-management, policy: at-once } }',
  'policies: { at-once: { stages: [ { name: all, scope: 100% nodes, health_gates: [] } ] } }',
].join('\n');

function show(r: { code: number | null; stdout: string; stderr: string }): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

test('failsmall CLI: the dependency gate refuses a new hard dependency, and a second person approves it with their own token', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'failsmall-gate-'));
  let server: Served | undefined;
  t.after(async () => {
    await server?.child.stop();
    await rm(dir, { recursive: true, force: true });
  });
  assert.equal((await runCli(['keys', 'init', '--dir', join(dir, 'keys')], { cwd: dir })).code, EXIT.OK);
  server = await startServe({ store: join(dir, 'fs.db'), port: 0, cwd: dir, signingKey: join(dir, 'keys', 'artifact.key') });
  const admin = server.adminToken ?? '';
  const env = { FAILSMALL_SERVER: server.url, FAILSMALL_TOKEN: admin };
  const cli = (args: string[]) => runCli(args, { env, cwd: REPO_ROOT });

  await writeFile(join(dir, 'failsmall.yaml'), DECLARATIONS);
  await writeFile(join(dir, 'features.json'), '["a"]');
  await writeFile(join(dir, 'bad-manifest.yaml'), 'depends_on:\n  - { on: bot-check, hard: yes }\n');
  await writeFile(join(dir, 'accents.yaml'), 'depends_on:\n  - { on: session-store, hard: false, fallback: "réponses en cache — lecture seule" }\n');
  assert.equal((await cli(['apply', join(dir, 'failsmall.yaml')])).code, EXIT.OK);
  const { token } = await new Api(server.url, admin).post<{ token: string }>('/v1/tokens', { name: 'fleet', role: 'join' });
  await new Api(server.url, token).post('/v1/nodes/register', { id: 'n0', labels: {}, modules: ['bot-management'] });

  // ── push: a bad manifest is refused here, with its position; a good one is stored ──
  const bad = await cli(['artifact', 'push', 'features', join(dir, 'features.json'), '--version', 'v1', '--manifest', join(dir, 'bad-manifest.yaml')]);
  assert.equal(bad.code, EXIT.INVALID, show(bad));
  assert.match(bad.stderr, /bad-manifest\.yaml:2:\d+: hard must be true or false, got the string "yes" \[WRONG_TYPE\]\n  hint: .*yes\/no are strings/);

  const v1 = await cli(['artifact', 'push', 'features', join(dir, 'features.json'), '--version', 'v1']);
  assert.equal(v1.code, EXIT.OK, show(v1));
  assert.match(v1.stdout, /manifest: none/);
  const v2 = await cli(['artifact', 'push', 'features', join(dir, 'features.json'), '--version', 'v2', '--manifest', 'examples/manifests/hard-dependency.yaml']);
  assert.equal(v2.code, EXIT.OK, show(v2));
  assert.match(v2.stdout, /manifest: depends on bot-check \(hard\), session-store \(soft: read-only cached sessions\)/);
  const accents = await cli(['artifact', 'push', 'features', join(dir, 'features.json'), '--version', 'v-accents', '--manifest', join(dir, 'accents.yaml'), '--json']);
  assert.equal(accents.code, EXIT.OK, show(accents));
  assert.equal(JSON.parse(accents.stdout).version.manifest.depends_on[0].fallback, 'réponses en cache — lecture seule', 'non-ASCII fallbacks survive the header');

  // ── start: refused, with each finding and the way past it ──
  const refused = await cli(['rollout', 'start', 'features', 'v2']);
  assert.equal(refused.code, EXIT.INVALID, show(refused));
  assert.match(refused.stderr, /^error: dependency gate refused features \(none\) → v2 \[DEPENDENCY_GATE\]\n  bot-check \(new-hard-dependency\): adds a hard dependency on bot-check/);
  assert.match(refused.stderr, /hint: .*failsmall rollout approve features v2 --reason TEXT\), then start it with --override-dependency-gate/);
  assert.doesNotMatch(refused.stderr, /session-store \(/, 'a soft dependency with a fallback is not a finding');
  const refusedJson = await cli(['rollout', 'start', 'features', 'v2', '--json']);
  assert.equal(refusedJson.code, EXIT.INVALID);
  const body = JSON.parse(refusedJson.stdout) as { ok: boolean; error: { code: string; findings: { dependency: string; kind: string }[] } };
  assert.deepEqual([body.ok, body.error.code, body.error.findings.map((f) => f.dependency)], [false, 'DEPENDENCY_GATE', ['bot-check']]);

  // ── the flag alone is not enough: someone else must approve, with their own token ──
  const none = await cli(['rollout', 'start', 'features', 'v2', '--override-dependency-gate']);
  assert.equal(none.code, EXIT.INVALID, show(none));
  assert.match(none.stderr, /^error: features v2 cannot pass the dependency gate: no approval is on record for this version \[NO_APPROVAL\]\n  bot-check \(new-hard-dependency\)/);
  assert.match(none.stderr, /hint: ask someone else to review the new dependencies and run, with their own token: failsmall rollout approve features v2 --reason TEXT/);
  const noReason = await cli(['rollout', 'approve', 'features', 'v2']);
  assert.equal(noReason.code, EXIT.USAGE, show(noReason));
  const mine = await cli(['rollout', 'approve', 'features', 'v2', '--reason', 'I checked it myself']);
  assert.equal(mine.code, EXIT.OK, show(mine));
  const self = await cli(['rollout', 'start', 'features', 'v2', '--override-dependency-gate']);
  assert.equal(self.code, EXIT.INVALID, show(self));
  assert.match(self.stderr, /SELF_APPROVAL/);

  const { token: aliceToken } = await new Api(server.url, admin).post<{ token: string }>('/v1/tokens', { name: 'alice', role: 'admin' });
  const approved = await runCli(['rollout', 'approve', 'features', 'v2', '--reason', 'bot-check is in every colo (CHG-42)', '--expires', '2h'], { env: { ...env, FAILSMALL_TOKEN: aliceToken }, cwd: REPO_ROOT });
  assert.equal(approved.code, EXIT.OK, show(approved));
  assert.match(approved.stdout, /approved features \(none\) → v2 past the dependency gate as alice \(a-[0-9a-f]+\)/);
  assert.match(approved.stdout, /someone other than alice can now start it once: failsmall rollout start features v2 --override-dependency-gate/);

  // ── bob starts it with alice's approval, which is now spent and on the record ──
  const { token: bobToken } = await new Api(server.url, admin).post<{ token: string }>('/v1/tokens', { name: 'bob', role: 'admin' });
  const started = await runCli(['rollout', 'start', 'features', 'v2', '--override-dependency-gate', '--json'], { env: { ...env, FAILSMALL_TOKEN: bobToken }, cwd: REPO_ROOT });
  assert.equal(started.code, EXIT.OK, show(started));
  const id = (JSON.parse(started.stdout) as { rollout: { id: string } }).rollout.id;
  const status = await cli(['rollout', 'status', id]);
  assert.equal(status.code, EXIT.OK, show(status));
  assert.match(status.stdout, /dependency gate overridden: approved by alice \(a-[0-9a-f]+\), started by bob: "bot-check is in every colo \(CHG-42\)" \(bot-check: new-hard-dependency\)/);
  const listed = await cli(['rollout', 'approvals', '--artifact', 'features']);
  assert.equal(listed.code, EXIT.OK, show(listed));
  assert.match(listed.stdout, new RegExp(`features \\(none\\) → v2  by alice  used by ${id}`));
  assert.match(listed.stdout, /features \(none\) → v2  by admin  unused/);
});
