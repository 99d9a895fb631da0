/**
 * The dashboard's view logic as pure functions of plain data: the pages' paths, the Rollouts
 * filters, the stage bar, the gate charts' series, the rollback's story, the actions a token may
 * take, the timeline and refusals, and the words for shares and times.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hrefOf, parseRoute } from '../src/app/routes.ts';
import { actionsFor } from '../src/view/actions.ts';
import { gateSeries, verdictWords } from '../src/view/gate-series.ts';
import { elapsed, shareOf } from '../src/view/measures.ts';
import { rollbackStory } from '../src/view/rollback.ts';
import { rolloutsPath, stageLabel, versionsLabel } from '../src/view/rollout-list.ts';
import { stageBar } from '../src/view/stage-bar.ts';
import { fleetSize, refusals, timeline } from '../src/view/timeline.ts';
import { ev, rollout, stage, T0, verdict } from './fixtures.ts';

test('paths name pages, with the Rollouts filters in the query; every route has a path back', () => {
  assert.deepEqual(parseRoute('/', ''), { page: 'rollouts', filter: { artifact: '', state: '', before: '' } });
  assert.deepEqual(parseRoute('/rollouts/', '?artifact=features&state=active&before=r-9'), { page: 'rollouts', filter: { artifact: 'features', state: 'active', before: 'r-9' } });
  assert.deepEqual(parseRoute('/rollouts/r-0a1b2c3d4e', ''), { page: 'rollout', id: 'r-0a1b2c3d4e' });
  assert.deepEqual(parseRoute('/nope', ''), { page: 'not-found', path: '/nope' });
  assert.deepEqual(parseRoute('/fleet', '?artifact=features&by=region'), { page: 'fleet', view: { artifact: 'features', by: 'region' } });
  assert.equal(hrefOf({ page: 'fleet', view: { artifact: 'features', by: '' } }), '/fleet?artifact=features');
  assert.deepEqual(parseRoute('/incidents/i-1/postmortem', ''), { page: 'postmortem', id: 'i-1' });
  for (const route of [{ page: 'incidents' }, { page: 'incident', id: 'i 1' }, { page: 'postmortem', id: 'i-1' }] as const) assert.deepEqual(parseRoute(hrefOf(route), ''), route);
  assert.equal(hrefOf({ page: 'rollouts', filter: { artifact: 'features', state: 'rolled_back', before: '' } }), '/rollouts?artifact=features&state=rolled_back');
  assert.equal(hrefOf({ page: 'rollouts', filter: { artifact: '', state: '', before: 'r-9' } }), '/rollouts?before=r-9');
  assert.equal(hrefOf({ page: 'rollouts', filter: { artifact: '', state: '', before: '' } }), '/rollouts');
  assert.equal(hrefOf({ page: 'rollout', id: 'r-1 2' }), '/rollouts/r-1%202');
  assert.deepEqual(parseRoute(hrefOf({ page: 'rollout', id: 'r-1 2' }), ''), { page: 'rollout', id: 'r-1 2' });
});

test('the Rollouts filters and page go to the API; active means running, paused or rolling back', () => {
  assert.equal(rolloutsPath({ artifact: '', state: '', before: '' }, 50), '/v1/rollouts?limit=50');
  assert.equal(rolloutsPath({ artifact: '', state: 'active', before: '' }, 50), '/v1/rollouts?limit=50&status=running%2Cpaused%2Crolling_back');
  assert.equal(rolloutsPath({ artifact: 'features', state: 'rolled_back', before: 'r-9' }, 50), '/v1/rollouts?limit=50&artifact=features&status=rolled_back&before=r-9');
  assert.equal(rolloutsPath({ artifact: 'a&b', state: '', before: '' }, 10), '/v1/rollouts?limit=10&artifact=a%26b');
  assert.equal(stageLabel(rollout({ stage_index: 1 })), 'global 2/2');
  assert.equal(versionsLabel(rollout({ from_version: null, to_version: 'v1' })), '(none) → v1');
});

test('the stage bar says each stage in words, the bake against the control plane\'s clock, and a holdback', () => {
  const baking = stageBar(rollout(), T0 + 1000 + 12_000);
  assert.deepEqual(baking.cells.map((c) => [c.name, c.mark, c.words, c.scope]), [['canary', 'current', 'baking', '10% nodes'], ['global', 'todo', 'to come', '100% nodes']]);
  assert.equal(baking.progress, 'baking 12s of 1m');
  assert.equal(baking.baked, 0.2);
  // Unwatched time is not bake, as in the engine.
  assert.equal(stageBar(rollout({ bake_unwatched_ms: 10_000 }), T0 + 1000 + 12_000).progress, 'baking 2s of 1m');
  const back = stageBar(rollout({ status: 'rolled_back' }), T0);
  assert.deepEqual(back.cells.map((c) => c.words), ['rolled back here', 'to come']);
  assert.equal(back.progress, 'rolled back');
  assert.equal(back.baked, null);
  assert.deepEqual(stageBar(rollout({ status: 'completed', stage_index: 1 }), T0).cells.map((c) => c.words), ['done', 'done']);
  assert.equal(stageBar(rollout({ phase: 'applying', bake_started_at: null }), T0).progress, 'applying');
  const holdback = rollout({ policy_spec: { name: 'h', stages: [stage('canary'), stage('global', { holdback: { scope: { type: 'percent', percent: 1, selector: [], text: '1% nodes' }, for_ms: 7_200_000 } })] } });
  assert.equal(stageBar(holdback, T0).cells[1]?.holdback, 'holds back 1% nodes on the old version for 2h');
});

test('gate series: one per stage and gate, value, baseline and threshold over time, and each label value\'s verdicts for a split gate', () => {
  const split = (at: number, eu: 'pass' | 'fail') => verdict({
    gate: 'proxy/error_rate', stage: 'canary', at, value: 0.01, baseline: 0.002, direction: 'max', threshold: 0.05, status: eu,
    groups: [{ label: 'region', value: 'eu', status: eu, cohort_nodes: 2, baseline_nodes: 5, reason: '', cohort_value: eu === 'fail' ? 0.2 : 0.01, baseline_value: 0.002 }, { label: 'region', value: 'us', status: 'pass', cohort_nodes: 2, baseline_nodes: 5, reason: '' }],
  });
  const series = gateSeries([verdict({ at: T0 }), split(T0, 'pass'), verdict({ at: T0 + 1000, value: 0, status: 'fail' }), split(T0 + 1000, 'fail'), verdict({ stage: 'global', at: T0 + 2000 })]);
  assert.deepEqual(series.map((s) => s.key), ['canary/bot-management/load_success_rate', 'canary/proxy/error_rate', 'global/bot-management/load_success_rate']);
  const [load, errors] = series;
  assert.deepEqual(load?.x, [T0 / 1000, T0 / 1000 + 1]);
  assert.deepEqual(load?.value, [1, 0]);
  assert.deepEqual(load?.threshold, [0.999, 0.999]);
  assert.deepEqual(load?.statuses, ['pass', 'fail']);
  assert.equal(load?.latest.status, 'fail');
  // One line per label value; a verdict stored before groups carried their numbers has none.
  assert.deepEqual(errors?.groups, [{ label: 'region', value: 'eu', statuses: ['pass', 'fail'], values: [0.01, 0.2] }, { label: 'region', value: 'us', statuses: ['pass', 'pass'], values: [null, null] }]);
  // A baseline test's verdict has no fixed threshold to draw.
  assert.deepEqual(gateSeries([verdict({ test: 'node contrast' })])[0]?.threshold, [null]);
  assert.deepEqual(['fail', 'pass', 'inconclusive'].map((s) => verdictWords(s as 'fail')), ['failed', 'passed', 'inconclusive']);
});

test('a rollback says the failing gate, its evidence, and the time from detection to the last node back', () => {
  const failing = verdict({ status: 'fail', value: 0, at: T0 + 5000, reason: 'gate bot-management/load_success_rate on stage canary failed: 0 < 0.999' });
  const r = rollout({ status: 'rolled_back', rollback_cause: 'gate', rollback_started_at: T0 + 5010, outcome: { stage: 'canary', reason: failing.reason, verdict: failing } });
  const story = rollbackStory(r, [ev(1, 'rollout.rolling_back', { reason: failing.reason }, T0 + 5010), ev(2, 'rollout.rolled_back', {}, T0 + 6800)]);
  assert.deepEqual(story, { stage: 'canary', verdict: failing, reason: failing.reason, detected_at: T0 + 5000, back_at: T0 + 6800, took_ms: 1800 });
  const rolling = rollbackStory(rollout({ status: 'rolling_back', rollback_cause: 'abort', rollback_started_at: T0 + 10 }), [ev(1, 'rollout.rolling_back', { reason: 'aborted by admin: wrong file' })]);
  assert.equal(rolling?.reason, 'aborted by admin: wrong file');
  assert.equal(rolling?.back_at, null);
  assert.equal(rolling?.took_ms, null);
  assert.equal(rollbackStory(rollout(), []), null);
});

test('actions follow the state and the token\'s grants: a viewer gets none, promote is an approver\'s', () => {
  const running = rollout();
  assert.deepEqual(actionsFor(running, ['viewer']), []);
  assert.deepEqual(actionsFor(running, ['viewer', 'deployer']).map((a) => a.type), ['pause', 'abort']);
  assert.deepEqual(actionsFor(running, ['viewer', 'deployer', 'approver']).map((a) => a.label), ['Pause', 'Promote', 'Abort']);
  assert.deepEqual(actionsFor(rollout({ phase: 'awaiting_approval' }), ['viewer', 'deployer', 'approver']).map((a) => a.label), ['Pause', 'Approve', 'Abort']);
  assert.deepEqual(actionsFor(rollout({ status: 'paused' }), ['viewer', 'deployer']).map((a) => a.type), ['resume', 'abort']);
  assert.deepEqual(actionsFor(rollout({ status: 'rolled_back' }), ['viewer', 'deployer', 'approver', 'admin']), []);
  assert.equal(actionsFor(running, ['deployer']).find((a) => a.type === 'abort')?.consequence, 'Every node given v2 goes back to v1.');
  assert.match(actionsFor(running, ['approver']).find((a) => a.type === 'promote')?.consequence ?? '', /moves to stage global now/);
});

test('the timeline says each transition as rollout watch does; refusals once per node; the fleet size from the start', () => {
  const events = [
    ev(1, 'rollout.started', { artifact: 'features', from_version: 'v1', to_version: 'v2', policy: 'quick', fleet_nodes: 4, actor: 'admin' }),
    ev(2, 'gates.evaluated', { verdicts: [verdict()] }),
    ev(3, 'rollout.baking', { stage: 'canary', reason: 'all 1 cohort nodes reported the load (1 failed)', failures: [{ node: 'n2', error: 'validate: 300 entries > max_entries 200', serving: 'v1' }] }),
    ev(4, 'rollout.baking', { stage: 'canary', reason: 'again', failures: [{ node: 'n2', error: 'again', serving: 'v1' }, { node: 'n3', error: 'apply failed' }] }),
  ];
  const lines = timeline(events);
  assert.deepEqual(lines.map((l) => l.type), ['rollout.started', 'rollout.baking', 'rollout.baking']);
  assert.equal(lines[0]?.text, 'rollout r-0a1b2c3d4e: features v1 → v2 under policy quick (4 nodes), started by admin');
  assert.match(lines[1]?.text ?? '', /^stage canary: all 1 cohort nodes reported the load \(1 failed\); baking · n2 refused it \(validate: 300 entries > max_entries 200\); it keeps serving its last known-good v1$/);
  assert.deepEqual(refusals(events), [{ node: 'n2', error: 'validate: 300 entries > max_entries 200', serving: 'v1' }, { node: 'n3', error: 'apply failed', serving: null }]);
  assert.equal(fleetSize(events), 4);
  assert.equal(fleetSize([]), null);
});

test('shares and elapsed times read as people say them', () => {
  assert.equal(shareOf(1, 4), '25%');
  assert.equal(shareOf(1, 200), '0.5%');
  assert.equal(shareOf(3, 7), '43%');
  assert.equal(shareOf(1, 0), '0%');
  assert.equal(elapsed(9), '9 ms');
  assert.equal(elapsed(1840), '1.8 s');
  assert.equal(elapsed(125_400), '2m5s');
});
