/**
 * CLI startup (`npm run bench:startup`, issue 14): wall time of `failsmall --help` and
 * `failsmall --version`, each a fresh node process started by its path as a user would, from the
 * bundle (packages/cli/dist, what an install runs) and from the sources through tsx
 * (FAILSMALL_FROM_SOURCE=1, what every start cost before the bundle). Target: --help ≤ 300 ms
 * (median). Runs are interleaved, so that a busy moment of the shared machine hits all four alike.
 * Flags: --runs N (default 20), --json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { argInt, hasFlag, machine, ms, percentile } from './lib.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/failsmall.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../packages/cli/dist/cli/failsmall.mjs', import.meta.url));
const TARGET_MS = 300;

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
const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));

for (let i = 0; i < runs + 1; i++) {
  for (const c of cases) {
    const env = { ...process.env, FAILSMALL_FROM_SOURCE: c.fromSource ? '1' : '0' };
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
const helpP50 = rows[0]?.p50_ms ?? NaN;
const result = { date: new Date().toISOString(), machine: machine(), target_help_p50_ms: TARGET_MS, met: helpP50 <= TARGET_MS, rows };

if (hasFlag('json')) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  console.log(`failsmall startup, ${runs} runs each (${result.machine.node}, load ${result.machine.loadavg_1m_at_start} → ${result.machine.loadavg_1m_at_end})`);
  console.log('| case | median | p90 | min | max |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.case} | ${ms(r.p50_ms)} ms | ${ms(r.p90_ms)} ms | ${ms(r.min_ms)} ms | ${ms(r.max_ms)} ms |`);
  console.log(`target --help median ≤ ${TARGET_MS} ms: ${result.met ? 'met' : 'NOT met'} (${ms(helpP50)} ms)`);
}
