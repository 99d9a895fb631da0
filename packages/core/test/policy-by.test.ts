import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParseOptions } from '../src/policy/index.ts';
import { errorsAt, parseOk, yaml } from './policy-helpers.ts';

const known: ParseOptions = { known: { modules: [{ name: 'proxy', on_load_failure: 'serve-stale' }], artifacts: [{ name: 'a', kind: 'config', module: 'proxy', validation: {}, policy: 'p' }] } };

/** `by:` on a compare: baseline gate: parsed, and refused where it cannot mean anything, at line:col. */
const policy = (...gate: string[]) => yaml(
  'policies:',
  '  p:',
  '    artifact: a',
  '    stages:',
  '      - name: canary',
  '        scope: 10% nodes',
  '        health_gates:',
  ...gate,
);

describe('gates split by a label (by:)', () => {
  it('parses by: and require_each_group: on a compare: baseline gate', () => {
    const d = parseOk(policy('          - { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 20%, by: hardware_generation, require_each_group: true }'), known);
    const g = d.policies[0]?.stages[0]?.health_gates[0];
    assert.equal(g?.by, 'hardware_generation');
    assert.equal(g?.require_each_group, true);
  });

  it('refuses by: on a threshold gate, a name that is no label, and require_each_group without by:', () => {
    assert.deepEqual(errorsAt(policy('          - { module: proxy, metric: error_rate, threshold: 0.01, by: rack }'), known), ['WRONG_TYPE@8:67']);
    assert.deepEqual(errorsAt(policy('          - { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 20%, by: "hard ware" }'), known), ['BAD_SCOPE@8:99']);
    assert.deepEqual(errorsAt(policy('          - { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 20%, require_each_group: true }'), known), ['WRONG_TYPE@8:95']);
  });
});
