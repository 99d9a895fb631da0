import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GROUPS_SHOWN, REFUSALS_SHOWN, summarizeFleet, type SummaryLoad, type SummaryNode } from '../src/index.ts';

const NOW = 1_000_000;
const node = (id: string, labels: Record<string, string>, o: Partial<SummaryNode> = {}): SummaryNode => ({ id, labels, last_seen_at: NOW - 1000, pins: [], ...o });
const load = (node_id: string, o: Partial<SummaryLoad> = {}): SummaryLoad => ({ node_id, version: 'v2', ok: true, serving: 'v2', error: null, at: NOW - 5000, module_state: 'serving', ...o });

describe('the fleet summary', () => {
  it('groups by a label, counts versions and states, and names the refusals', () => {
    const nodes = [
      node('a', { region: 'eu' }), node('b', { region: 'eu' }), node('c', { region: 'us' }),
      node('d', {}, { last_seen_at: NOW - 120_000, enrolment: 'pending' }),
      node('e', { region: 'us' }, { pins: [{ artifact: 'features' }] }),
    ];
    const loads = [
      load('a'),
      // Refused v3 and kept v2, while v3 is still the target: stale, off target.
      load('b', { version: 'v3', ok: false, serving: 'v2', error: '260 features', module_state: 'stale' }),
      // The same refusal after the rollback: v2 is the target again, so it is simply serving.
      load('c', { version: 'v3', ok: false, serving: 'v2', error: '260 features', module_state: 'stale', at: NOW - 1000 }),
      load('e', { serving: 'v1', version: 'v1' }),
    ];
    const target: Record<string, string> = { a: 'v2', b: 'v3', c: 'v2', d: 'v2', e: 'v2' };
    const s = summarizeFleet({ nodes, loads, desired: (id) => target[id], artifact: 'features', by: 'region', now: NOW });
    assert.equal(s.nodes, 5);
    assert.deepEqual(s.groups.map((g) => [g.value, g.nodes]), [['eu', 2], ['us', 2], ['(none)', 1]]);
    const [eu, us, none] = s.groups;
    assert.deepEqual(eu?.serving, { v2: 2 });
    assert.deepEqual(eu?.states, { serving: 1, stale: 1 });
    assert.equal(eu?.off_target, 1, 'b serves v2, wanted v3');
    assert.deepEqual(us?.states, { serving: 2 }, 'c: stale no more once v2 is the target');
    assert.deepEqual(us?.serving, { v2: 1, v1: 1 });
    assert.equal(us?.pinned, 1);
    assert.equal(us?.off_target, 1, 'e is pinned on v1');
    assert.deepEqual(us?.refused, [{ node: 'c', version: 'v3', error: '260 features', at: NOW - 1000 }]);
    assert.deepEqual(none, { value: '(none)', nodes: 1, live: 0, pending: 1, pinned: 0, serving: { none: 1 }, states: { unreported: 1 }, off_target: 1, refused: [] });
    assert.deepEqual(s.label_keys, { region: 2 });
  });

  it('without an artifact or a label: one group, node counts only', () => {
    const s = summarizeFleet({ nodes: [node('a', { tier: 'free' }), node('b', {}, { pins: [{ artifact: 'x' }] })], loads: [load('a')], desired: () => 'v2', artifact: null, by: null, now: NOW });
    assert.deepEqual(s.groups, [{ value: 'all', nodes: 2, live: 2, pending: 0, pinned: 1, serving: {}, states: {}, off_target: 0, refused: [] }]);
  });

  it(`folds groups past the ${GROUPS_SHOWN} largest into (other), and shows the ${REFUSALS_SHOWN} newest refusals`, () => {
    const nodes = Array.from({ length: 300 }, (_, i) => node(`n${i}`, { host: `h${i % 120}` }));
    const loads = nodes.map((n, i) => load(n.id, { ok: false, version: 'v3', at: NOW - i, error: `e${i}` }));
    const s = summarizeFleet({ nodes, loads, desired: () => 'v3', artifact: 'features', by: 'host', now: NOW });
    assert.equal(s.groups.length, GROUPS_SHOWN);
    const other = s.groups.at(-1);
    assert.equal(other?.value, '(other)');
    assert.equal(s.groups.reduce((n, g) => n + g.nodes, 0), 300);
    assert.equal(other?.refused.length, REFUSALS_SHOWN);
    assert.ok(other?.refused.every((r, i, all) => i === 0 || (all[i - 1]?.at ?? 0) >= r.at), 'newest first');
  });

  it('every node is counted once in its group, its serving version and its state (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ region: fc.option(fc.constantFrom('eu', 'us', 'ap'), { nil: undefined }), version: fc.option(fc.constantFrom('v1', 'v2'), { nil: null }), reported: fc.boolean(), ok: fc.boolean() }), { maxLength: 80 }),
      (rows) => {
        const nodes = rows.map((r, i) => node(`n${i}`, r.region ? { region: r.region } : {}));
        const loads = rows.flatMap((r, i) => (r.reported ? [load(`n${i}`, { serving: r.version, ok: r.ok, module_state: r.ok ? 'serving' : 'stale' })] : []));
        const s = summarizeFleet({ nodes, loads, desired: () => 'v2', artifact: 'features', by: 'region', now: NOW });
        const sum = (pick: (g: (typeof s.groups)[number]) => Record<string, number>) => s.groups.reduce((n, g) => n + Object.values(pick(g)).reduce((a, b) => a + b, 0), 0);
        assert.equal(s.groups.reduce((n, g) => n + g.nodes, 0), rows.length);
        assert.equal(sum((g) => g.serving), rows.length);
        assert.equal(sum((g) => g.states), rows.length);
        for (const g of s.groups) {
          const refusedHere = rows.filter((r) => r.reported && !r.ok && (r.region ?? '(none)') === g.value).length;
          assert.equal(g.refused.length, Math.min(refusedHere, REFUSALS_SHOWN), g.value);
        }
      },
    ), { numRuns: 200 });
  });
});
