import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TRIAGE_CLASSES } from '@failsmall/core';
import { evaluateTriageScenario, loadTriageScenarios, scoreTriageRuns, type TriageRun } from '../src/index.ts';
import { root } from './helpers.ts';

/**
 * The labelled set of examples/triage/: issue 6's goals for triage, checked on every run.
 * (The timings are virtual time, so this is behaviour, not a benchmark.)
 */
const loaded = loadTriageScenarios(fileURLToPath(new URL('examples/triage/', root)));

describe('the labelled triage scenarios (examples/triage/)', () => {
  const runs: TriageRun[] = [];
  for (const { file, parsed } of loaded) {
    assert.ok(parsed.ok, `${file}: ${parsed.ok ? '' : parsed.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('; ')}`);
    runs.push(evaluateTriageScenario(parsed.value));
  }
  const score = scoreTriageRuns(runs);

  it('are each named after their file', () => {
    for (const { file, parsed } of loaded) if (parsed.ok) assert.ok(file.endsWith(`/${parsed.value.name}.yaml`), file);
  });

  it('hold at least 44 scenarios, at least 10 of each class', () => {
    assert.ok(score.scenarios >= 44, `${score.scenarios}`);
    for (const c of TRIAGE_CLASSES) assert.ok(score.per_class[c].scenarios >= 10, `${c}: ${score.per_class[c].scenarios}`);
  });

  it('are classified with at least 95% top-1 accuracy', () => {
    assert.ok(score.accuracy >= 0.95, `accuracy ${score.accuracy}; wrong: ${score.misclassified.join(', ')}`);
  });

  it('reach every correct verdict within 5 minutes of the first alert, and keep it', () => {
    for (const r of runs.filter((x) => x.correct)) {
      assert.ok(r.seconds_to_correct !== null && r.seconds_to_correct <= 300, `${r.name}: ${r.seconds_to_correct} s`);
    }
  });

  it('name the feature-file rollout in the 18 November replay, although a status page went down in the same minute', () => {
    const nov18 = runs.find((r) => r.name === 'nov18-replay');
    assert.ok(nov18);
    assert.ok(nov18.correct);
    const top = nov18.final.hypotheses[0];
    assert.equal(top?.class, 'change-regression');
    assert.deepEqual(top?.target, { kind: 'rollout', id: 'r-bm-1120', artifact: 'bot-management-feature-file', version: 'ff-1120' });
    assert.match(top?.first_action ?? '', /^stop pushing bot-management-feature-file and roll back rollout r-bm-1120 to ff-1115 /);
    const third = nov18.final.hypotheses.find((h) => h.class === 'third-party-failure');
    assert.ok(third?.evidence_for.some((e) => /status page has not answered since 11:21:00/.test(e.sentence)), 'the status page outage is seen, and weighed as weak');
    assert.ok(nov18.steps.every((s) => s.correct), 'right from the first alert on');
  });
});
