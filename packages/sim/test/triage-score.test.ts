import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Hypothesis, Triage } from '@failsmall/core';
import { isCorrect, LABEL_CLASSES, scoreTriageRuns, type TriageLabel, type TriageRun } from '../src/index.ts';

/** A top hypothesis of `cls` naming `target`; `cls` may be `unknown`, which the classifier will be able to say. */
function top(cls: string, target?: string): Hypothesis {
  return {
    class: cls as Hypothesis['class'], confidence: 0.6, log_odds: 1, evidence_for: [], evidence_against: [], missing_signals: [], first_action: '',
    ...(target !== undefined ? { target: { kind: 'dependency', id: target } } : {}),
  };
}

const label = (l: Partial<TriageLabel> & Pick<TriageLabel, 'class'>): TriageLabel => ({ target: null, also: [], ...l });

describe('scoring a triage verdict against its label', () => {
  it('a benign label is answered by unknown, and by nothing else', () => {
    const benign = label({ class: 'benign' });
    assert.equal(isCorrect(top('unknown'), benign), true);
    assert.equal(isCorrect(undefined, benign), true, 'no hypothesis at all leads nothing either');
    assert.equal(isCorrect(top('internal-degradation', 'db'), benign), false);
  });

  it('unknown does not answer a cause', () => {
    assert.equal(isCorrect(top('unknown'), label({ class: 'ddos' })), false);
  });

  it('an also entry is a second correct answer, with its own target', () => {
    const two = label({ class: 'change-regression', target: 'r-1', also: [{ class: 'internal-degradation', target: 'db' }] });
    assert.equal(isCorrect(top('internal-degradation', 'db'), two), true);
    assert.equal(isCorrect(top('internal-degradation', 'cache'), two), false);
    assert.equal(isCorrect(top('third-party-failure', 'db'), two), false);
  });

  it('counts benign runs in per_class', () => {
    const run = (cls: TriageLabel['class'], correct: boolean): TriageRun => ({
      name: `${cls}-${correct}`, label: label({ class: cls }), first_alert_ms: 0, final: {} as Triage, correct, seconds_to_correct: correct ? 30 : null, steps: [],
    });
    const score = scoreTriageRuns([run('benign', true), run('benign', false), run('ddos', true)]);
    assert.deepEqual(Object.keys(score.per_class), [...LABEL_CLASSES]);
    assert.deepEqual(score.per_class.benign, { scenarios: 2, correct: 1, accuracy: 0.5, max_seconds_to_correct: 30 });
    assert.deepEqual(score.misclassified, ['benign-false']);
  });
});
