import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate, type TriageRun } from '../src/triage/index.ts';

/** A run whose every step said `confidence` and was right or wrong; only the fields calibrate reads. */
function run(confidence: number, correct: boolean, steps = 1): TriageRun {
  const s = { at_ms: 0, class: 'ddos' as const, confidence, target: null, correct };
  return { name: 'x', label: { class: 'ddos', target: null, also: [] }, first_alert_ms: 0, correct, seconds_to_correct: correct ? 0 : null,
    final: { now_ms: 0, first_alert_ms: 0, first_error_ms: null, hypotheses: [{ class: 'ddos', confidence, log_odds: 0, evidence_for: [], evidence_against: [], missing_signals: [], first_action: '' }], unexplained: 0, summary: '' },
    steps: new Array(steps).fill(s) } as unknown as TriageRun;
}

describe('calibration: stated confidence against observed accuracy', () => {
  it('bins readings, and is perfect when "80%" comes true 8 times in 10', () => {
    const runs = [...new Array(8).fill(0).map(() => run(0.85, true)), run(0.85, false), run(0.85, false)];
    const c = calibrate(runs);
    const bin = c.bins.find((b) => b.from === 0.8);
    assert.deepEqual([bin?.weight, bin?.stated, bin?.observed], [10, 0.85, 0.8]);
    assert.ok(Math.abs(c.ece - 0.05) < 1e-9, `ece ${c.ece}`);
    assert.ok(Math.abs(c.brier - (8 * 0.15 ** 2 + 2 * 0.85 ** 2) / 10) < 1e-4, `brier ${c.brier}`);
  });

  it('weighs each run as one, however many steps it has', () => {
    const c = calibrate([run(0.99, true, 100), run(0.4, false, 1)]);
    assert.equal(c.bins.find((b) => b.from === 0.99)?.weight, 1);
    assert.equal(c.bins.find((b) => b.from === 0.3)?.weight, 1);
    const final = calibrate([run(1, true)], { at: 'final' });
    assert.equal(final.bins.at(-1)?.weight, 1, 'a confidence of exactly 1 lands in the last bin');
  });
});
