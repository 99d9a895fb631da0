import type { ClassEvidence } from './context.ts';
import { pct } from './format.ts';
import { TRIAGE_CLASSES, type Hypothesis, type MissingSignal, type TriageClass, type TriageVerdict } from './hypothesis.ts';
import { CONFIDENCE_TEMPERATURE, MISSING_SIGNAL_LOG_ODDS, PRIOR_LOG_ODDS, UNKNOWN_LOG_ODDS } from './weights.ts';

/**
 * Turns each class's evidence into a confidence. A class's log-odds are its prior plus the
 * sum of its evidence weights (naive Bayes: signals are treated as independent given the
 * class, which is why the interacting ones, surge × source diversity, are combined into one
 * item before they get here). A fifth outcome, `unknown` ("none of the four has evidence
 * enough"), has log-odds UNKNOWN_LOG_ODDS plus MISSING_SIGNAL_LOG_ODDS for each signal family
 * that is missing anywhere; a softmax over the five gives the confidences, so the five sum to
 * 1 and `unexplained` is unknown's share (the log-odds are divided by CONFIDENCE_TEMPERATURE first,
 * fitted so that stated confidence matches observed accuracy). A missing signal therefore takes confidence from
 * every class and never adds to any; and when no class has evidence beyond its prior,
 * `unknown` leads and names the signals that would decide, instead of a default winner.
 */
export function score(classes: Readonly<Record<TriageClass, ClassEvidence>>, shared: readonly MissingSignal[]): { hypotheses: Hypothesis[]; unexplained: number } {
  const families = new Set<string>(shared.map((m) => m.signal));
  for (const c of TRIAGE_CLASSES) for (const m of classes[c].missing) families.add(m.signal);
  const noneLogOdds = UNKNOWN_LOG_ODDS + MISSING_SIGNAL_LOG_ODDS * families.size;
  const logOdds = TRIAGE_CLASSES.map((c) => PRIOR_LOG_ODDS[c] + classes[c].items.reduce((a, e) => a + e.weight, 0));
  const top = Math.max(noneLogOdds, ...logOdds);
  const exp = logOdds.map((l) => Math.exp((l - top) / CONFIDENCE_TEMPERATURE));
  const expNone = Math.exp((noneLogOdds - top) / CONFIDENCE_TEMPERATURE);
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
  const missing = [...new Map([...shared, ...TRIAGE_CLASSES.flatMap((c) => classes[c].missing)].map((m) => [m.sentence, m])).values()];
  const lead = [...hypotheses].sort((a, b) => b.log_odds - a.log_odds)[0];
  const unexplained = round(expNone / total);
  hypotheses.push({
    class: 'unknown', confidence: unexplained, log_odds: round(noneLogOdds), evidence_for: [], evidence_against: [], missing_signals: missing,
    first_action: unknownAction(lead, missing),
  });
  const order = (c: TriageVerdict) => (c === 'unknown' ? TRIAGE_CLASSES.length : TRIAGE_CLASSES.indexOf(c));
  hypotheses.sort((a, b) => b.confidence - a.confidence || b.log_odds - a.log_odds || order(a.class) - order(b.class));
  return { hypotheses, unexplained };
}

/** No class leads: say which signals would decide, and the best lead so far, without acting on it. */
function unknownAction(lead: Hypothesis | undefined, missing: readonly MissingSignal[]): string {
  const families = [...new Set(missing.map((m) => m.signal.replace(/_/g, ' ')))];
  const gather = families.length > 0 ? `; missing: ${families.join(', ')}` : '';
  const best = lead && lead.evidence_for.length > 0 ? `; the strongest lead, ${lead.class}, rests on: ${lead.evidence_for[0]?.sentence ?? ''}` : '';
  return `no cause has evidence enough to act on: hold changes and keep watching${gather}${best}`;
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
