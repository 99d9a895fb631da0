import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundCounters, boundRequests, NODE_WEIGHT_BOUND } from '../src/incidents/node-bounds.ts';

describe('one node’s say in triage is bounded', () => {
  it('bounds a node that claims a billion requests, keeping its error ratio', () => {
    const rows = [1, 2, 3, 4].map((n) => ({ node_id: `n${n}`, module: 'api', bucket: 0, requests: 1000, errors: 10 }));
    const liar = { node_id: 'evil', module: 'api', bucket: 0, requests: 1e9, errors: 0 };
    const out = boundRequests([...rows, liar]);
    const evil = out.find((r) => r.node_id === 'evil');
    assert.equal(evil?.requests, 1000 * NODE_WEIGHT_BOUND);
    const total = out.reduce((a, r) => ({ requests: a.requests + r.requests, errors: a.errors + r.errors }), { requests: 0, errors: 0 });
    // Unbounded, the fleet's error ratio would read 0.000004%; bounded it reads 40 / 14,000.
    assert.ok(Math.abs(total.errors / total.requests - 40 / 14_000) < 1e-9);
    // An uneven but honest fleet is untouched: a big box at 8× the median keeps all of its say.
    const uneven = boundRequests([...rows, { node_id: 'big', module: 'api', bucket: 0, requests: 8000, errors: 80 }]);
    assert.equal(uneven.find((r) => r.node_id === 'big')?.requests, 8000);
  });

  it('scales a heavy node’s whole family of counters, so its shares are kept and its weight bounded', () => {
    const usual = { mix_requests: 1000, mix_expensive: 20, mix_path_entropy_millibits_x_requests: 2000 * 1000, source_requests: 1000, source_never_seen: 30 };
    const rows = [1, 2, 3].map((n) => ({ node_id: `n${n}`, module: 'api', bucket: 0, counters: usual }));
    const liar = { node_id: 'evil', module: 'api', bucket: 0, counters: { mix_requests: 1e9, mix_expensive: 1e9, mix_path_entropy_millibits_x_requests: 0, source_requests: 1000, source_never_seen: 30 } };
    const [b] = boundCounters([...rows, liar]);
    assert.ok(b);
    const share = (b.counters.mix_expensive ?? 0) / (b.counters.mix_requests ?? 1);
    // Unbounded: 100% expensive. Bounded: (60 + 10,000) / 13,000 = 77%, and no worse however much it claims.
    assert.ok(Math.abs(share - (60 + 10_000) / 13_000) < 1e-9, `${share}`);
    assert.equal(b.counters.source_requests, 4000, 'a family the node reports honestly is untouched');
  });

  it('bounds dependency counters per dependency, and leaves a group of two alone', () => {
    const dep = (calls: number, errors: number) => ({ dep__auth__calls: calls, dep__auth__errors: errors, dep__auth__latency_ms: calls * 10 });
    const rows = [1, 2, 3].map((n) => ({ node_id: `n${n}`, module: 'api', bucket: 0, counters: dep(100, 1) }));
    const [b] = boundCounters([...rows, { node_id: 'evil', module: 'api', bucket: 0, counters: dep(1e7, 1e7) }]);
    assert.equal(b?.counters.dep__auth__calls, 300 + 1000);
    const two = boundRequests([{ node_id: 'a', module: 'm', bucket: 0, requests: 1, errors: 0 }, { node_id: 'b', module: 'm', bucket: 0, requests: 1e6, errors: 0 }]);
    assert.equal(two[1]?.requests, 1e6);
  });
});
