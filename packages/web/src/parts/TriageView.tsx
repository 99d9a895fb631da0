import type { Hypothesis, Triage } from '../api/types.ts';
import { causeWords, weightWords } from '../view/incidents.ts';

/**
 * Triage's ranked hypotheses, most likely first: each cause in words with its confidence, the
 * first step it suggests, and the evidence for and against it with its weight, and what signals
 * it lacked. The summary sentence first.
 */
export function TriageView({ triage, at }: { triage: Triage; at: number }) {
  return (
    <div className="triage">
      <p>{triage.summary} <span className="hint">(triaged {new Date(at).toLocaleTimeString()})</span></p>
      <ol className="hypotheses">
        {triage.hypotheses.map((h) => <HypothesisView key={h.class} h={h} />)}
      </ol>
    </div>
  );
}

function HypothesisView({ h }: { h: Hypothesis }) {
  return (
    <li data-hypothesis={h.class}>
      <h3>{causeWords(h.class)} <span className="confidence">{Math.round(h.confidence * 100)}%</span></h3>
      {h.first_action ? <p><strong>First step:</strong> {h.first_action}</p> : null}
      {h.evidence_for.length + h.evidence_against.length > 0 ? (
        <ul className="evidence">
          {h.evidence_for.map((e, i) => <li key={`f${i}`}><span className="weight">{weightWords(e.weight)}</span> for: {e.sentence}</li>)}
          {h.evidence_against.map((e, i) => <li key={`a${i}`}><span className="weight">{weightWords(e.weight)}</span> against: {e.sentence}</li>)}
        </ul>
      ) : null}
      {h.missing_signals.length > 0 ? <p className="hint">Missing: {h.missing_signals.map((m) => m.sentence).join('; ')}</p> : null}
    </li>
  );
}
