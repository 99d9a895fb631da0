/**
 * Figure 6: incident triage on the labelled scenarios of examples/triage/ (issue 6, section 2).
 *
 *   npm run bench:triage                  # a table: every scenario's verdict, per-class figures, the goals
 *   npm run bench:triage -- --json        # {"scenarios": N, "accuracy": …, "max_seconds_to_correct": …, "per_class": {…}, "misclassified": [names]}
 *   options: --dir examples/triage  --seeds 1 (each scenario also run with seed + 1000·k, k < N: robustness to noise)
 *
 * Each scenario's signals are generated in virtual time (packages/sim/src/triage), and triage
 * runs at every step from the first alert to the end. A verdict is correct when the final top
 * hypothesis has the labelled class and names the labelled target; the time to correct runs
 * from the first alert to the step from which the top hypothesis is correct and stays so.
 */
import { performance } from 'node:perf_hooks';
import { evaluateTriageScenario, loadTriageScenarios, scoreTriageRuns, type TriageRun } from '@failsmall/sim';
import { argInt, argValue, hasFlag } from './lib.ts';

const json = hasFlag('json');
const dir = argValue('dir') || 'examples/triage';
const seeds = argInt('seeds', 1);
const GOAL = { accuracy: 0.95, seconds: 300 } as const;

const loaded = loadTriageScenarios(dir);
const broken = loaded.filter((l) => !l.parsed.ok);
if (broken.length > 0) {
  for (const b of broken) if (!b.parsed.ok) for (const e of b.parsed.errors) process.stderr.write(`${e.file ?? b.file}:${e.line ?? ''}:${e.col ?? ''}: ${e.message} [${e.code}]\n`);
  process.exit(2);
}
const t0 = performance.now();
const runs: TriageRun[] = [];
for (const { parsed } of loaded) {
  if (!parsed.ok) continue;
  for (let k = 0; k < seeds; k++) {
    const run = evaluateTriageScenario(parsed.value, { seed: parsed.value.seed + 1000 * k });
    runs.push(seeds > 1 ? { ...run, name: `${run.name}#seed${parsed.value.seed + 1000 * k}` } : run);
  }
}
const elapsed = (performance.now() - t0) / 1000;
const score = scoreTriageRuns(runs);

if (json) {
  process.stdout.write(`${JSON.stringify(score, null, 2)}\n`);
} else {
  const rows = runs.map((r) => {
    const top = r.final.hypotheses[0];
    const atAlert = r.steps[0];
    return [r.name, `${r.label.class}${r.label.target !== null ? ` ${r.label.target}` : ''}`, `${top?.class ?? '-'}${top?.target ? ` ${top.target.id}` : ''}`,
      top ? `${(100 * top.confidence).toFixed(0)}%` : '-', atAlert ? `${atAlert.correct ? '' : 'wrong '}${(100 * atAlert.confidence).toFixed(0)}%` : '—',
      r.correct ? 'yes' : 'NO', r.seconds_to_correct === null ? '—' : `${r.seconds_to_correct}s`];
  });
  const head = ['scenario', 'label', 'final top hypothesis', 'conf', 'at 1st alert', 'correct', 'to correct'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  console.log(`triage on ${dir}: ${runs.length} runs${seeds > 1 ? ` (${seeds} seeds each)` : ''} · ${elapsed.toFixed(1)} s`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log('');
  for (const [c, p] of Object.entries(score.per_class)) {
    console.log(`${c.padEnd(21)} ${p.correct}/${p.scenarios} correct (${(100 * p.accuracy).toFixed(1)}%), slowest correct verdict ${p.max_seconds_to_correct ?? '—'} s`);
  }
  const within = runs.filter((r) => r.correct && r.seconds_to_correct !== null && r.seconds_to_correct > GOAL.seconds).map((r) => r.name);
  console.log(`\ngoal: top-1 accuracy ≥ ${100 * GOAL.accuracy}%: ${(100 * score.accuracy).toFixed(1)}% → ${score.accuracy >= GOAL.accuracy ? 'met' : 'NOT met'}${score.misclassified.length > 0 ? ` (wrong: ${score.misclassified.join(', ')})` : ''}`);
  console.log(`goal: every correct verdict within ${GOAL.seconds} s of the first alert: slowest ${score.max_seconds_to_correct ?? '—'} s → ${within.length === 0 ? 'met' : `NOT met (${within.join(', ')})`}`);
}
