import { clock, pct } from './format.ts';
import type { Evidence, Triage } from './hypothesis.ts';

/**
 * A triage as plain text: the hypotheses ranked (`unknown` among them: its confidence is the
 * share no cause explains), each with its first action, its evidence
 * (weights in nats, strongest first) and its missing signals. Pure, so the CLI, tests and
 * a postmortem draft print the same text.
 *
 * Examples
 *   process.stdout.write(renderTriage(triage(input, now)));
 */
export function renderTriage(t: Triage, opts: { readonly evidence?: boolean } = {}): string {
  const showEvidence = opts.evidence ?? true;
  const lines: string[] = [
    `triage at ${clock(t.now_ms)} UTC · first alert ${t.first_alert_ms !== null ? clock(t.first_alert_ms) : 'none'} · first error ${t.first_error_ms !== null ? clock(t.first_error_ms) : 'none'}`,
  ];
  t.hypotheses.forEach((h, i) => {
    lines.push('', `${i + 1}. ${h.class.padEnd(21)} ${pct(h.confidence).padStart(5)}  ${h.first_action}`);
    if (!showEvidence) return;
    for (const e of h.evidence_for) lines.push(item('for', e));
    for (const e of h.evidence_against) lines.push(item('against', e));
    for (const m of h.missing_signals) lines.push(`     missing          ${m.sentence}`);
  });
  return `${lines.join('\n')}\n`;
}

function item(side: 'for' | 'against', e: Evidence): string {
  const w = `${e.weight >= 0 ? '+' : '−'}${Math.abs(e.weight).toFixed(2)}`;
  return `     ${side.padEnd(8)} ${w.padStart(6)}  ${e.sentence}`;
}
