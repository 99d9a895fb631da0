import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RolloutEvent, RolloutState } from '@failsmall/core';
import { eventLine, logCommitted, VerdictChanges } from '../src/telemetry/event-lines.ts';
import { prettyLine } from '../src/telemetry/log.ts';
import { propagationLag } from '../src/telemetry/propagation.ts';
import { StageClock } from '../src/telemetry/stage-clock.ts';
import { timedStore } from '../src/telemetry/timed-store.ts';

const ev = (type: string, at: number, payload: Record<string, unknown> = {}, rollout_id: string | null = 'r1'): RolloutEvent => ({ type, at, rollout_id, payload });
const verdict = (gate: string, status: string) => ({ gate, stage: 'canary', status, reason: `gate ${gate} ${status}: 0.1 over 60 s` });

test('a committed event is one short line: the type in words, its scalar fields, warn when it needs attention', () => {
  const promoted = eventLine(ev('rollout.promoted', 1, { from_stage: 'canary', to_stage: 'global', actor: 'engine', nested: { big: 1 } }));
  assert.deepEqual(promoted, { level: 'info', msg: 'rollout promoted', fields: { event: 'rollout.promoted', rollout: 'r1', from_stage: 'canary', to_stage: 'global', actor: 'engine' } });
  const back = eventLine(ev('rollout.rolling_back', 2, { cause: 'gate', verdict: verdict('proxy/error_rate', 'fail') }));
  assert.equal(back.level, 'warn');
  assert.equal(back.fields.verdict, 'gate proxy/error_rate fail: 0.1 over 60 s', 'the verdict as its sentence');
  assert.equal(eventLine(ev('node.load_reported', 3, { node: 'n1' }, null)).level, 'debug', 'per node: not at info');
  assert.equal(eventLine(ev('gates.evaluated', 3)).level, 'debug', 'per check: not at info');
  assert.equal(eventLine(ev('token.revoked', 4, { name: 'ci' }, null)).msg, 'token revoked');
});

test('a gate that keeps passing is one line when it starts passing, and another when it fails', () => {
  const changes = new VerdictChanges();
  const evaluated = (status: string) => ev('gates.evaluated', 0, { verdicts: [verdict('proxy/error_rate', status), verdict('proxy/latency', 'pass')] });
  assert.deepEqual(changes.lines(evaluated('pass')).map((l) => `${l.fields.gate} ${l.msg}`), ['proxy/error_rate gate pass', 'proxy/latency gate pass']);
  for (let i = 0; i < 50; i++) assert.deepEqual(changes.lines(evaluated('pass')), []);
  const failed = changes.lines(evaluated('fail'));
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.level, 'warn');
  assert.equal(failed[0]?.fields.outcome, 'fail');
  changes.forget('r1');
  assert.equal(changes.lines(evaluated('fail')).length, 2, 'a finished rollout is forgotten');
});

test('logCommitted writes one line per state change and none per evaluation that changes nothing', () => {
  const lines: string[] = [];
  const log = { debug: () => {}, info: (_f: object, m: string) => { lines.push(`info ${m}`); }, warn: (_f: object, m: string) => { lines.push(`warn ${m}`); } };
  const changes = new VerdictChanges();
  const check = ev('gates.evaluated', 1, { verdicts: [verdict('g', 'pass')] });
  logCommitted(log, changes, [ev('rollout.started', 0), ev('rollout.stage_started', 0, { stage: 'canary' })]);
  for (let i = 0; i < 20; i++) logCommitted(log, changes, [check]);
  logCommitted(log, changes, [ev('rollout.completed', 9)]);
  assert.deepEqual(lines, ['info rollout started', 'info rollout stage started', 'info gate pass', 'info rollout completed']);
});

test('a stage is timed from its start to its promotion, completion or rollback; a restart keeps the stage in flight', () => {
  const clock = new StageClock();
  assert.equal(clock.ended(ev('rollout.stage_started', 1_000, { stage: 'canary' })), undefined);
  assert.deepEqual(clock.ended(ev('rollout.promoted', 61_000, { from_stage: 'canary' })), { stage: 'canary', seconds: 60, outcome: 'promoted' });
  clock.ended(ev('rollout.stage_started', 61_000, { stage: 'global' }));
  assert.deepEqual(clock.ended(ev('rollout.rolling_back', 91_000, { cause: 'gate' })), { stage: 'global', seconds: 30, outcome: 'rolled_back' });
  assert.equal(clock.ended(ev('rollout.rolled_back', 95_000)), undefined, 'the rollback\'s end ends no stage');

  const restarted = new StageClock();
  restarted.seed([{ id: 'r2', stage_index: 1, stage_started_at: 10_000, status: 'running', policy_spec: { stages: [{ name: 'canary' }, { name: 'global' }] } } as unknown as RolloutState]);
  assert.deepEqual(restarted.ended(ev('rollout.completed', 20_000, {}, 'r2')), { stage: 'global', seconds: 10, outcome: 'completed' });
  assert.equal(restarted.ended(ev('rollout.promoted', 20_000, {}, 'r3')), undefined, 'an unknown start is no sample');
});

test('propagation lag runs from the stage (or rollback) start to the node reporting the version it was given', () => {
  const rollout = { id: 'r1', artifact: 'a', status: 'running', to_version: 'v2', from_version: 'v1', stage_started_at: 1_000, rollback_started_at: null, assigned: ['n1'] } as unknown as RolloutState;
  const report = (node: string, serving: string, at: number, ok = true) => ev('node.load_reported', at, { node, artifact: 'a', ok, serving }, null);
  assert.equal(propagationLag(rollout, report('n1', 'v2', 3_500)), 2.5);
  assert.equal(propagationLag(rollout, report('n2', 'v2', 3_500)), undefined, 'not in the cohort');
  assert.equal(propagationLag(rollout, report('n1', 'v1', 3_500)), undefined, 'still the old version');
  assert.equal(propagationLag(rollout, report('n1', 'v2', 3_500, false)), undefined, 'a refused load');
  assert.equal(propagationLag(undefined, report('n1', 'v2', 3_500)), undefined, 'no rollout');
  const back = { ...rollout, status: 'rolling_back', rollback_started_at: 5_000 } as RolloutState;
  assert.equal(propagationLag(back, report('n1', 'v1', 6_000)), 1);
});

test('a pretty line reads time, level, message, then key=value', () => {
  assert.equal(prettyLine('{"level":40,"time":0,"pid":1,"hostname":"h","msg":"rollout paused","rollout":"r1","reason":"gate failed"}\n'),
    '00:00:00.000 WARN  rollout paused rollout=r1 reason="gate failed"\n');
  assert.equal(prettyLine('not json\n'), 'not json\n');
});

test('every store call is timed, on the store itself (private fields work), failures too', async () => {
  class Store {
    readonly #rows = ['a'];
    readonly incidents = { list: async () => [1] };
    async rows() { return this.#rows; }
    async broken(): Promise<never> { throw new Error('down'); }
  }
  const seen: string[] = [];
  const store = timedStore(new Store(), (op, s) => { assert.ok(s >= 0); seen.push(op); });
  assert.deepEqual(await store.rows(), ['a']);
  assert.deepEqual(await store.incidents.list(), [1]);
  await assert.rejects(store.broken(), /down/);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['rows', 'incidents.list', 'broken']);
});

test('the store hands every committed event to its listeners, its parts\' too, and none of a transaction that rolled back', async (t) => {
  const { openStore } = await import('../src/store/index.ts');
  const store = await openStore({ engine: 'sqlite', path: ':memory:' });
  t.after(() => store.close());
  const seen: string[] = [];
  const stop = store.onCommit((events) => { seen.push(...events.map((e) => e.type)); });
  await store.appendEvents([ev('token.created', 1, { name: 'ci' }, null)]);
  await store.upsertNode({ id: 'n1', labels: {}, modules: [] }, 2);
  assert.equal(await store.credentials.bind('n1', 'a'.repeat(64), 3), true);
  await assert.rejects(store.createRollout({ id: 'r1' } as unknown as RolloutState, [ev('rollout.started', 4)]));
  stop();
  await store.appendEvents([ev('token.revoked', 5, { name: 'ci' }, null)]);
  assert.deepEqual(seen, ['token.created', 'node.registered', 'node.enrolled']);
});
