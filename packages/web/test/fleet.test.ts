/**
 * The Fleet page's view logic: one colour per version across groups, each version's count and
 * share in words, module states and what needs a look in words, the whole fleet's total, and the
 * grouping choices.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FleetGroup } from '../src/api/types.ts';
import { attention, groupChoices, stateWords, versionOrder, versionParts, wholeFleet } from '../src/view/fleet.ts';

const group = (value: string, o: Partial<FleetGroup> = {}): FleetGroup => ({
  value, nodes: 4, live: 4, pending: 0, pinned: 0, serving: { v1: 4 }, states: { serving: 4 }, off_target: 0, refused: [], ...o,
});

test('versions: most nodes first and nothing last, the same colour in every group, counts and shares in words', () => {
  const eu = group('eu', { nodes: 4, serving: { v1: 1, v2: 3 } });
  const us = group('us', { nodes: 3, serving: { v1: 2, none: 1 } });
  const order = versionOrder({ groups: [eu, us] });
  assert.deepEqual(order, ['v1', 'v2', 'none']);
  assert.deepEqual(versionParts(eu, order), [{ version: 'v1', nodes: 1, share: '25%', colour: 0 }, { version: 'v2', nodes: 3, share: '75%', colour: 1 }]);
  assert.deepEqual(versionParts(us, order).map((p) => [p.version, p.colour]), [['v1', 0], ['none', 2]]);
  // Ties go by name, so the colours do not swap between two reads.
  assert.deepEqual(versionOrder({ groups: [group('a', { serving: { v9: 2, v3: 2 } })] }), ['v3', 'v9']);
});

test('module states and what needs a look are words; a healthy group needs nothing', () => {
  assert.deepEqual(stateWords({ unreported: 1, serving: 2, stale: 1, odd: 1 }), ['2 serving', '1 stale (refused a version, serves its last known-good)', '1 unreported (no load report yet)', '1 odd']);
  assert.deepEqual(stateWords({}), []);
  assert.deepEqual(attention(group('eu')), []);
  assert.deepEqual(attention(group('eu', { nodes: 10, live: 7, off_target: 2, pinned: 1, pending: 1 })), ['2 off target', '1 pinned by break-glass', '1 pending approval', '3 not seen in 60 s']);
});

test('the whole fleet adds its groups up; the grouping choices name each label and its values', () => {
  const r = { node: 'n3', version: 'v2', error: 'validate: too many entries', at: 5 };
  const all = wholeFleet({ groups: [group('eu', { serving: { v1: 3, v2: 1 }, states: { serving: 3, stale: 1 }, off_target: 1, refused: [r] }), group('us', { live: 3 })] });
  assert.deepEqual(all, { value: 'all', nodes: 8, live: 7, pending: 0, pinned: 0, serving: { v1: 7, v2: 1 }, states: { serving: 7, stale: 1 }, off_target: 1, refused: [r] });
  assert.deepEqual(groupChoices({ region: 2, tier: 1 }), [
    { value: '', label: 'no grouping (the whole fleet)' }, { value: 'region', label: 'region (2 values)' }, { value: 'tier', label: 'tier (1 value)' },
  ]);
});
