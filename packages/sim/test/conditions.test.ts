import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseScenario, simulate, type Scenario } from '../src/index.ts';
import type { Fault, StagedHuman } from '../src/scenario/types.ts';
import { root, shipped } from './helpers.ts';

// The shipped uneven-fleet scenario: a healthy change, bad nodes, bursts, faults and a person.
const uneven = shipped('uneven-fleet');
const calm: Scenario = { ...uneven, traffic: { ...uneven.traffic, bad_nodes: null, bursts: null }, faults: [] };
const NODES = 500;

const staged = (s: Scenario, nodes = NODES) => simulate(s, { nodes, regimes: ['staged'] }).regimes.staged!;
const fault = (f: Partial<Fault> & Pick<Fault, 'type'>): Fault => ({ from_ms: 0, until_ms: uneven.duration_ms, share: 1, where: [], ...f });
const human = (h: Partial<StagedHuman>): StagedHuman => ({ approve_after_ms: null, resume_after_ms: null, rollback_after_ms: null, ...h });
const MIN = 60_000;

describe('an uneven world: bad nodes and error bursts', () => {
  it('raise the background errors, never the change\'s, and are the same for the same seed', () => {
    const a = simulate(uneven, { nodes: NODES });
    const b = simulate(uneven, { nodes: NODES });
    assert.deepEqual(a, b, 'deterministic');
    const quiet = simulate(calm, { nodes: NODES });
    for (const name of ['global-push', 'staged'] as const) {
      const noisy = a.regimes[name]!;
      const base = quiet.regimes[name]!;
      assert.equal(noisy.failed_requests, 0, 'a healthy change fails nothing');
      assert.ok(noisy.background_failed_requests > base.background_failed_requests * 1.1, `${name}: ${noisy.background_failed_requests} vs ${base.background_failed_requests}`);
    }
  });

  it('a sick node in a one-node canary rolls a healthy change back on some seeds; without sick nodes, on none', () => {
    // 100 nodes: the 1% canary is one node, and one node in ten is sick (5% errors against a 1% threshold).
    const tiny: Scenario = { ...uneven, duration_ms: 20 * MIN, faults: [], human: null, traffic: { ...uneven.traffic, rps_per_node: 100, bursts: null, bad_nodes: { share: 0.1, error_rate: 0.05 } } };
    const rolledBack = (s: Scenario) => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
      .filter((seed) => simulate(s, { seed, nodes: 100, regimes: ['staged'] }).regimes.staged!.rollouts.some((r) => r.final_state === 'rolled_back')).length;
    const sick = rolledBack(tiny);
    assert.ok(sick >= 1 && sick <= 8, `about one seed in ten puts a sick node in the canary: ${sick} of 20`);
    assert.equal(rolledBack({ ...tiny, traffic: { ...tiny.traffic, bad_nodes: null } }), 0);
  });
});

describe('faults in the control plane\'s view', () => {
  it('a metrics outage never promotes: the rollout waits out the outage (missing data is not a pass)', () => {
    const dark = staged({ ...calm, human: null, faults: [fault({ type: 'metrics_outage' })] });
    assert.ok(dark.rollouts.every((r) => r.final_state !== 'completed'), JSON.stringify(dark.rollouts.map((r) => r.final_state)));
    assert.match(dark.rollouts[0]?.reason ?? '', /inconclusive/);
    assert.ok((dark.final_serving.v0 ?? 0) >= NODES * 0.9, 'nearly every node stays on the old version');
  });

  it('a person resumes a rollout paused by an outage, and it completes once the metrics are back', () => {
    const outage = [fault({ type: 'metrics_outage', from_ms: 5 * MIN, until_ms: 40 * MIN })];
    const nobody = staged({ ...calm, human: human({ approve_after_ms: 10 * MIN }), faults: outage });
    const resumed = staged({ ...calm, human: human({ approve_after_ms: 10 * MIN, resume_after_ms: 15 * MIN }), faults: outage });
    assert.equal(nobody.rollouts[0]?.final_state, 'paused');
    assert.equal(resumed.rollouts[0]?.final_state, 'completed');
    assert.ok((resumed.rollouts[0]?.ended_seconds ?? 0) > 40 * 60, 'not before the metrics came back');
  });

  it('silent agents take the new version only when they are back in touch', () => {
    const silent = simulate({ ...calm, faults: [fault({ type: 'silent_agents', from_ms: 0, until_ms: 30 * MIN })] }, { nodes: NODES, regimes: ['global-push', 'staged'] });
    // Global push: the whole fleet is told at 5m and nobody hears before 30m; the run still ends on v2.
    assert.equal(silent.regimes['global-push']?.final_state, 'v2');
    const first = silent.regimes.staged?.rollouts[0];
    assert.ok(first && (first.ended_seconds ?? Infinity) > 30 * 60, `the first rollout cannot finish while its cohort is silent: ${JSON.stringify(first)}`);
  });

  it('lost load reports are counted, and a load gate that needs every node waits for them', () => {
    const lost = staged({ ...calm, faults: [fault({ type: 'lost_load_reports' })] });
    assert.ok(lost.lost_load_reports >= NODES * 0.01, `lost ${lost.lost_load_reports}`);
    assert.ok(lost.rollouts.every((r) => r.final_state !== 'completed'), 'no load report, no promotion');
    const some = staged({ ...calm, faults: [fault({ type: 'lost_load_reports', share: 0.01 })] });
    assert.ok(some.rollouts.every((r) => r.final_state === 'completed'), 'min_coverage 97% tolerates 1% lost reports');
  });
});

describe('a person in the staged regimes', () => {
  it('approves a stage that waits for a manual promote; with nobody, it waits to the end', () => {
    const nobody = staged({ ...calm, human: null });
    assert.match(nobody.rollouts[0]?.reason ?? '', /awaiting_approval/);
    assert.equal(staged(calm).rollouts[0]?.final_state, 'completed');
  });

  it('rolls back a bad version the gates cannot see, rollback_after the first bad push', () => {
    // Three times slower, no errors: this policy has no latency gate, so nothing stops it.
    const slow: Scenario = { ...calm, behaviour: [{ where: [], cannot_handle: { entries_over: 75 }, effect: { crash: false, at_load: false, degrade: false, error_rate: 0, add_latency_ms: 0, latency_factor: 3, ramp_ms: 0 } }] };
    const unwatched = staged(slow);
    assert.equal(unwatched.detect_seconds, null);
    assert.equal(unwatched.rollouts[0]?.final_state, 'completed');
    const watched = staged({ ...slow, human: human({ approve_after_ms: 10 * MIN, rollback_after_ms: 20 * MIN }) });
    assert.equal(watched.rollouts[0]?.final_state, 'aborted');
    assert.match(watched.rollouts[0]?.reason ?? '', /aborted by human/);
    assert.equal(watched.detect_seconds, 20 * 60);
    assert.ok(watched.rollback_seconds !== null && watched.rollback_seconds < 5 * 60, `rolled back after ${watched.rollback_seconds}s`);
    assert.ok(watched.slowed_requests < unwatched.slowed_requests / 2);
  });
});

describe('pushes that depend on the regime, and queued versions', () => {
  const dec05 = readFileSync(new URL('examples/scenarios/dec05-killswitch.yaml', root), 'utf8');
  const FIX = `    - after_detection: 10m\n      version: fix\n      content: '{"rules":[]}'\n`;

  it('a fix pushed after_detection goes out at each regime\'s own detection, and never where nothing was detected', () => {
    const text = dec05.replace('\n# Global push only', `${FIX}\n# Global push only`);
    const r = parseScenario(text, { file: 'dec05-fix.yaml' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
    const report = simulate(r.value, { nodes: 200 });
    const first = report.first_bad_push_seconds ?? 0;
    for (const [name, regime] of Object.entries(report.regimes)) {
      assert.ok(regime.detect_seconds !== null, name);
      const fixAt = first + regime.detect_seconds + 600;
      if (name === 'global-push') assert.equal(regime.final_state, 'fix');
      else assert.equal(regime.rollouts.find((x) => x.version === 'fix')?.started_seconds, Math.ceil(fixAt), name);
    }
    const undetected = simulate({ ...r.value, manual: null }, { nodes: 200, regimes: ['global-push'] }).regimes['global-push']!;
    assert.notEqual(undetected.final_state, 'fix');
  });

  it('a version replaced while it waited is counted as superseded; the one still waiting is named', () => {
    const push = (at: number, entries: number) => ({ at_ms: at * MIN, after_detection_ms: null, version: null, source: { type: 'generate' as const, entries, doubled: false, format: 'json' as const } });
    const busy: Scenario = { ...calm, duration_ms: 20 * MIN, change: { ...calm.change, versions: [push(5, 80), push(6, 81), push(7, 82)] } };
    const r = simulate(busy, { nodes: NODES, regimes: ['global-push', 'staged'] });
    assert.equal(r.regimes.staged?.superseded_versions, 1, 'v2 was replaced by v3 before v1\'s rollout ended');
    assert.equal(r.regimes.staged?.queued_version, 'v3', 'v3 still waits at 20m');
    assert.equal(r.regimes['global-push']?.superseded_versions, 0);
  });
});

describe('errors in the new sections', () => {
  const text = readFileSync(new URL('examples/scenarios/uneven-fleet.yaml', root), 'utf8');
  const errorsOf = (find: string, replace: string) => {
    assert.ok(text.includes(find), find);
    const r = parseScenario(text.replace(find, replace), { file: 'u.yaml' });
    assert.equal(r.ok, false);
    return r.ok ? [] : r.errors;
  };
  const lineOf = (find: string) => text.split('\n').findIndex((l) => l.includes(find)) + 1;

  it('name the line, the column and a fix', () => {
    const typo = errorsOf('type: metrics_outage', 'type: metric_outage');
    assert.equal(typo[0]?.code, 'BAD_ENUM');
    assert.equal(typo[0]?.line, lineOf('type: metrics_outage'));
    assert.equal(typo[0]?.col, (text.split('\n')[lineOf('type: metrics_outage') - 1] ?? '').indexOf('metrics_outage') + 1);
    assert.match(typo[0]?.hint ?? '', /metrics_outage/);
    assert.equal(errorsOf('from: 50m, until: 55m', 'from: 50m, until: 40m')[0]?.code, 'BAD_VALUE');
    assert.equal(errorsOf('    - at: 5m\n', '    - at: 5m\n      after_detection: 1m\n')[0]?.code, 'BAD_VALUE');
    assert.deepEqual(errorsOf('  approve_after: 10m\n  resume_after: 15m\n', '  {}\n').map((e) => e.code), ['MISSING_KEY']);
    assert.equal(errorsOf('bad_nodes: { share: 0.005, error_rate: 0.05 }', 'bad_nodes: { share: 0.005 }')[0]?.code, 'MISSING_KEY');
    const label = errorsOf('where: { region: ap }', 'where: { region: asia }');
    assert.equal(label[0]?.code, 'UNKNOWN_LABEL');
    assert.match(label[0]?.hint ?? '', /ap/);
    assert.equal(errorsOf('share: 0.02, from: 10m', 'share: 2, from: 10m')[0]?.code, 'BAD_VALUE');
  });
});
