import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addCounters, emptyAggregate, evaluateGate, LATENCY_BUCKETS_MS, type GateSpec, type ModuleCounters, type NodeCounters } from '../src/index.ts';

/**
 * compare: baseline gates fed node by node (GateObservation.perNode): the verdict names the
 * dispersion, and a gate split by a label (`by:`) catches a regression that one group of 2%
 * of the fleet carries, which the whole-cohort gate averages away.
 */

const gate = (over: Partial<GateSpec> = {}): GateSpec => ({
  name: 'proxy/error_rate', module: 'proxy', metric: 'error_rate', direction: 'max', threshold: 0, window_ms: 60_000,
  min_samples: 1000, min_coverage: 1, compare: 'baseline', allowed_degradation: { relative: 0.2 }, alpha: 0.001, ...over,
});

const counters = (requests: number, errors: number): ModuleCounters => ({
  requests, errors, loads_attempted: 0, loads_succeeded: 0, latency_buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0), counters: {},
});

/** 1,000 nodes: 2% on hardware g2. The cohort (10%) has 98 g1 and 2 g2 nodes; g2 nodes in the cohort err `g2Errors` per 10,000. */
function fleet(g2Errors: number, labelled = true, scale = 1) {
  const make = (id: string, gen: string, errors: number): NodeCounters => ({
    node: id, counters: counters(10_000 * scale, errors * scale), history: counters(180_000, 180), labels: labelled ? { hardware_generation: gen } : { region: 'eu' },
  });
  const cohort = [...Array.from({ length: 98 }, (_, i) => make(`c${i}`, 'g1', 10)), ...Array.from({ length: 2 }, (_, i) => make(`c-g2-${i}`, 'g2', g2Errors))];
  const baseline = [...Array.from({ length: 882 }, (_, i) => make(`b${i}`, 'g1', 10)), ...Array.from({ length: 18 }, (_, i) => make(`b-g2-${i}`, 'g2', 10))];
  const sum = (ns: NodeCounters[]) => { const a = emptyAggregate(); for (const n of ns) addCounters(a, n.counters); return a; };
  return { cohort: sum(cohort), cohortNodes: 100, baseline: sum(baseline), windowMs: 60_000, perNode: { cohort, baseline } };
}

describe('compare: baseline, node by node', () => {
  it('names the dispersion it used and the nodes', () => {
    const v = evaluateGate(gate(), 'canary', fleet(10), 1);
    assert.equal(v.dispersion, 1);
    assert.match(v.reason, /dispersion φ 1 \(nodes as units: 100 canary and 900 baseline nodes, each against its own history \(100\/100 canary nodes\)\)/);
    assert.match(v.test ?? '', /node-clustered contrast/);
  });

  it('a 10× regression on the 2% of nodes that are g2 passes a whole-cohort gate, and fails the gate split by hardware_generation', () => {
    const obs = fleet(100);
    const whole = evaluateGate(gate(), 'canary', obs, 1);
    assert.notEqual(whole.status, 'fail', 'averaged over the cohort, 2 bad nodes of 100 are within 20%');
    const split = evaluateGate(gate({ by: 'hardware_generation' }), 'canary', obs, 1);
    assert.equal(split.status, 'fail', split.reason);
    assert.match(split.reason, /failed in hardware_generation=g2/);
    assert.match(split.test ?? '', /split by hardware_generation \(alpha 0\.001 \/ 2 groups\)/);
    assert.deepEqual(split.groups?.map((g) => [g.value, g.status, g.cohort_nodes, g.baseline_nodes]), [['g1', 'pass', 98, 882], ['g2', 'fail', 2, 18]]);
  });

  it('a healthy change passes the split gate once its smallest group has shown enough', () => {
    const early = evaluateGate(gate({ by: 'hardware_generation' }), 'canary', fleet(10), 1);
    assert.equal(early.status, 'inconclusive', 'two g2 nodes with 20 errors between them cannot show they are within 20%');
    assert.match(early.reason, /hardware_generation=g2: undecided \(2 cohort, 18 baseline nodes\)/);
    const later = evaluateGate(gate({ by: 'hardware_generation' }), 'canary', fleet(10, true, 100), 1);
    assert.equal(later.status, 'pass', later.reason);
  });

  it('require_each_group holds the stage until every value the fleet has is in the cohort', () => {
    const obs = fleet(10, true, 100);
    const noG2 = { ...obs, perNode: { cohort: obs.perNode.cohort.filter((n) => n.labels?.hardware_generation === 'g1'), baseline: obs.perNode.baseline } };
    assert.equal(evaluateGate(gate({ by: 'hardware_generation' }), 'canary', noG2, 1).status, 'pass');
    const held = evaluateGate(gate({ by: 'hardware_generation', require_each_group: true }), 'canary', noG2, 1);
    assert.equal(held.status, 'inconclusive');
    assert.match(held.reason, /require_each_group, and hardware_generation=g2 has no node in the cohort yet/);
  });

  it('a label no node has is inconclusive, naming the labels the nodes do have', () => {
    const v = evaluateGate(gate({ by: 'hardware_generation' }), 'canary', fleet(100, false), 1);
    assert.equal(v.status, 'inconclusive');
    assert.match(v.reason, /no node has the label hardware_generation that by: splits on \(labels the nodes have: region\)/);
  });

  it('a group wholly in the cohort is judged against its own history with the whole baseline, and not at all without history', () => {
    const obs = fleet(100);
    const allG2 = { ...obs, perNode: { cohort: obs.perNode.cohort, baseline: obs.perNode.baseline.filter((n) => n.labels?.hardware_generation === 'g1') } };
    const v = evaluateGate(gate({ by: 'hardware_generation' }), 'canary', allG2, 1);
    assert.equal(v.status, 'fail', v.reason);
    assert.match(v.reason, /no hardware_generation=g2 node outside the cohort: each node against its own history, with the whole baseline's drift/);
    const noHistory = { ...allG2, perNode: { cohort: allG2.perNode.cohort.map(({ history: _h, ...n }) => n), baseline: allG2.perNode.baseline } };
    const u = evaluateGate(gate({ by: 'hardware_generation' }), 'canary', noHistory, 1);
    assert.equal(u.status, 'inconclusive', u.reason);
    assert.match(u.reason, /no hardware_generation=g2 node outside the cohort, and its nodes have no history to compare with/);
  });

  it('an inconclusive verdict names the cohort nodes that cannot read their metrics, and a decided one does not need to', () => {
    const silent = { cohort: { ...emptyAggregate(), nodes: 0 }, cohortNodes: 2, baseline: null, windowMs: 60_000, signalProblems: ['web-1: scrape not_prometheus: not Prometheus text'] };
    const v = evaluateGate(gate({ compare: undefined, allowed_degradation: undefined, threshold: 0.01 }), 'canary', silent, 1);
    assert.equal(v.status, 'inconclusive');
    assert.match(v.reason, /no data.*; 1 cohort node cannot read proxy's metrics: web-1: scrape not_prometheus: not Prometheus text$/);
    const decided = evaluateGate(gate({ by: 'hardware_generation' }), 'canary', { ...fleet(100), signalProblems: ['x: scrape timeout: slow'] }, 1);
    assert.equal(decided.status, 'fail');
    assert.doesNotMatch(decided.reason, /cannot read/);
  });
});
