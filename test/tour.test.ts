/**
 * Issue 14, part 1: the README's tour, run exactly as written by a new user, from an installed
 * failsmall, in a new folder (HOME is a fresh directory, npm's global prefix inside it), against
 * real processes: the control plane, three example apps and three agents on loopback. Every step
 * must exit as its comment says; then the outcomes the comments promise are checked: a completed
 * rollouts, one rolled back at the canary, every node back on v2 (not "stale"), an incident, and a
 * break-glass drill every node answers. The install compiles better-sqlite3 (about 2 minutes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './helpers/procs.ts';
import { readmeTour } from './helpers/readme-tour.ts';

const MARK = '@@failsmall-tour-step';

test('the README tour runs verbatim from an install: a rollout completes, a bad one rolls back at the canary, zero failed steps', { timeout: 15 * 60_000 }, async (t) => {
  const steps = readmeTour(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
  assert.ok(steps.length >= 15, `the tour has ${steps.length} steps`);
  const home = mkdtempSync(join(tmpdir(), 'failsmall-tour-'));
  const prefix = join(home, '.npm-global');
  // A new user's shell: no FAILSMALL_* of ours, no npm_* from an outer `npm test`; npm's global
  // prefix in their home (as `npm config set prefix ~/.npm-global` makes it), on PATH.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FAILSMALL_') && !k.toLowerCase().startsWith('npm_')));
  // npm's own settings and cache stay the machine's (a registry mirror, nodedir for compiling addons offline).
  const realHome = process.env.HOME ?? homedir();
  Object.assign(env, { HOME: home, npm_config_userconfig: join(realHome, '.npmrc'), npm_config_cache: join(realHome, '.npm'), npm_config_prefix: prefix, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', PATH: `${join(prefix, 'bin')}:${env.PATH ?? ''}`, NO_COLOR: '1' });
  const script = ['exec 2>&1', ...steps.map((s, i) => `${s.text}\nprintf '\\n${MARK} ${i} exit %d\\n' "$?"`)].join('\n');
  const bash = spawn('bash', ['-c', script], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    try { process.kill(-(bash.pid ?? 0), 'SIGKILL'); } catch { /* all gone already */ }
    rmSync(home, { recursive: true, force: true });
  });
  let out = '';
  bash.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  bash.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const code = await new Promise<number | null>((resolve) => bash.once('close', resolve));

  // Each step's output is what came before its mark.
  const ran: { step: number; exit: number; output: string }[] = [];
  let rest = out;
  for (let m = new RegExp(`\\n${MARK} (\\d+) exit (\\d+)\\n`).exec(rest); m; m = new RegExp(`\\n${MARK} (\\d+) exit (\\d+)\\n`).exec(rest)) {
    ran.push({ step: Number(m[1]), exit: Number(m[2]), output: rest.slice(0, m.index) });
    rest = rest.slice(m.index + m[0].length);
  }
  const logs = () => {
    const dir = join(home, 'failsmall-tour');
    let text = '';
    try { for (const f of readdirSync(dir).filter((f) => f.endsWith('.log'))) text += `\n--- ${f} ---\n${readFileSync(join(dir, f), 'utf8').slice(-3000)}`; } catch { /* not made */ }
    return text;
  };
  const show = (i: number) => `step ${i}: ${steps[i]?.text}\n--- output ---\n${(ran[i]?.output ?? rest).slice(-4000)}${logs()}`;
  assert.equal(ran.length, steps.length, `the tour stopped after ${ran.length} of ${steps.length} steps (bash exit ${code})\n${show(ran.length)}`);
  for (const r of ran) assert.equal(r.exit, steps[r.step]?.expectExit, `a failed step\n${show(r.step)}`);

  const outputOf = (pattern: RegExp) => {
    const i = steps.findIndex((s) => pattern.test(s.text));
    assert.ok(i >= 0, `the tour has a step ${pattern}`);
    return ran[i]?.output ?? '';
  };
  for (const v of ['v1', 'v2']) assert.match(outputOf(new RegExp(`rollout start features ${v}`)), /completed at stage everyone/, `${v} completed`);
  assert.match(outputOf(/rollout start features v3/), /ROLLBACK at stage canary/, 'v3 rolled back at the canary');
  const nodes = outputOf(/^failsmall nodes\s+#/);
  for (const n of ['edge-1', 'edge-2', 'edge-3']) assert.match(nodes, new RegExp(`${n}[^\\n]*features@v2`), `${n} serves v2\n${nodes}`);
  assert.doesNotMatch(nodes, /stale/, 'after the rollback v2 is the target: no node reads "stale"');
  assert.match(nodes, /FAILED v3/, 'the canary\'s refusal stays visible');
  assert.match(outputOf(/incident list/), /inc-\w+/, 'the rollback opened an incident');
  assert.match(outputOf(/breakglass drill/), /drill features: 3 of 3 nodes ready/, 'every node is ready for break-glass');
});
