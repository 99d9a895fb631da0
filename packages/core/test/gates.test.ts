import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkLimits, countEntries, emptyAggregate, evaluateGate, formatDuration, histogramQuantile, LATENCY_BUCKETS_MS,
  metricValue, parseDuration, type GateSpec,
} from '../src/index.ts';

const gate = (over: Partial<GateSpec> = {}): GateSpec => ({
  name: 'proxy/error_rate', module: 'proxy', metric: 'error_rate', direction: 'max', threshold: 0.001,
  window_ms: 60_000, min_samples: 100, min_coverage: 1, ...over,
});

function agg(requests: number, errors: number, nodes: number) {
  return { ...emptyAggregate(), requests, errors, nodes };
}

describe('gate verdicts explain themselves', () => {
  it('fails with value, threshold, samples, nodes and baseline in one sentence', () => {
    const v = evaluateGate(gate(), 'canary', { cohort: agg(3112, 40, 100), cohortNodes: 100, baseline: agg(300_000, 120, 9900), windowMs: 60_000 }, 1);
    assert.equal(v.status, 'fail');
    assert.equal(v.samples, 3112);
    assert.equal(v.baseline, 0.0004);
    assert.equal(v.reason, 'gate proxy/error_rate on stage canary failed: 0.01285 > 0.001 over 1m, 3112 samples from 100/100 nodes (baseline 0.0004)');
  });

  it('passes at exactly the threshold (at or below for a max gate)', () => {
    const v = evaluateGate(gate(), 'canary', { cohort: agg(1000, 1, 1), cohortNodes: 1, baseline: null, windowMs: 1000 }, 1);
    assert.equal(v.status, 'pass');
  });

  it('is inconclusive with no data, too few samples, or too few nodes reporting', () => {
    const none = evaluateGate(gate(), 's', { cohort: agg(0, 0, 0), cohortNodes: 10, baseline: null, windowMs: 1000 }, 1);
    assert.equal(none.status, 'inconclusive');
    assert.equal(none.value, null);
    assert.match(none.reason, /no data/);
    const few = evaluateGate(gate(), 's', { cohort: agg(50, 0, 10), cohortNodes: 10, baseline: null, windowMs: 1000 }, 1);
    assert.equal(few.status, 'inconclusive');
    assert.match(few.reason, /50 samples < min_samples 100/);
    const silent = evaluateGate(gate(), 's', { cohort: agg(5000, 0, 9), cohortNodes: 10, baseline: null, windowMs: 1000 }, 1);
    assert.equal(silent.status, 'inconclusive', 'a perfect value from 9 of 10 nodes is not a pass');
    const relaxed = evaluateGate(gate({ min_coverage: 0.9 }), 's', { cohort: agg(5000, 0, 9), cohortNodes: 10, baseline: null, windowMs: 1000 }, 1);
    assert.equal(relaxed.status, 'pass');
  });

  it('a min gate (success rate) fails below its threshold', () => {
    const g = gate({ name: 'bm/load_success_rate', metric: 'load_success_rate', direction: 'min', threshold: 0.999, min_samples: 1 });
    const cohort = { ...emptyAggregate(), loads_attempted: 10, loads_succeeded: 9, nodes: 10 };
    const v = evaluateGate(g, 'partial', { cohort, cohortNodes: 10, baseline: null, windowMs: 1000 }, 1);
    assert.equal(v.status, 'fail');
    assert.equal(v.value, 0.9);
    assert.match(v.reason, /0\.9 < 0\.999/);
  });
});

describe('a load gate fails as soon as the silent nodes cannot save it', () => {
  const g = gate({ name: 'bm/load_success_rate', metric: 'load_success_rate', direction: 'min', threshold: 0.999, min_samples: 1 });
  const reports = (attempted: number, succeeded: number) => ({ ...emptyAggregate(), loads_attempted: attempted, loads_succeeded: succeeded, nodes: attempted });

  it('fails with 1 refusal of 2 canary nodes while the other is silent', () => {
    const v = evaluateGate(g, 'canary', { cohort: reports(1, 0), cohortNodes: 2, baseline: null, windowMs: 1, basis: 'latest-report' }, 1);
    assert.equal(v.status, 'fail');
    assert.match(v.reason, /cannot pass even if the 1 silent nodes all load fine/);
  });

  it('stays inconclusive while the silent nodes could still make it pass', () => {
    const lenient = { ...g, threshold: 0.5 };
    const v = evaluateGate(lenient, 'canary', { cohort: reports(1, 0), cohortNodes: 4, baseline: null, windowMs: 1, basis: 'latest-report' }, 1);
    assert.equal(v.status, 'inconclusive', '(0 + 3) / 4 = 0.75 ≥ 0.5 is still possible');
  });

  it('does not guess for windowed request metrics, whose silent nodes have unknown sample counts', () => {
    const v = evaluateGate(gate(), 'canary', { cohort: agg(1000, 500, 1), cohortNodes: 2, baseline: null, windowMs: 1 }, 1);
    assert.equal(v.status, 'inconclusive');
  });
});

describe('metric values', () => {
  it('histogram quantiles interpolate inside the bucket, as Prometheus histogram_quantile does', () => {
    // 100 samples: 50 in (10,25], 50 in (25,50]. Reference (by hand, Prometheus' linear rule):
    // p50 → rank 50 is the end of bucket (10,25] → 25; p90 → rank 90 → 25 + 25·(40/50) = 45.
    const buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    buckets[LATENCY_BUCKETS_MS.indexOf(25)] = 50;
    buckets[LATENCY_BUCKETS_MS.indexOf(50)] = 50;
    assert.equal(histogramQuantile(0.5, buckets), 25);
    assert.equal(histogramQuantile(0.9, buckets), 45);
    assert.equal(histogramQuantile(0.5, new Array<number>(buckets.length).fill(0)), null);
    const p99 = metricValue('latency_p99', { ...emptyAggregate(), latency_buckets: buckets });
    assert.equal(p99.samples, 100);
    assert.ok(p99.value !== null && Math.abs(p99.value - 49.5) < 1e-9);
  });

  it('a custom counter is a rate per request', () => {
    const a = { ...emptyAggregate(), requests: 200, counters: { bot_score_zero: 50 } };
    assert.deepEqual(metricValue('custom:bot_score_zero', a), { value: 0.25, samples: 200 });
  });
});

describe('artifact limits', () => {
  it('counts entries of JSON arrays, objects, and line-based files', () => {
    assert.equal(countEntries(Buffer.from('[1,2,3]')), 3);
    assert.equal(countEntries(Buffer.from('{"a":1,"b":2}')), 2);
    assert.equal(countEntries(Buffer.from('one\n\n# comment\ntwo\nthree\n')), 3);
    assert.equal(countEntries(Buffer.from('[not json\nsecond')), 2);
  });

  it('reports every limit a version breaks', () => {
    const content = Buffer.from(JSON.stringify(Array.from({ length: 240 }, (_, i) => `f${i}`)));
    const problems = checkLimits(content, { max_entries: 200, max_bytes: 100 });
    assert.deepEqual(problems.map((p) => p.code), ['MAX_BYTES', 'MAX_ENTRIES']);
    assert.match(problems[1]?.message ?? '', /240 entries > max_entries 200/);
    assert.deepEqual(checkLimits(content, { max_entries: 240 }), []);
  });
});

describe('durations', () => {
  it('parses units and refuses a bare number', () => {
    assert.deepEqual(parseDuration('1m30s'), { ok: true, ms: 90_000 });
    assert.deepEqual(parseDuration('500ms'), { ok: true, ms: 500 });
    assert.equal(parseDuration('60').ok, false);
    assert.equal(parseDuration('0s').ok, false);
    assert.equal(parseDuration('5 m').ok, false);
    assert.equal(formatDuration(90_000), '1m30s');
  });
});

describe('compare: baseline', () => {
  const g = gate({ name: 'proxy/error_rate', compare: 'baseline', allowed_degradation: { relative: 0.5 }, threshold: 0, min_samples: 1000, alpha: 0.001 });
  const obs = (canaryErrors: number, canaryRequests: number, baseErrors: number, baseRequests: number) => ({
    cohort: agg(canaryRequests, canaryErrors, 100), cohortNodes: 100, baseline: agg(baseRequests, baseErrors, 9900), windowMs: 60_000,
  });

  it('fails a 10× error regression on a 1% canary, naming the test and the interval', () => {
    const v = evaluateGate(g, 'canary', obs(6000, 600_000, 59_400, 59_400_000), 1);
    assert.equal(v.status, 'fail', v.reason);
    assert.match(v.test ?? '', /sequential test on the difference of two proportions/);
    assert.ok(v.interval && v.interval[0] > 0, 'the whole interval is above zero');
    assert.equal(v.baseline, 0.001);
  });

  it('passes a canary shown to be no worse than allowed', () => {
    const v = evaluateGate(g, 'canary', obs(580, 600_000, 59_400, 59_400_000), 1);
    assert.equal(v.status, 'pass', v.reason);
  });

  it('is inconclusive while the evidence is thin, and without a baseline', () => {
    assert.equal(evaluateGate(g, 'canary', obs(2, 1000, 59_400, 59_400_000), 1).status, 'inconclusive');
    const none = evaluateGate(g, 'global', { cohort: agg(600_000, 600, 100), cohortNodes: 100, baseline: null, windowMs: 1 }, 1);
    assert.equal(none.status, 'inconclusive');
    assert.match(none.reason, /no baseline/);
  });

  it('compares latency as the share of requests slower than the baseline p99', () => {
    const lg = gate({ name: 'proxy/latency_p99', metric: 'latency_p99', direction: 'max', compare: 'baseline', allowed_degradation: { relative: 1 }, threshold: 0, min_samples: 1000 });
    const hist = (fast: number, slow: number) => { const b = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0); b[LATENCY_BUCKETS_MS.indexOf(25)] = fast; b[LATENCY_BUCKETS_MS.indexOf(500)] = slow; return b; };
    const healthy = evaluateGate(lg, 'canary', { cohort: { ...emptyAggregate(), latency_buckets: hist(99_000, 1_000), nodes: 100 }, cohortNodes: 100, baseline: { ...emptyAggregate(), latency_buckets: hist(9_900_000, 100_000), nodes: 9900 }, windowMs: 1 }, 1);
    assert.notEqual(healthy.status, 'fail', healthy.reason);
    const slow = evaluateGate(lg, 'canary', { cohort: { ...emptyAggregate(), latency_buckets: hist(80_000, 20_000), nodes: 100 }, cohortNodes: 100, baseline: { ...emptyAggregate(), latency_buckets: hist(9_900_000, 100_000), nodes: 9900 }, windowMs: 1 }, 1);
    assert.equal(slow.status, 'fail', slow.reason);
  });
});
