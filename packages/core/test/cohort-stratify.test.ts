import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nestedCohort, selectScope, type FleetNode } from '../src/cohort/index.ts';
import { parseScope } from '../src/policy/scope.ts';

/** Cohorts of a stage whose gates are split by a label: every value gets its share, and enough nodes to be judged. */
const scope = (text: string) => {
  const r = parseScope(text);
  if (!r.ok) throw new Error(r.message);
  return r.scope;
};

// 10,000 nodes; 2% (200) are hardware g2; every node also has one of 5,000 racks.
const fleet: FleetNode[] = Array.from({ length: 10_000 }, (_, i) => ({ id: `n${i}`, labels: { hardware_generation: i % 50 === 0 ? 'g2' : 'g1', rack: `r${i % 5000}` } }));
const g2 = (ids: readonly string[]) => ids.filter((id) => Number(id.slice(1)) % 50 === 0).length;

describe('stratified cohorts for gates split by a label', () => {
  it('a 1% canary holds at least 2 of the 2% group under every rollout id, and at most 1% + a few nodes', () => {
    for (let r = 0; r < 50; r++) {
      const ids = selectScope(`r-${r}`, scope('1% nodes'), fleet, ['hardware_generation']);
      assert.ok(g2(ids) >= 2, `rollout r-${r}: ${g2(ids)} g2 nodes`);
      assert.ok(ids.length <= 101, `rollout r-${r}: ${ids.length} nodes`);
      assert.equal(new Set(ids).size, ids.length);
    }
  });

  it('without by: the hash alone decides, and some 1% canaries have fewer than 2 of the group', () => {
    const short = Array.from({ length: 50 }, (_, r) => g2(selectScope(`r-${r}`, scope('1% nodes'), fleet))).filter((n) => n < 2).length;
    assert.ok(short > 0, 'the unstratified hash leaves the group out of some canaries');
  });

  it('stays nested from stage to stage', () => {
    const one = nestedCohort('r-x', scope('1% nodes'), fleet, [], ['hardware_generation']);
    const ten = nestedCohort('r-x', scope('10% nodes'), fleet, one, ['hardware_generation']);
    assert.ok(one.every((id) => ten.includes(id)));
    assert.equal(g2(ten), 20);
  });

  it('does not stratify by a label with so many values that it would more than double the stage', () => {
    const plain = selectScope('r-y', scope('1% nodes'), fleet);
    assert.deepEqual(selectScope('r-y', scope('1% nodes'), fleet, ['rack']), plain);
  });
});
