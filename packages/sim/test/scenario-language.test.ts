import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseScenario, simulate, type Scenario } from '../src/index.ts';
import { root } from './helpers.ts';

// The shipped 5 December scenario: fl1 nodes (28%) fail on the killswitch file, fl2 nodes do not.
const base = readFileSync(new URL('examples/scenarios/dec05-killswitch.yaml', root), 'utf8');
const RULE = '    - where: { proxy: fl1 }';
const EFFECT = '      effect: request_errors';

function withRule(where: string, effect = EFFECT.trim()): Scenario {
  assert.ok(base.includes(RULE) && base.includes(EFFECT), 'the fixture still has its behaviour rule');
  const text = base.replace(RULE, `    - where: ${where}`).replace(EFFECT, `      ${effect}`);
  const r = parseScenario(text, { file: 'dec05.yaml' });
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
  return r.value;
}

const run = (s: Scenario) => simulate(s, { nodes: 200, regimes: ['global-push'] }).regimes['global-push']!;

describe('where: sets and not', () => {
  it('parses a value, a set and a negation', () => {
    assert.deepEqual(withRule('{ proxy: fl1 }').behaviour[0]?.where, [{ key: 'proxy', values: ['fl1'], negated: false }]);
    assert.deepEqual(withRule('{ proxy: [fl1, fl2] }').behaviour[0]?.where, [{ key: 'proxy', values: ['fl1', 'fl2'], negated: false }]);
    assert.deepEqual(withRule('{ proxy: { not: fl2 } }').behaviour[0]?.where, [{ key: 'proxy', values: ['fl2'], negated: true }]);
  });

  it('exposes exactly the nodes the condition names', () => {
    const fl1 = run(withRule('{ proxy: fl1 }'));
    const notFl2 = run(withRule('{ proxy: { not: fl2 } }'));
    const both = run(withRule('{ proxy: [fl1, fl2] }'));
    const neither = run(withRule('{ proxy: { not: [fl1, fl2] } }'));
    assert.equal(notFl2.nodes_exposed, fl1.nodes_exposed, 'not fl2 is fl1 in a fleet of fl1 and fl2');
    assert.equal(fl1.nodes_exposed, 56, '28% of 200 nodes');
    assert.equal(both.nodes_exposed, 200);
    assert.equal(neither.nodes_exposed, 0);
    assert.equal(neither.failed_requests, 0);
  });

  it('refuses an unknown value in a set, an empty set and a mapping without not:, at the value', () => {
    const bad = (where: string) => {
      const r = parseScenario(base.replace(RULE, `    - where: ${where}`), { file: 'dec05.yaml' });
      assert.equal(r.ok, false);
      return r.ok ? [] : r.errors;
    };
    const line = base.split('\n').findIndex((l) => l === RULE) + 1;
    const unknown = bad('{ proxy: [fl1, fl3] }');
    assert.equal(unknown[0]?.code, 'UNKNOWN_LABEL');
    assert.equal(unknown[0]?.line, line);
    assert.equal(unknown[0]?.col, '    - where: { proxy: [fl1, fl3] }'.indexOf('fl3') + 1, 'the column of the unknown value');
    assert.match(unknown[0]?.hint ?? '', /fl1|fl2/);
    assert.equal(bad('{ proxy: [] }')[0]?.code, 'BAD_VALUE');
    const typo = bad('{ proxy: { nott: fl1 } }');
    assert.deepEqual(typo.map((e) => e.code).sort(), ['MISSING_KEY', 'UNKNOWN_KEY']);
    assert.match(typo.find((e) => e.code === 'UNKNOWN_KEY')?.hint ?? '', /not/);
    assert.equal(bad('{ proxy: { a: [1] } }').some((e) => e.code === 'UNKNOWN_KEY'), true);
  });
});

describe('latency_factor scales the distribution', () => {
  it('slows requests without failing them, and the report counts them', () => {
    const slowed = run(withRule('{ proxy: fl1 }', 'effect: { latency_factor: 1.3 }'));
    assert.equal(slowed.failed_requests, 0, 'slower, not failed');
    assert.ok(slowed.slowed_requests > 0);
    assert.ok(slowed.slowed_requests < slowed.total_requests, 'only fl1 nodes serving the bad file are slowed');
    const none = run(withRule('{ proxy: fl1 }'));
    assert.equal(none.slowed_requests, 0, 'request_errors slows nothing');
  });

  it('refuses a factor out of range and an effect mapping with nothing in it', () => {
    const r = parseScenario(base.replace(EFFECT, '      effect: { latency_factor: 0 }'), { file: 'dec05.yaml' });
    assert.equal(r.ok, false);
    assert.equal(r.ok ? '' : r.errors[0]?.code, 'BAD_VALUE');
    const empty = parseScenario(base.replace(EFFECT, '      effect: { latency_factor: 1 }'), { file: 'dec05.yaml' });
    assert.equal(empty.ok ? '' : empty.errors[0]?.code, 'MISSING_KEY');
  });
});

describe('a module that fails open', () => {
  it('serves its safe default: requests are not failed but counted degraded and fail-open, and nodes end on fail-open', () => {
    const text = base
      .replace('  waf:\n    on_load_failure: serve-stale', '  waf:\n    on_load_failure: fail-open\n    safe_default: \'{"rules":[]}\'')
      .replace(EFFECT, '      effect: crash_at_load');
    assert.notEqual(text, base);
    const r = parseScenario(text, { file: 'dec05.yaml' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
    // fl1 nodes refuse the file at load; the module's policy is fail-open, so it serves its safe default.
    const safe = simulate(r.value, { nodes: 200, regimes: ['staged-safe-loader'] }).regimes['staged-safe-loader']!;
    assert.ok(safe.fail_open_requests > 0, `fail-open requests: ${safe.fail_open_requests}`);
    assert.ok(safe.degraded_requests >= safe.fail_open_requests, 'a safe default serves degraded');
    assert.equal(safe.failed_requests, 0, 'nothing failed: the safe default served');
    const stale = run(withRule('{ proxy: fl1 }'));
    assert.equal(stale.fail_open_requests, 0, 'serve-stale never serves a safe default');
  });
});
