/**
 * The chaos scripts' judge (bench/chaos/invariants.ts) on hand-written logs: it must pass a sound
 * log and name each kind of damage a crash could do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logViolations, type LoggedEvent } from '../bench/chaos/invariants.ts';

const STAGES = ['canary', 'global'];
const base = { stages: STAGES, bakeMs: 1000, intervalMs: 100, blind: [] };

function log(...steps: [string, number, Record<string, unknown>?][]): LoggedEvent[] {
  return steps.map(([type, at, payload], i) => ({ seq: i + 1, type, at, payload: payload ?? {} }));
}

const completed = log(
  ['rollout.started', 0], ['rollout.stage_started', 0, { stage: 'canary' }], ['rollout.baking', 100, { stage: 'canary' }],
  ['gates.evaluated', 600, { stage: 'canary' }], ['rollout.promoted', 1200, { from_stage: 'canary', to_stage: 'global' }],
  ['rollout.stage_started', 1200, { stage: 'global' }], ['rollout.baking', 1300, { stage: 'global' }], ['rollout.completed', 2400, { stage: 'global' }],
);

test('a sound completed log has no violations', () => {
  assert.deepEqual(logViolations(completed, { ...base, outcome: 'completed' }), []);
});

test('a rollback at either stage, before or after its bake began, is sound', () => {
  const atCanary = log(['rollout.started', 0], ['rollout.stage_started', 0, { stage: 'canary' }], ['rollout.rolling_back', 50, { stage: 'canary' }], ['rollout.rolled_back', 90, { stage: 'canary' }]);
  assert.deepEqual(logViolations(atCanary, { ...base, outcome: 'rolled_back' }), []);
  const atGlobal = [...completed.slice(0, 7), ...log(['rollout.rolling_back', 1500, { stage: 'global' }], ['rollout.rolled_back', 1600, { stage: 'global' }]).map((e, i) => ({ ...e, seq: 8 + i }))];
  assert.deepEqual(logViolations(atGlobal, { ...base, outcome: 'rolled_back' }), []);
});

test('a doubled promote, a lost bake, a wrong ending and a seq out of order are each named', () => {
  const doubled = [...completed.slice(0, 5), { ...completed[4]!, seq: 6 }, ...completed.slice(5).map((e) => ({ ...e, seq: e.seq + 1 }))];
  assert.match(logViolations(doubled, { ...base, outcome: 'completed' }).join('\n'), /transitions were \[.*promoted canary->global, promoted canary->global/);
  const lost = completed.filter((e) => !(e.type === 'rollout.baking' && e.payload.stage === 'global'));
  assert.match(logViolations(lost, { ...base, outcome: 'completed' }).join('\n'), /a sound completed rollout reads/);
  assert.match(logViolations(completed, { ...base, outcome: 'rolled_back' }).join('\n'), /a sound rolled_back rollout reads/);
  const swapped = completed.map((e) => (e.seq === 3 ? { ...e, seq: 9 } : e));
  assert.match(logViolations(swapped, { ...base, outcome: 'completed' }).join('\n'), /event seq 4 follows 9/);
});

test('a stage that passed on bake time inside a blind window is named; one outside it is not', () => {
  // The canary baked 100 → 1200 ms; 700 ms of it nobody watched: 400 ms watched, under 1000 - 2×100.
  const blind = [{ from: 300, to: 1000 }];
  assert.match(logViolations(completed, { ...base, outcome: 'completed', blind }).join('\n'), /stage canary passed after 1100 ms of bake of which 700 ms nobody watched \(400 ms watched/);
  // The same window before the bake began costs nothing.
  assert.deepEqual(logViolations(completed, { ...base, outcome: 'completed', blind: [{ from: -900, to: 50 }] }), []);
});
