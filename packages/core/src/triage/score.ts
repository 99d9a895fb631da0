import type { ClassEvidence } from './context.ts';
import { pct } from './format.ts';
import { TRIAGE_CLASSES, type Hypothesis, type MissingSignal, type TriageClass } from './hypothesis.ts';
import { MISSING_SIGNAL_LOG_ODDS, PRIOR_LOG_ODDS } from './weights.ts';

/**
 * Turns each class's evidence into a confidence. A class's log-odds are its prior plus the
 * sum of its evidence weights (naive Bayes: signals are treated as independent given the
 * class, which is why the interacting ones, surge × source diversity, are combined into one
 * item before they get here). A fifth outcome, "none of the four", has log-odds 0 plus
 * MISSING_SIGNAL_LOG_ODDS for each signal family that is missing anywhere; a softmax over
 * the five gives the confidences, so the four sum to 1 − unexplained. A missing signal
 * therefore takes confidence from every hypothesis and never adds to any.
 */
export function score(classes: Readonly<Record<TriageClass, ClassEvidence>>, shared: readonly MissingSignal[]): { hypotheses: Hypothesis[]; unexplained: number } {
  const families = new Set<string>(shared.map((m) => m.signal));
  for (const c of TRIAGE_CLASSES) for (const m of classes[c].missing) families.add(m.signal);
  const noneLogOdds = MISSING_SIGNAL_LOG_ODDS * families.size;
  const logOdds = TRIAGE_CLASSES.map((c) => PRIOR_LOG_ODDS[c] + classes[c].items.reduce((a, e) => a + e.weight, 0));
  const top = Math.max(noneLogOdds, ...logOdds);
  const exp = logOdds.map((l) => Math.exp(l - top));
  const expNone = Math.exp(noneLogOdds - top);
  const total = exp.reduce((a, b) => a + b, 0) + expNone;
  const hypotheses = TRIAGE_CLASSES.map((c, i): Hypothesis => {
    const e = classes[c];
    const byWeight = [...e.items].sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
    return {
      class: c,
      confidence: round((exp[i] ?? 0) / total),
      log_odds: round(logOdds[i] ?? 0),
      evidence_for: byWeight.filter((x) => x.weight > 0),
      evidence_against: byWeight.filter((x) => x.weight < 0),
      missing_signals: [...shared, ...e.missing],
      first_action: e.first_action,
      ...(e.target ? { target: e.target } : {}),
    };
  });
  hypotheses.sort((a, b) => b.confidence - a.confidence || b.log_odds - a.log_odds || TRIAGE_CLASSES.indexOf(a.class) - TRIAGE_CLASSES.indexOf(b.class));
  return { hypotheses, unexplained: round(expNone / total) };
}

/** One line: the leading hypothesis, its confidence and its first action. */
export function summarize(hypotheses: readonly Hypothesis[], unexplained: number): string {
  const top = hypotheses[0];
  if (!top) return 'no hypothesis';
  return `${top.class} (${pct(top.confidence)}; unexplained ${pct(unexplained)}): ${top.first_action}`;
}

function round(x: number): number {
  return Number(x.toFixed(4));
}
