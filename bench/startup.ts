/**
 * CLI startup (`npm run bench:startup`, issue 14): wall time of `failsmall --help` and
 * `failsmall --version`, each a fresh node process started by its path as a user would, from the
 * bundle (packages/cli/dist, what an install runs) and from the sources through tsx
 * (FAILSMALL_FROM_SOURCE=1, what every start cost before the bundle). Target: --help ≤ 300 ms
 * (median). Runs are interleaved, so that a busy moment of the shared machine hits all four alike.
 * Then `failsmall rollout status` (the recent rollouts) and `rollout status ID` (one, with its
 * verdicts) against a real local control plane (`failsmall serve` on SQLite, a child process),
 * which holds a rollout under way on three registered nodes: target ≤ 500 ms (median), call and
 * answer included. Flags: --runs N (default 20), --json.
 */
import { spawnSync } from 'node:child_process';
import { call } from '../packages/server/test/fixtures.ts';
import { runCli, startServe } from '../test/helpers/procs.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argInt, hasFlag, machine, ms, percentile } from './lib.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/failsmall.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../packages/cli/dist/cli/failsmall.mjs', import.meta.url));
const TARGET_MS = 300;
const STATUS_TARGET_MS = 500;

if (!existsSync(BUNDLE)) {
  process.stderr.write('bench:startup: the CLI bundle is missing; run `npm run build` (npm ci builds it)\n');
  process.exit(2);
}
const runs = argInt('runs', 20);
const cases = [
  { name: '--help, bundle', args: ['--help'], fromSource: false },
  { name: '--version, bundle', args: ['--version'], fromSource: false },
  { name: '--help, tsx (sources)', args: ['--help'], fromSource: true },
  { name: '--version, tsx (sources)', args: ['--version'], fromSource: true },
];
const server = await localServer();
const statusCases = [
  { name: 'rollout status (recent), bundle', args: ['rollout', 'status'], fromSource: false },
  { name: 'rollout status ID, bundle', args: ['rollout', 'status', server.rollout], fromSource: false },
];
cases.push(...statusCases);
const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));

for (let i = 0; i < runs + 1; i++) {
  for (const c of cases) {
    const env = { ...process.env, FAILSMALL_FROM_SOURCE: c.fromSource ? '1' : '0', FAILSMALL_SERVER: server.url, FAILSMALL_TOKEN: server.token };
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, ...c.args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const took = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) {
      process.stderr.write(`bench:startup: failsmall ${c.args.join(' ')} (${c.name}) exited ${r.status}: ${r.stderr.toString()}\n`);
      process.exit(1);
    }
    // The first round warms the page cache and is not counted.
    if (i > 0) samples.get(c.name)?.push(took);
  }
}

const rows = cases.map((c) => {
  const s = [...(samples.get(c.name) ?? [])].sort((a, b) => a - b);
  return { case: c.name, runs: s.length, p50_ms: percentile(s, 0.5), p90_ms: percentile(s, 0.9), min_ms: s[0] ?? NaN, max_ms: s[s.length - 1] ?? NaN };
});
await server.stop();
const helpP50 = rows[0]?.p50_ms ?? NaN;
const statusP50 = Math.max(...rows.filter((r) => statusCases.some((c) => c.name === r.case)).map((r) => r.p50_ms));
const result = {
  date: new Date().toISOString(), machine: machine(), target_help_p50_ms: TARGET_MS, met: helpP50 <= TARGET_MS,
  target_status_p50_ms: STATUS_TARGET_MS, status_met: statusP50 <= STATUS_TARGET_MS, rows,
};

if (hasFlag('json')) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  console.log(`failsmall startup, ${runs} runs each (${result.machine.node}, load ${result.machine.loadavg_1m_at_start} → ${result.machine.loadavg_1m_at_end})`);
  console.log('| case | median | p90 | min | max |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.case} | ${ms(r.p50_ms)} ms | ${ms(r.p90_ms)} ms | ${ms(r.min_ms)} ms | ${ms(r.max_ms)} ms |`);
  console.log(`target --help median ≤ ${TARGET_MS} ms: ${result.met ? 'met' : 'NOT met'} (${ms(helpP50)} ms)`);
  console.log(`target rollout status median ≤ ${STATUS_TARGET_MS} ms against a local server: ${result.status_met ? 'met' : 'NOT met'} (slowest median ${ms(statusP50)} ms)`);
}

/**
 * `failsmall serve` on a fresh SQLite store, with the tour's declarations, a pushed version, three
 * nodes registered over HTTP with a join token, and a rollout started on them (under way: the
 * nodes never report, so it waits in its canary).
 */
async function localServer(): Promise<{ url: string; token: string; rollout: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-bench-status-'));
  const keys = await runCli(['keys', 'init', '--dir', join(dir, 'keys')], { cwd: dir });
  if (keys.code !== 0) throw new Error(`failsmall keys init: ${keys.stderr}`);
  const served = await startServe({ store: join(dir, 'fs.db'), port: 0, tickMs: 250, signingKey: join(dir, 'keys', 'artifact.key'), cwd: dir });
  const { url } = served;
  const token = served.adminToken ?? '';
  const ok = async <T>(what: string, r: Promise<{ status: number; body: unknown }>): Promise<T> => {
    const res = await r;
    if (res.status >= 300) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as T;
  };
  const example = (f: string) => readFileSync(fileURLToPath(new URL(`../examples/tour/${f}`, import.meta.url)), 'utf8');
  await ok('apply', call(url, 'POST', '/v1/apply', { token, json: { text: example('failsmall.yaml') } }));
  await ok('push', call(url, 'POST', '/v1/artifacts/features/versions?version=v1', { token, body: example('features-v1.json') }));
  const fleet = await ok<{ token: string }>('join token', call(url, 'POST', '/v1/tokens', { token, json: { name: 'bench-fleet', role: 'join' } }));
  for (const id of ['edge-1', 'edge-2', 'edge-3']) await ok('register', call(url, 'POST', '/v1/nodes/register', { token: fleet.token, json: { id, modules: ['feature-proxy'] } }));
  const { rollout } = await ok<{ rollout: { id: string } }>('start', call(url, 'POST', '/v1/rollouts', { token, json: { artifact: 'features', version: 'v1' } }));
  return {
    url, token, rollout: rollout.id,
    async stop() {
      await served.child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
