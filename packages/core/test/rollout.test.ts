import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  applyCommand, emptyAggregate, gateQueries, nestedCohort, parseDeclarations, startRollout, step,
  type FleetNode, type GateObservation, type NodeLoad, type PolicySpec, type RolloutState, type StepOutput,
} from '../src/index.ts';

const POLICY_YAML = `
modules:
  bot-management: { on_load_failure: serve-stale }
  proxy: { on_load_failure: serve-stale }
policies:
  three-stage:
    interval: 1s
    bake: 3s
    load_timeout: 5s
    max_extension: 4s
    stages:
      - name: canary
        scope: 1% nodes
        health_gates: &gates
          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 5s }
          - { module: proxy, metric: error_rate, threshold: 0.01, window: 5s }
      - { name: partial, scope: 10% nodes, health_gates: *gates }
      - { name: global, scope: 100% nodes, health_gates: *gates }
`;

function policy(text = POLICY_YAML, name = 'three-stage'): PolicySpec {
  const parsed = parseDeclarations(text, { file: 'test.yaml' });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
  const p = parsed.value.policies.find((x) => x.name === name);
  if (!p) throw new Error(`no policy ${name}`);
  return p;
}

function fleet(n: number): FleetNode[] {
  return Array.from({ length: n }, (_, i) => ({ id: `node-${i}`, labels: { customer_tier: i % 4 === 0 ? 'free' : 'pro', region: i % 2 ? 'eu' : 'us' } }));
}

function start(p = policy(), f = fleet(100), now = 0): RolloutState {
  const out = startRollout({ id: 'r-test', artifact: 'bm', module: 'bot-management', policy: p, fromVersion: 'v1', toVersion: 'v2', fleet: f, actor: 'tester', now });
  if ('error' in out) throw new Error(out.error.message);
  return out.state;
}

/** Every assigned node reported a load of to_version (ok or not); everyone else serves v1. */
function loadsFor(state: RolloutState, f: FleetNode[], ok: (id: string) => boolean): Map<string, NodeLoad> {
  const assigned = new Set(state.assigned);
  return new Map(f.map((n) => [n.id, assigned.has(n.id)
    ? { version: 'v2', ok: ok(n.id), serving: ok(n.id) ? 'v2' : 'v1' }
    : { version: 'v1', ok: true, serving: 'v1' }]));
}

/** Healthy observations for every gate due: loads all ok, error rate 0.1%. */
function observed(state: RolloutState, now: number, ok: (id: string) => boolean, errorRate = 0.001, reporting?: number): Map<string, GateObservation> {
  const obs = new Map<string, GateObservation>();
  const nodes = reporting ?? state.assigned.length;
  for (const q of gateQueries(state, now)) {
    const cohort = { ...emptyAggregate(), nodes };
    if (q.gate.metric === 'load_success_rate') {
      cohort.loads_attempted = nodes;
      cohort.loads_succeeded = state.assigned.slice(0, nodes).filter(ok).length;
    }
    else { cohort.requests = nodes * 1000; cohort.errors = Math.round(nodes * 1000 * errorRate); }
    obs.set(q.gate.name, { cohort, cohortNodes: state.assigned.length, baseline: null, windowMs: q.to - q.from });
  }
  return obs;
}

function run(state: RolloutState, f: FleetNode[], now: number, opts: { ok?: (id: string) => boolean; errorRate?: number; reporting?: number } = {}): StepOutput {
  const ok = opts.ok ?? (() => true);
  return step({ state, fleet: f, loads: loadsFor(state, f, ok), observations: observed(state, now, ok, opts.errorRate, opts.reporting), now });
}

/** Drives the engine on a 500 ms tick until it reaches a terminal or paused status. */
function drive(state: RolloutState, f: FleetNode[], opts: Parameters<typeof run>[3] = {}, until = 120_000) {
  const events: StepOutput['events'] = [];
  let s = state;
  for (let now = 500; now <= until; now += 500) {
    // after a transition the shell decides again at once; model that with a second step
    for (let again = 0; again < 3; again++) {
      const out = run(s, f, now, opts);
      events.push(...out.events);
      if (out.state === s) break;
      s = out.state;
    }
    if (['completed', 'rolled_back', 'aborted', 'paused'].includes(s.status)) break;
  }
  return { state: s, events };
}

describe('rollout engine: a healthy rollout', () => {
  it('goes canary → partial → global and completes, with nested cohorts of 1, 10 and 100 nodes', () => {
    const f = fleet(100);
    const { state, events } = drive(start(policy(), f), f);
    assert.equal(state.status, 'completed');
    const stages = events.filter((e) => e.type === 'rollout.stage_started').map((e) => [e.payload.stage, e.payload.cohort_nodes]);
    assert.deepEqual(stages, [['partial', 10], ['global', 100]]);
    assert.equal(state.assigned.length, 100);
    assert.equal(events.filter((e) => e.type === 'rollout.completed').length, 1);
  });

  it('does not promote before bake has passed, even when every gate passes', () => {
    const f = fleet(100);
    let s = start(policy(), f);
    s = run(s, f, 100).state; // loads reported → baking at t=100
    assert.equal(s.phase, 'baking');
    s = run(s, f, 200).state; // first evaluation: all pass, bake (3 s) not over
    assert.equal(s.stage_index, 0);
    assert.equal(s.last_verdicts.every((v) => v.status === 'pass'), true);
    s = run(s, f, 1300).state;
    s = run(s, f, 2300).state;
    assert.equal(s.stage_index, 0, 'still canary at 2.3 s');
    s = run(s, f, 3300).state;
    assert.equal(s.stage_index, 1, 'promoted once bake passed');
  });

  it('counts only watched time as bake: a control plane down for 23 s does not promote on its first checks back', () => {
    const f = fleet(100);
    let s = start(policy(), f);
    s = run(s, f, 100).state; // baking from t=100; bake 3 s, interval 1 s
    s = run(s, f, 200).state;
    s = run(s, f, 1200).state; // 1.1 s watched
    // Down from 1.2 s to 24.2 s: no checks. The first check back sees a 23 s gap.
    const back = run(s, f, 24_200);
    const extended = back.events.find((e) => e.type === 'rollout.bake_extended');
    assert.ok(extended, 'the gap is reported');
    assert.equal(extended.payload['gap_ms'], 23_000);
    assert.equal(extended.payload['unwatched_ms'], 22_000, 'all but one interval of the gap is unwatched');
    assert.equal(extended.payload['watched_ms'], 2_100);
    assert.match(String(extended.payload['reason']), /no gate check for 23s .*bake counts only watched time: 2s100ms of 3s baked/);
    s = back.state;
    assert.equal(s.stage_index, 0, 'no promote on the first check back (24.1 s after bake began, 2.1 s of it watched)');
    s = run(s, f, 25_200).state;
    assert.equal(s.stage_index, 1, 'promoted once 3.1 s had been watched');
    const promoted = run(back.state, f, 25_200).events.find((e) => e.type === 'rollout.promoted');
    assert.match(String(promoted?.payload['reason']), /after baking 3s100ms/);
  });

  it('a short stall under two intervals still counts, and the old way would have promoted after the outage', () => {
    const f = fleet(100);
    let s = start(policy(), f);
    s = run(s, f, 100).state;
    s = run(s, f, 200).state;
    s = run(s, f, 1900).state; // a 1.7 s gap: under 2 intervals, watched
    assert.equal(s.bake_unwatched_ms ?? 0, 0);
    s = run(s, f, 3200).state;
    assert.equal(s.stage_index, 1, 'promoted once 3 s had been watched');
  });

  it('increments rev by exactly one per persisted transition', () => {
    const f = fleet(10);
    const s0 = start(policy(), f);
    const s1 = run(s0, f, 100).state; // applying → baking
    assert.equal(s1.rev, s0.rev + 1);
    const s2 = run(s1, f, 150).state; // first evaluation
    assert.equal(s2.rev, s1.rev + 1);
    const same = run(s2, f, 400);
    assert.equal(same.state, s2, 'no evaluation due before the interval: the state object is returned unchanged');
    assert.deepEqual(same.events, []);
  });
});

describe('rollout engine: a bad version', () => {
  it('rolls back at the canary when load_success_rate fails, and names the gate and its evidence', () => {
    const f = fleet(100);
    const { state, events } = drive(start(policy(), f), f, { ok: () => false });
    assert.equal(state.status, 'rolled_back');
    assert.equal(state.outcome?.stage, 'canary');
    assert.equal(state.outcome?.verdict?.gate, 'bot-management/load_success_rate');
    assert.equal(state.outcome?.verdict?.status, 'fail');
    assert.equal(state.outcome?.verdict?.value, 0);
    assert.equal(state.assigned.length, 1, 'only the canary node ever got the bad version');
    const rb = events.find((e) => e.type === 'rollout.rolling_back');
    assert.ok(rb, 'a rolling_back event');
    assert.match(String(rb.payload.reason), /load_success_rate.*failed: 0 < 0\.999/);
  });

  it('rolls back on a failing error_rate in a later stage', () => {
    const f = fleet(100);
    let s = start(policy(), f);
    const first = drive(s, f, {}, 3500); // canary passes
    s = first.state;
    assert.equal(s.stage_index, 1);
    const { state } = drive(s, f, { errorRate: 0.05 });
    assert.equal(state.status, 'rolled_back');
    assert.equal(state.outcome?.stage, 'partial');
    assert.equal(state.outcome?.verdict?.gate, 'proxy/error_rate');
  });

  it('pauses instead of rolling back when rollback_on_failure is false', () => {
    const text = POLICY_YAML.replace('      - { name: partial', '        rollback_on_failure: false\n      - { name: partial');
    const f = fleet(100);
    const { state } = drive(start(policy(text), f), f, { ok: () => false });
    assert.equal(state.status, 'paused');
    assert.match(state.pause_reason ?? '', /rollback_on_failure is false/);
  });

  it('confirms the rollback only when every node that got the new version serves the old one again', () => {
    const f = fleet(100);
    let s = start(policy(), f);
    s = run(s, f, 100, { ok: () => false }).state;
    s = run(s, f, 200, { ok: () => false }).state;
    assert.equal(s.status, 'rolling_back');
    const stillOnV2 = new Map<string, NodeLoad>(s.assigned.map((id) => [id, { version: 'v2', ok: true, serving: 'v2' }]));
    const waiting = step({ state: s, fleet: f, loads: stillOnV2, observations: new Map(), now: 300 });
    assert.equal(waiting.state.status, 'rolling_back', 'a node still serving v2 holds the rollback open');
    const back = new Map<string, NodeLoad>(s.assigned.map((id) => [id, { version: 'v1', ok: true, serving: 'v1' }]));
    const done = step({ state: s, fleet: f, loads: back, observations: new Map(), now: 400 });
    assert.equal(done.state.status, 'rolled_back');
  });
});

describe('rollout engine: missing data never promotes', () => {
  it('treats a silent cohort as inconclusive, extends past bake, then pauses for a human', () => {
    const f = fleet(100);
    let s = start(policy(), f);
    // loads never arrive: load_timeout (5 s) passes, then gates see no data
    const events: StepOutput['events'] = [];
    for (let now = 500; now <= 30_000 && s.status === 'running'; now += 500) {
      const out = step({ state: s, fleet: f, loads: new Map(), observations: new Map(), now });
      events.push(...out.events);
      s = out.state;
    }
    assert.equal(s.status, 'paused');
    assert.equal(s.stage_index, 0, 'never promoted');
    assert.ok(events.some((e) => e.type === 'rollout.extended'), 'extended before pausing');
    assert.match(s.pause_reason ?? '', /inconclusive past bake \+ max_extension/);
    assert.ok(s.last_verdicts.every((v) => v.status === 'inconclusive'));
  });

  it('an agent that never reports keeps the gate inconclusive (min_coverage 100%)', () => {
    const f = fleet(100);
    let s = start(policy(), f);
    s = drive(s, f, {}, 3500).state; // into partial: 10 nodes
    assert.equal(s.stage_index, 1);
    const { state } = drive(s, f, { reporting: 9 });
    assert.equal(state.status, 'paused');
    assert.equal(state.stage_index, 1);
    assert.match(state.last_verdicts[0]?.reason ?? '', /only 9\/10 cohort nodes reported/);
  });

  it('rolls back instead of pausing when on_inconclusive is rollback', () => {
    const text = POLICY_YAML.replace('    max_extension: 4s', '    max_extension: 4s\n    on_inconclusive: rollback');
    const f = fleet(100);
    let s = start(policy(text), f);
    for (let now = 500; now <= 30_000 && s.status === 'running'; now += 500) {
      s = step({ state: s, fleet: f, loads: new Map(), observations: new Map(), now }).state;
    }
    assert.equal(s.status, 'rolling_back');
    assert.equal(s.rollback_cause, 'inconclusive');
  });
});

describe('rollout engine: manual commands', () => {
  it('pause holds the rollout, resume continues it, promote skips the gates, abort rolls back', () => {
    const f = fleet(100);
    let s = start(policy(), f);
    const paused = applyCommand(s, { type: 'pause', actor: 'alice', reason: 'lunch' }, f, 10);
    assert.ok(!('error' in paused));
    s = paused.state;
    assert.equal(s.status, 'paused');
    assert.equal(run(s, f, 5000).state, s, 'a paused rollout does not move');
    const again = applyCommand(s, { type: 'pause', actor: 'alice' }, f, 20);
    assert.ok('error' in again && again.error.code === 'ALREADY_PAUSED');
    const resumed = applyCommand(s, { type: 'resume', actor: 'alice' }, f, 30);
    assert.ok(!('error' in resumed));
    s = resumed.state;
    assert.equal(s.status, 'running');
    const promoted = applyCommand(s, { type: 'promote', actor: 'bob', reason: 'hotfix' }, f, 40);
    assert.ok(!('error' in promoted));
    s = promoted.state;
    assert.equal(s.stage_index, 1);
    assert.match(String(promoted.events[0]?.payload.reason), /manual promote by bob \(hotfix\); gates skipped/);
    const aborted = applyCommand(s, { type: 'abort', actor: 'carol' }, f, 50);
    assert.ok(!('error' in aborted));
    assert.equal(aborted.state.status, 'rolling_back');
    const back = new Map<string, NodeLoad>(aborted.state.assigned.map((id) => [id, { version: 'v1', ok: true, serving: 'v1' }]));
    const done = step({ state: aborted.state, fleet: f, loads: back, observations: new Map(), now: 60 });
    assert.equal(done.state.status, 'aborted');
    const late = applyCommand(done.state, { type: 'resume', actor: 'x' }, f, 70);
    assert.ok('error' in late && late.error.code === 'ROLLOUT_FINISHED');
  });

  it('a stage with manual approval waits after its gates pass, until promoted', () => {
    const text = POLICY_YAML.replace('      - { name: partial, scope: 10% nodes, health_gates: *gates }', '      - { name: partial, scope: 10% nodes, health_gates: *gates, approval: manual }');
    const f = fleet(100);
    const { state, events } = drive(start(policy(text), f), f, {}, 20_000);
    assert.equal(state.status, 'running');
    assert.equal(state.phase, 'awaiting_approval');
    assert.equal(state.stage_index, 1);
    assert.ok(events.some((e) => e.type === 'rollout.approval_required'));
    const promoted = applyCommand(state, { type: 'promote', actor: 'dana' }, f, 20_001);
    assert.ok(!('error' in promoted));
    assert.equal(promoted.state.stage_index, 2);
  });
});

describe('cohorts', () => {
  it('are deterministic, nested, and a percentage covers at least one node', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 400 }), fc.string({ minLength: 1, maxLength: 12 }), (n, rolloutId) => {
      const f = fleet(n);
      const p = policy();
      let assigned: string[] = [];
      let previous = 0;
      for (const stage of p.stages) {
        const next = nestedCohort(rolloutId, stage.scope, f, assigned);
        assert.ok(assigned.every((id) => next.includes(id)), 'nested');
        assert.ok(next.length >= Math.max(1, previous));
        assert.deepEqual(nestedCohort(rolloutId, stage.scope, f, assigned), next, 'deterministic');
        assigned = next;
        previous = next.length;
      }
      assert.equal(assigned.length, n);
    }), { numRuns: 100 });
  });

  it('a label selector picks only matching nodes first (free tier first)', () => {
    const text = `
modules: { proxy: { on_load_failure: serve-stale } }
policies:
  free-first:
    stages:
      - { name: free-canary, scope: "10% nodes where customer_tier=free", health_gates: [] }
      - { name: free-all, scope: "100% nodes where customer_tier=free", health_gates: [] }
      - { name: everyone, scope: "100% nodes", health_gates: [] }
`;
    const p = policy(text, 'free-first');
    const f = fleet(200); // 50 free nodes
    const free = new Set(f.filter((n) => n.labels.customer_tier === 'free').map((n) => n.id));
    const [s1, s2, s3] = p.stages;
    assert.ok(s1 && s2 && s3);
    const c1 = nestedCohort('r1', s1.scope, f, []);
    assert.equal(c1.length, 5);
    assert.ok(c1.every((id) => free.has(id)));
    const c2 = nestedCohort('r1', s2.scope, f, c1);
    assert.equal(c2.length, 50);
    assert.ok(c2.every((id) => free.has(id)));
    assert.equal(nestedCohort('r1', s3.scope, f, c2).length, 200);
  });

  it('different rollouts pick different canaries (the blast radius moves around the fleet)', () => {
    const f = fleet(1000);
    const s = policy().stages[0];
    assert.ok(s);
    const picks = new Set(Array.from({ length: 20 }, (_, i) => nestedCohort(`r-${i}`, s.scope, f, []).join(',')));
    assert.ok(picks.size >= 15, `only ${picks.size} distinct canaries in 20 rollouts`);
  });
});

describe('rollout engine: properties', () => {
  it('never assigns the new version beyond the current stage, and a rollback always ends terminal once nodes confirm', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (n, health) => {
      const f = fleet(n);
      let s = start(policy(), f);
      let now = 0;
      for (const good of health) {
        now += 700;
        const out = run(s, f, now, { ok: () => good, errorRate: good ? 0.001 : 0.5 });
        s = out.state;
        let expected: string[] = [];
        for (const st of s.policy_spec.stages.slice(0, s.stage_index + 1)) expected = nestedCohort(s.id, st.scope, f, expected);
        assert.deepEqual([...s.assigned].sort(), [...expected].sort(), 'assigned is exactly the cohorts of the stages reached');
        if (s.status !== 'running') break;
      }
      if (s.status === 'rolling_back') {
        const back = new Map<string, NodeLoad>(f.map((x) => [x.id, { version: 'v1', ok: true, serving: 'v1' }]));
        assert.equal(step({ state: s, fleet: f, loads: back, observations: new Map(), now: now + 1 }).state.status, 'rolled_back');
      }
    }), { numRuns: 150 });
  });
});

describe('rollout engine: on_no_data', () => {
  it('pauses at once after bake when a gate with on_no_data: pause has no data', () => {
    const text = POLICY_YAML.replace("          - { module: proxy, metric: error_rate, threshold: 0.01, window: 5s }", "          - { module: proxy, metric: error_rate, threshold: 0.01, window: 5s, on_no_data: pause }");
    const f = fleet(100);
    let s = start(policy(text), f);
    const loads = loadsFor(s, f, () => true);
    let paused: RolloutState | undefined;
    for (let now = 500; now <= 30_000; now += 500) {
      // loads arrive, but no request metric ever does
      const obs = new Map<string, GateObservation>();
      for (const q of gateQueries(s, now)) {
        const cohort = { ...emptyAggregate(), nodes: q.gate.metric === 'load_success_rate' ? s.assigned.length : 0 };
        if (q.gate.metric === 'load_success_rate') { cohort.loads_attempted = s.assigned.length; cohort.loads_succeeded = s.assigned.length; }
        obs.set(q.gate.name, { cohort, cohortNodes: s.assigned.length, baseline: null, windowMs: q.to - q.from });
      }
      s = step({ state: s, fleet: f, loads, observations: obs, now }).state;
      if (s.status === 'paused') { paused = s; break; }
    }
    assert.ok(paused, 'paused');
    assert.match(paused.pause_reason ?? '', /on_no_data: pause/);
    assert.ok((paused.updated_at) <= 500 + 3000 + 1000, 'right after bake (3 s), not after the 4 s extension');
  });
});
