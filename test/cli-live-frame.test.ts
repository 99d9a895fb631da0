/**
 * The live view of `rollout watch` as pure functions: the frame a terminal redraws, and the
 * lines a piped watch prints (one per change, never the same gate line every second).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RolloutState, StageSpec, Verdict } from '@failsmall/core';
import { changedLines, cohortChange } from '../packages/cli/src/live/changes.ts';
import { ago } from '@failsmall/core';
import { frame, trend } from '../packages/cli/src/live/frame.ts';
import { EMPTY_HISTORY, record, type History } from '../packages/cli/src/live/history.ts';
import { Region } from '../packages/cli/src/live/region.ts';
import type { EventRecord } from '@failsmall/core';

const T0 = 1_700_000_000_000;
const stage = (name: string): StageSpec => ({
  name, scope: { kind: 'percent', value: 10, text: '10% nodes' } as unknown as StageSpec['scope'], health_gates: [{} as StageSpec['health_gates'][number]],
  rollback_on_failure: true, bake_ms: 10_000, interval_ms: 1000, load_timeout_ms: 5000, max_extension_ms: 5000, on_inconclusive: 'pause', manual_approval: false,
});

function verdict(o: Partial<Verdict> = {}): Verdict {
  return {
    gate: 'bot-management/load_success_rate', stage: 'global', module: 'bot-management', metric: 'load_success_rate', status: 'pass', value: 1,
    direction: 'min', threshold: 0.999, samples: 4, min_samples: 1, nodes: 4, cohort_nodes: 4, window_ms: 2000, baseline: null, baseline_samples: 0,
    query: 'load_success_rate', basis: 'latest-report', at: T0, reason: 'ok', ...o,
  };
}

function rollout(o: Partial<RolloutState> = {}): RolloutState {
  return {
    id: 'r-0a1b2c3d4e', artifact: 'features', module: 'bot-management', policy: 'quick', policy_spec: { name: 'quick', stages: [stage('canary'), stage('global')] },
    from_version: 'v1', to_version: 'v2', status: 'running', phase: 'baking', stage_index: 1, stage_started_at: T0, bake_started_at: T0 + 1000,
    last_evaluated_at: T0 + 4000, assigned: ['n1', 'n2', 'n3', 'n4'], paused_phase: null, paused_status: null, pause_reason: null, extension_base: null,
    rollback_cause: null, rollback_started_at: null, last_verdicts: [verdict()], outcome: null, created_at: T0 - 60_000, updated_at: T0 + 4000,
    created_by: 'admin', rev: 7, ...o,
  };
}

const ev = (seq: number, type: string, payload: Record<string, unknown>): EventRecord => ({ seq, type, at: T0 + seq, rollout_id: 'r-0a1b2c3d4e', payload });

test('the frame shows the stage bar with bake progress, the cohort, each gate with its trend, refusals and the end', () => {
  let h: History = EMPTY_HISTORY;
  h = record(h, ev(1, 'rollout.started', { fleet_nodes: 8 }));
  h = record(h, ev(2, 'rollout.baking', { failures: [{ node: 'n3', error: 'apply: reload command exited 1', serving: 'v1' }] }));
  for (const [i, value] of [0.9995, 1, 1].entries()) h = record(h, ev(3 + i, 'gates.evaluated', { verdicts: [verdict({ value })] }));
  const lines = frame({ rollout: rollout(), cohort: { nodes: 4, reported: 4, failed_loads: 1 }, history: h, now: T0 + 4000 });
  assert.deepEqual(lines, [
    'r-0a1b2c3d4e  features v1 → v2  policy quick  running, started 1m ago',
    'stages  ✓ canary  ▶ global  2/2 baking 3s of 10s',
    'cohort  3/8 nodes run v2 (stage cohort 4, fleet 8), 1 refused it',
    'gates   pass  bot-management/load_success_rate  1 >= 0.999  → +++',
    'refused n3: apply: reload command exited 1; serves v1',
  ]);
  const ended = frame({
    rollout: rollout({ status: 'rolled_back', stage_index: 0, last_verdicts: [verdict({ stage: 'canary', status: 'fail', value: 0 })], outcome: { stage: 'canary', reason: 'gate failed' } }),
    cohort: { nodes: 1, reported: 1, failed_loads: 1 }, history: EMPTY_HISTORY, now: T0,
  });
  assert.equal(ended[1], 'stages  ✗ canary  · global  1/2 rolled back');
  assert.match(ended[3] ?? '', /^gates {3}FAIL {2}bot-management\/load_success_rate {2}0 < 0\.999/);
  assert.equal(ended.at(-1), 'rolled back: gate failed');
});

test('the frame says what a rollout waits for: a human to resume it, or to promote it', () => {
  const paused = frame({ rollout: rollout({ status: 'paused', pause_reason: 'pause by alice: looks odd' }), cohort: { nodes: 4, reported: 4, failed_loads: 0 }, history: EMPTY_HISTORY, now: T0 });
  assert.equal(paused[1], 'stages  ✓ canary  ‖ global  2/2 paused');
  assert.equal(paused.at(-1), 'PAUSED  pause by alice: looks odd (failsmall rollout resume r-0a1b2c3d4e)');
  const held = frame({ rollout: rollout({ phase: 'awaiting_approval', stage_index: 0, last_verdicts: [] }), cohort: { nodes: 1, reported: 1, failed_loads: 0 }, history: EMPTY_HISTORY, now: T0 });
  assert.equal(held[1], 'stages  ▶ canary  · global  1/2 awaiting approval');
  assert.equal(held[2], 'cohort  1/1 nodes run v2 (stage cohort 1)', 'without the start event, the cohort is the target');
  assert.equal(held[3], 'gates   no verdict yet');
  assert.equal(held.at(-1), 'WAITING for approval (failsmall rollout promote r-0a1b2c3d4e)');
});

test('a trend arrow compares the latest value with the one before; marks show the last verdicts', () => {
  assert.equal(trend([verdict({ value: 1 }), verdict({ value: 0.5, status: 'fail' })]), '↓ +x');
  assert.equal(trend([verdict({ value: 0.5 }), verdict({ value: 0.9 })]), '↑ ++');
  assert.equal(trend([verdict({ value: null, status: 'inconclusive' })]), '  ?');
  assert.equal(ago(59_000), '59s');
  assert.equal(ago(3 * 60_000 + 5000), '3m');
  assert.equal(ago(50 * 3_600_000), '2d');
});

test('a piped watch prints a gate line only when its verdict changes, not at every evaluation', () => {
  let said = {};
  const printed: string[] = [];
  const statuses: Verdict['status'][] = ['inconclusive', 'pass', 'pass', 'pass', 'pass', 'fail', 'fail'];
  statuses.forEach((status, i) => {
    const out = changedLines(ev(i, 'gates.evaluated', { verdicts: [verdict({ status, value: status === 'fail' ? 0 : 1 })] }), said);
    said = out.said;
    printed.push(...out.lines);
  });
  assert.equal(printed.length, 3, printed.join('\n'));
  assert.match(printed[0] ?? '', /^ {4}inconclusive /);
  assert.match(printed[1] ?? '', /^ {4}pass {2}bot-management\/load_success_rate: 1 >= 0\.999/);
  assert.match(printed[2] ?? '', /^ {4}FAIL {2}bot-management\/load_success_rate: 0 < 0\.999/);
  // The same gate on the next stage judges another cohort: its first verdict is news.
  assert.equal(changedLines(ev(9, 'gates.evaluated', { verdicts: [verdict({ stage: 'next', status: 'fail', value: 0 })] }), said).lines.length, 1);
  assert.deepEqual(changedLines(ev(10, 'rollout.completed', { stage: 'global', nodes: 4, reason: 'done' }), said).lines, ['  completed at stage global: 4 nodes run the new version (done)']);
});

test('while a stage applies, a piped watch says each change in how many cohort nodes took the version, once', () => {
  const applying = rollout({ phase: 'applying', stage_index: 1, bake_started_at: null });
  const first = cohortChange(applying, { nodes: 4, reported: 1, failed_loads: 0 }, '');
  assert.deepEqual(first.lines, ['  stage global: 1 of 4 cohort nodes run v2']);
  assert.deepEqual(cohortChange(applying, { nodes: 4, reported: 1, failed_loads: 0 }, first.said).lines, [], 'the same count is not news');
  assert.deepEqual(cohortChange(applying, { nodes: 4, reported: 3, failed_loads: 1 }, first.said).lines, ['  stage global: 2 of 4 cohort nodes run v2 (1 refused it)']);
  assert.deepEqual(cohortChange(rollout(), { nodes: 4, reported: 4, failed_loads: 0 }, first.said).lines, [], 'baking: rollout.baking said it');
});

test('the region moves the cursor up over the last frame and erases it before drawing the next; lines above stay', () => {
  let screen = '';
  const region = new Region((t) => { screen += t; }, () => 30);
  region.draw(['a', 'b']);
  region.above(['log line']);
  region.draw(['c', 'a line far longer than the thirty columns of this terminal']);
  assert.equal(screen, 'a\nb\n\x1b[2A\x1b[Jlog line\na\nb\n\x1b[2A\x1b[Jc\na line far longer than the t…\n');
});
