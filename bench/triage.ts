/**
 * Figure 6: incident triage on the labelled scenarios (issue 6, section 2; issue 13).
 *
 *   npm run bench:triage                  # a table per set: every run's verdict, per-class figures, the goals
 *   npm run bench:triage -- --json        # {"scenarios", "accuracy", "max_seconds_to_correct", "per_class", "misclassified", "sets": {…}, "calibration": {…}}
 *   options: --seeds 4 (each scenario with its own seed and seed + 1000·k, k < N: robustness to noise)
 *            --set triage | triage-holdout (only that set)   --dir DIR (a folder of scenarios, as a set named after it)
 *
 * The sets are the shipped scenarios (examples/triage) and a second set written apart from the
 * classifier (examples/triage-holdout); a set whose folder does not exist is left out, and
 * stderr says so. "sets" has each set on its own seeds (`triage`) and on all of them
 * (`triage (4 seeds)`); the top-level figures cover every run.
 *
 * Each scenario's signals are generated in virtual time (packages/sim/src/triage), and triage
 * runs at every step from the first alert to the end. A verdict is correct when the final top
 * hypothesis answers the label (class and target; `unknown` for a benign label; or one of its
 * `also` entries); the time to correct runs from the first alert to the step from which the
 * top hypothesis is correct and stays so.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { calibrate, evaluateTriageScenario, loadTriageScenarios, scoreTriageRuns, type TriageRun, type TriageScenario } from '@failsmall/sim';
import { argInt, argValue, hasFlag } from './lib.ts';

const SETS: readonly { readonly name: string; readonly dir: string }[] = [{ name: 'triage', dir: 'examples/triage' }, { name: 'triage-holdout', dir: 'examples/triage-holdout' }];
const GOAL = { accuracy: 0.95, seconds: 300 } as const;

const json = hasFlag('json');
const seeds = argInt('seeds', 4);
const dirArg = argValue('dir');
const setArg = argValue('set');

const chosen = dirArg ? [{ name: basename(dirArg.replace(/\/+$/, '')), dir: dirArg }] : SETS.filter((x) => !setArg || x.name === setArg);
if (chosen.length === 0) fail(`--set must be one of ${SETS.map((x) => x.name).join(', ')}, got "${setArg ?? ''}"`);
const present = chosen.filter((x) => existsSync(x.dir));
for (const x of chosen.filter((y) => !present.includes(y))) process.stderr.write(`bench:triage: ${x.dir} does not exist; set ${x.name} left out\n`);
if (present.length === 0) fail('no set of scenarios to run');
if (present.length < chosen.length) process.stderr.write(`bench:triage: reporting ${present.map((x) => x.name).join(', ')} only\n`);

const sets = present.map((x) => ({ ...x, scenarios: parsedOrExit(x.dir) }));
const t0 = performance.now();
const runsBySet = sets.map((x) => ({ name: x.name, dir: x.dir, runs: x.scenarios.flatMap((s) => runs(s)) }));
const elapsed = (performance.now() - t0) / 1000;
const all = runsBySet.flatMap((x) => x.runs);
const score = scoreTriageRuns(all);

if (json) {
  const figures = (rs: readonly TriageRun[]) => {
    const s = scoreTriageRuns(rs);
    return { scenarios: s.scenarios, accuracy: s.accuracy, max_seconds_to_correct: s.max_seconds_to_correct };
  };
  const bySet = Object.fromEntries(runsBySet.flatMap((x) => [
    [x.name, figures(x.runs.filter((r) => !r.name.includes('#seed')))],
    ...(seeds > 1 ? [[`${x.name} (${seeds} seeds)`, figures(x.runs)]] : []),
  ]));
  // Stated confidence against observed accuracy, each set apart (the temperature is fitted on the shipped set only).
  const calibration = Object.fromEntries(runsBySet.map((x) => [x.name, calibrate(x.runs)]));
  process.stdout.write(`${JSON.stringify({ ...score, sets: bySet, calibration }, null, 2)}\n`);
} else {
  for (const x of runsBySet) table(x.name, x.dir, x.runs);
  console.log(`${all.length} runs in ${elapsed.toFixed(1)} s`);
  for (const [c, p] of Object.entries(score.per_class)) {
    console.log(`${c.padEnd(21)} ${p.correct}/${p.scenarios} correct (${(100 * p.accuracy).toFixed(1)}%), slowest correct verdict ${p.max_seconds_to_correct ?? '—'} s`);
  }
  for (const x of runsBySet) {
    const c = calibrate(x.runs);
    console.log(`\ncalibration of ${x.name} (every step from the first alert; each run weighs one): ECE ${c.ece}, Brier ${c.brier}`);
    for (const b of c.bins) if (b.weight > 0) console.log(`  said ${(100 * b.from).toFixed(0).padStart(3)}–${(100 * b.to).toFixed(0).padEnd(3)}%  ${String(b.weight.toFixed(1)).padStart(6)} runs  stated ${(100 * (b.stated ?? 0)).toFixed(1)}%  right ${(100 * (b.observed ?? 0)).toFixed(1)}%`);
  }
  const late = all.filter((r) => r.correct && r.seconds_to_correct !== null && r.seconds_to_correct > GOAL.seconds).map((r) => r.name);
  console.log(`\ngoal: top-1 accuracy ≥ ${100 * GOAL.accuracy}%: ${(100 * score.accuracy).toFixed(1)}% → ${score.accuracy >= GOAL.accuracy ? 'met' : 'NOT met'}${score.misclassified.length > 0 ? ` (wrong: ${score.misclassified.join(', ')})` : ''}`);
  console.log(`goal: every correct verdict within ${GOAL.seconds} s of the first alert: slowest ${score.max_seconds_to_correct ?? '—'} s → ${late.length === 0 ? 'met' : `NOT met (${late.join(', ')})`}`);
}

/** A scenario on its own seed (named as it is) and on `seeds − 1` others (named NAME#seedN). */
function runs(s: TriageScenario): TriageRun[] {
  return Array.from({ length: seeds }, (_, k) => {
    const run = evaluateTriageScenario(s, { seed: s.seed + 1000 * k });
    return k === 0 ? run : { ...run, name: `${run.name}#seed${s.seed + 1000 * k}` };
  });
}

function parsedOrExit(dir: string): TriageScenario[] {
  const loaded = loadTriageScenarios(dir);
  for (const b of loaded) if (!b.parsed.ok) for (const e of b.parsed.errors) process.stderr.write(`${e.file ?? b.file}:${e.line ?? ''}:${e.col ?? ''}: ${e.message} [${e.code}]\n`);
  if (loaded.some((l) => !l.parsed.ok)) process.exit(2);
  return loaded.flatMap((l) => (l.parsed.ok ? [l.parsed.value] : []));
}

/** Every run's verdict: the label, the final top hypothesis, its confidence then and at the first alert, and how soon it was right. */
function table(name: string, dir: string, rs: readonly TriageRun[]): void {
  const answer = (r: TriageRun) => [r.label, ...r.label.also].map((a) => `${a.class}${a.target !== null ? ` ${a.target}` : ''}`).join(' or ');
  const rows = rs.map((r) => {
    const top = r.final.hypotheses[0];
    const atAlert = r.steps[0];
    return [r.name, answer(r), `${top?.class ?? '-'}${top?.target ? ` ${top.target.id}` : ''}`,
      top ? `${(100 * top.confidence).toFixed(0)}%` : '-', atAlert ? `${atAlert.correct ? '' : 'wrong '}${(100 * atAlert.confidence).toFixed(0)}%` : '—',
      r.correct ? 'yes' : 'NO', r.seconds_to_correct === null ? '—' : `${r.seconds_to_correct}s`];
  });
  const head = ['scenario', 'label', 'final top hypothesis', 'conf', 'at 1st alert', 'correct', 'to correct'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const s = scoreTriageRuns(rs);
  console.log(`${name} (${dir}): ${rs.length} runs${seeds > 1 ? ` (${seeds} seeds each)` : ''}; ${s.scenarios - s.misclassified.length} correct (${(100 * s.accuracy).toFixed(1)}%)`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log('');
}

function fail(message: string): never {
  process.stderr.write(`bench:triage: ${message}\n`);
  process.exit(2);
}
