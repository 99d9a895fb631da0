import { triage, type Hypothesis, type Triage, type TriageInput, type TriageVerdict } from '@failsmall/core';
import { generateTriageInput } from './generate.ts';
import { LABEL_CLASSES, type LabelClass, type TriageLabel, type TriageScenario } from './types.ts';

/** One step of a replay: what the top hypothesis was at that moment. */
export interface TriageStep {
  readonly at_ms: number;
  /** The top hypothesis's class; `unknown` when none leads. */
  readonly class: TriageVerdict;
  readonly confidence: number;
  readonly target: string | null;
  readonly correct: boolean;
}

/** A labelled scenario replayed through triage, step by step from the first alert. */
export interface TriageRun {
  readonly name: string;
  readonly label: TriageLabel;
  readonly first_alert_ms: number | null;
  /** Triage at the end of the scenario. */
  readonly final: Triage;
  /** The final top hypothesis answers the label or one of its `also` entries (`isCorrect`). */
  readonly correct: boolean;
  /** Seconds from the first alert to the step from which the top hypothesis is correct and stays so; null when it never is (or no alert fired). */
  readonly seconds_to_correct: number | null;
  readonly steps: readonly TriageStep[];
}

/**
 * Generates a scenario's signals and runs triage at every step from the first alert to the
 * end, in virtual time. The verdict counts as correct when the final top hypothesis matches
 * the label; the time to correct is measured from the first alert to the first step after
 * which the top hypothesis is correct at every step.
 *
 * Examples
 *   const run = evaluateTriageScenario(scenario);
 *   console.log(run.correct, run.seconds_to_correct, run.final.summary);
 */
export function evaluateTriageScenario(s: TriageScenario, opts: { seed?: number; input?: TriageInput } = {}): TriageRun {
  const input = opts.input ?? generateTriageInput(s, opts.seed !== undefined ? { seed: opts.seed } : {});
  const end = s.start_ms + s.duration_ms;
  const firstAlert = (input.alerts ?? []).reduce<number | null>((a, x) => (a === null || x.started_at_ms < a ? x.started_at_ms : a), null);
  // triage is pure: the step at the very end is the final verdict, computed once.
  const final = triage(input, end);
  const steps: TriageStep[] = [];
  if (firstAlert !== null) {
    for (let t = firstAlert; t <= end; t += s.step_ms) steps.push(step(t === end ? final : triage(input, t), s.label));
  }
  const correct = isCorrect(final.hypotheses[0], s.label);
  let since: number | null = null;
  for (const x of steps) {
    if (!x.correct) since = null;
    else since ??= x.at_ms;
  }
  const seconds_to_correct = correct && since !== null && firstAlert !== null ? (since - firstAlert) / 1000 : null;
  return { name: s.name, label: s.label, first_alert_ms: firstAlert, final, correct, seconds_to_correct, steps };
}

/**
 * The top hypothesis answers the label, or one of its `also` entries (two causes at once):
 * the class matches, and so does the target when the answer names one. A benign label is
 * answered by `unknown`: nothing leads.
 */
export function isCorrect(top: Hypothesis | undefined, label: TriageLabel): boolean {
  return [label, ...label.also].some((answer) => answers(top, answer));
}

function answers(top: Hypothesis | undefined, answer: { readonly class: LabelClass; readonly target: string | null }): boolean {
  const verdict: TriageVerdict = top?.class ?? 'unknown';
  if (answer.class === 'benign') return verdict === 'unknown';
  if (verdict !== answer.class) return false;
  return answer.target === null || top?.target?.id === answer.target;
}

function step(t: Triage, label: TriageLabel): TriageStep {
  const top = t.hypotheses[0];
  return { at_ms: t.now_ms, class: top?.class ?? 'unknown', confidence: top?.confidence ?? 0, target: top?.target?.id ?? null, correct: isCorrect(top, label) };
}

/** How a labelled set did: the figure `npm run bench:triage -- --json` prints. */
export interface TriageScore {
  readonly scenarios: number;
  /** Share of scenarios whose final verdict is correct. */
  readonly accuracy: number;
  /** The longest time to a correct verdict among the correct ones (null when none is correct). */
  readonly max_seconds_to_correct: number | null;
  /** By the label's own class (not its `also` entries). */
  readonly per_class: Readonly<Record<LabelClass, { readonly scenarios: number; readonly correct: number; readonly accuracy: number; readonly max_seconds_to_correct: number | null }>>;
  readonly misclassified: readonly string[];
}

/**
 * Scores a set of runs, overall and per labelled class.
 *
 * Examples
 *   const score = scoreTriageRuns(scenarios.map((s) => evaluateTriageScenario(s)));
 *   score.accuracy >= 0.95
 */
export function scoreTriageRuns(runs: readonly TriageRun[]): TriageScore {
  const summary = (rs: readonly TriageRun[]) => {
    const correct = rs.filter((r) => r.correct);
    const times = correct.map((r) => r.seconds_to_correct).filter((t): t is number => t !== null);
    return {
      scenarios: rs.length, correct: correct.length, accuracy: rs.length > 0 ? round(correct.length / rs.length) : 0,
      max_seconds_to_correct: times.length > 0 ? Math.max(...times) : null,
    };
  };
  const all = summary(runs);
  return {
    scenarios: all.scenarios, accuracy: all.accuracy, max_seconds_to_correct: all.max_seconds_to_correct,
    per_class: Object.fromEntries(LABEL_CLASSES.map((c) => [c, summary(runs.filter((r) => r.label.class === c))])) as TriageScore['per_class'],
    misclassified: runs.filter((r) => !r.correct).map((r) => r.name),
  };
}

function round(x: number): number {
  return Number(x.toFixed(4));
}
