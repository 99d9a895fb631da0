/**
 * Blast radius: the 18 November replay at 10,000 nodes under the three regimes.
 *
 * Targets (issue 3): regime (c) staged + safe loader causes under 1/1000 of the failed
 * requests of regime (a) global push, and regime (b) staged with hard-failing loaders
 * under 1/50. Also reports the simulator's own wall-clock (10,000 nodes x 1 h x 3 regimes).
 *
 *   node --import tsx bench/blast-radius.ts            # table, ratios, runtime
 *   node --import tsx bench/blast-radius.ts --json     # one JSON object on stdout
 *   options: --nodes 10000 --seed N --runs 3 --scenario examples/scenarios/nov18-oversized-feature-file.yaml
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { formatError } from '@failsmall/core';
import { formatReport, parseScenario, simulate, type SimulationReport } from '@failsmall/sim';
import { argInt, hasFlag, machine } from './lib.ts';

const TARGET_SAFE = 1 / 1000;
const TARGET_STAGED = 1 / 50;

function argText(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const file = argText('scenario') ?? 'examples/scenarios/nov18-oversized-feature-file.yaml';
const parsed = parseScenario(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'), { file });
if (!parsed.ok) {
  for (const e of parsed.errors) console.error(formatError(e));
  process.exit(1);
}
const scenario = parsed.value;
const nodes = argInt('nodes', 10_000);
const seed = argText('seed') !== undefined ? argInt('seed', scenario.seed) : scenario.seed;
const runs = argInt('runs', 3);

// Each run is the whole comparison: three regimes, the full scenario duration.
const wall: number[] = [];
let report: SimulationReport | undefined;
let json = '';
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  report = simulate(scenario, { nodes, seed });
  wall.push(performance.now() - t0);
  const text = JSON.stringify(report);
  if (json !== '' && text !== json) throw new Error('two runs with the same seed differ: the simulator is not deterministic');
  json = text;
}
if (!report) throw new Error('no run');

const ratios = report.ratios;
const result = {
  bench: 'blast-radius',
  scenario: report.scenario,
  seed: report.seed,
  nodes: report.nodes,
  duration_seconds: report.duration_seconds,
  ratios: {
    staged_vs_global: ratios.staged_vs_global,
    safe_vs_global: ratios.safe_vs_global,
  },
  targets: {
    staged_vs_global: { target: `< 1/50`, met: ratios.staged_vs_global !== null && ratios.staged_vs_global < TARGET_STAGED },
    safe_vs_global: { target: `< 1/1000`, met: ratios.safe_vs_global !== null && ratios.safe_vs_global < TARGET_SAFE },
  },
  wall_ms: { runs: wall.map((w) => Math.round(w)), min: Math.round(Math.min(...wall)), max: Math.round(Math.max(...wall)) },
  identical_runs: true,
  machine: machine(),
  report,
};

if (hasFlag('json')) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const fmt = (x: number | null) => (x === null ? 'n/a' : x === 0 ? '0' : `${x.toExponential(2)} (1/${Math.round(1 / x).toLocaleString('en-US')})`);
  console.log(formatReport(report));
  console.log('');
  console.log(`(b) staged / (a) global-push        = ${fmt(ratios.staged_vs_global)}   target < 1/50:   ${result.targets.staged_vs_global.met ? 'met' : 'NOT met'}`);
  console.log(`(c) staged-safe-loader / (a) global = ${fmt(ratios.safe_vs_global)}   target < 1/1000: ${result.targets.safe_vs_global.met ? 'met' : 'NOT met'}`);
  console.log(`simulator wall-clock, ${report.nodes.toLocaleString('en-US')} nodes x ${report.duration_seconds / 3600} h x 3 regimes: ${result.wall_ms.runs.join(' / ')} ms over ${runs} runs (identical output each run)`);
  console.log(`machine: ${result.machine.cpus} x ${result.machine.cpu_model}, Node ${result.machine.node}, load ${result.machine.loadavg_1m_at_start ?? '?'} → ${result.machine.loadavg_1m_at_end ?? '?'}`);
}
