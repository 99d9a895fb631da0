/**
 * The nightly fuzz run (`npm run fuzz`): every parser of untrusted text and every API route
 * that takes a body, at least 10,000 cases each (test/fuzz/). Prints, per target, the cases
 * run, the time, the slowest case and any failure with its shrunk counterexample and the
 * command that replays it; exits 1 if any target failed or had a case over the time bound.
 *
 *   FUZZ_RUNS=10000   cases per target
 *   FUZZ_SEED=N       one seed for every target (default: random, printed)
 *   FUZZ_ONLY=a,b     only targets whose name contains one of these
 *   FUZZ_PATH=…       with FUZZ_SEED and FUZZ_ONLY: replay one failure
 *   FUZZ_SLOW_MS=1000 a case slower than this is a failure ("no hang past a bound")
 *   FUZZ_API=0        parsers only
 */
import { cpus } from 'node:os';
import { apiFuzz, KNOWN_BUGS } from '../test/fuzz/api.ts';
import { formatReport, runTarget, type FuzzTarget, type TargetReport } from '../test/fuzz/harness.ts';
import { parserTargets } from '../test/fuzz/parsers.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 10_000);
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : (Date.now() % 2 ** 31);
const only = process.env.FUZZ_ONLY?.split(',').filter(Boolean);
const path = process.env.FUZZ_PATH;
const slowMs = Number(process.env.FUZZ_SLOW_MS ?? 1000);
const wanted = (name: string): boolean => !only || only.some((o) => name.includes(o));

console.log(`fuzz: ${runs} cases per target, seed ${seed}, slow bound ${slowMs} ms, node ${process.version}, ${cpus().length} cores`);
const reports: TargetReport[] = [];
const started = performance.now();

async function run(targets: readonly FuzzTarget<any>[]): Promise<void> {
  for (const [i, t] of targets.entries()) {
    if (!wanted(t.name)) continue;
    // Each target its own seed (derived, so one FUZZ_SEED replays the whole run).
    const r = await runTarget(t, { runs, seed: (seed + i * 7919) | 0, slowMs, ...(path !== undefined ? { path } : {}) });
    reports.push(r);
    console.log(formatReport(r));
  }
}

await run(parserTargets());
if (process.env.FUZZ_API !== '0') {
  // Known bugs (test/fuzz/api.ts KNOWN_BUGS) are notes in npm test, failures here.
  const api = await apiFuzz({ strictKnownBugs: true });
  console.log(`api: ${api.routes.length} routes with a body, from the app's route table: ${api.routes.map((r) => `${r.method} ${r.url}`).join(', ')}`);
  await run(api.targets);
  console.log('api: known bugs (reported, not fixed here; each fails the targets that hit it):');
  for (const b of KNOWN_BUGS) console.log(`  ${b.id}: ${b.what}`);
}

const failed = reports.filter((r) => r.failed || r.slow.length > 0);
const cases = reports.reduce((n, r) => n + r.cases, 0);
console.log(`fuzz: ${reports.length} targets, ${cases} cases in ${((performance.now() - started) / 1000).toFixed(0)} s; ${failed.length === 0 ? 'no failures' : `${failed.length} failed: ${failed.map((r) => r.name).join(', ')}`}`);
if (failed.length > 0) process.exitCode = 1;
