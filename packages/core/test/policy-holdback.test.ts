import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParseOptions } from '../src/policy/index.ts';
import { errorsAt, parseOk, yaml } from './policy-helpers.ts';

/** holdback: parsed into a final stage named holdback, and refused where it cannot work, at line:col. */
const known: ParseOptions = { known: { modules: [{ name: 'proxy', on_load_failure: 'serve-stale' }], artifacts: [{ name: 'a', kind: 'config', module: 'proxy', validation: {}, policy: 'p' }] } };
const policy = (...holdback: string[]) => yaml(
  'policies:',
  '  p:',
  '    interval: 30s',
  '    stages:',
  '      - { name: canary, scope: 1% nodes, health_gates: [ { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 20% } ] }',
  '      - { name: global, scope: 100% nodes }',
  ...holdback,
);

describe('holdback:', () => {
  it('becomes a last stage named holdback, with its gates (by default the last stage\'s) baked for `for:`', () => {
    const d = parseOk(policy('    holdback: { scope: 1% nodes, for: 2h, health_gates: [ { module: proxy, metric: error_rate, compare: baseline, allowed_degradation: 10% } ], on_failure: pause }'), known);
    const stages = d.policies[0]?.stages ?? [];
    assert.deepEqual(stages.map((s) => s.name), ['canary', 'global', 'holdback']);
    const h = stages[2];
    assert.equal(h?.bake_ms, 2 * 3_600_000);
    assert.equal(h?.interval_ms, 30_000);
    assert.equal(h?.rollback_on_failure, false);
    assert.equal(h?.holdback?.scope.text, '1% nodes');
    assert.deepEqual(h?.health_gates[0]?.allowed_degradation, { relative: 0.1 });
    const plain = parseOk(policy('    holdback: { scope: 0.5% nodes, for: 30m }'), known).policies[0]?.stages[2];
    assert.equal(plain?.rollback_on_failure, true);
    assert.deepEqual(plain?.health_gates, [], 'the last stage (global) had no gates');
  });

  it('refuses a holdback larger than the canary, one with where, one shorter than the interval, and a stage already named holdback', () => {
    assert.deepEqual(errorsAt(policy('    holdback: { scope: 5% nodes, for: 2h }'), known), ['BAD_SCOPE@7:24']);
    assert.deepEqual(errorsAt(policy('    holdback: { scope: { nodes: 1%, where: { region: eu } }, for: 2h }'), known), ['BAD_SCOPE@7:24']);
    assert.deepEqual(errorsAt(policy('    holdback: { scope: 1% nodes, for: 10s }'), known), ['BAD_DURATION@7:39']);
    assert.deepEqual(errorsAt(policy('    holdback: { scope: 1% nodes }'), known), ['MISSING_KEY@7:15']);
    assert.deepEqual(errorsAt(policy('    holdback: { scope: 1% nodes, for: 1h, until: forever }'), known), ['UNKNOWN_KEY@7:43']);
    const clash = yaml('policies:', '  p:', '    stages:', '      - { name: holdback, scope: 1% nodes }', '    holdback: { scope: 1% nodes, for: 1h }');
    assert.deepEqual(errorsAt(clash, known), ['DUPLICATE_STAGE@5:5']);
  });
});
