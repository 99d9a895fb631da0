import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseScope } from '../src/policy/index.ts';
import type { Scope } from '../src/policy/index.ts';
import { parseOk, yaml } from './policy-helpers.ts';

function scopeOf(text: string): Scope | undefined {
  const r = parseScope(text);
  return r.ok ? r.scope : undefined;
}

describe('scope grammar', () => {
  it('reads a percentage of nodes: "1% nodes", "0.5% nodes", "1%"', () => {
    assert.deepEqual(scopeOf('1% nodes'), { type: 'percent', percent: 1, selector: [], text: '1% nodes' });
    assert.deepEqual(scopeOf('0.5% nodes'), { type: 'percent', percent: 0.5, selector: [], text: '0.5% nodes' });
    assert.deepEqual(scopeOf('1%'), { type: 'percent', percent: 1, selector: [], text: '1%' });
  });

  it('reads a node count: "20 nodes", "1 node"', () => {
    assert.deepEqual(scopeOf('20 nodes'), { type: 'count', count: 20, selector: [], text: '20 nodes' });
    assert.deepEqual(scopeOf('1 node'), { type: 'count', count: 1, selector: [], text: '1 node' });
  });

  it('reads "all" and "all nodes" as 100%', () => {
    assert.deepEqual(scopeOf('all'), { type: 'percent', percent: 100, selector: [], text: 'all' });
    assert.deepEqual(scopeOf('all nodes'), { type: 'percent', percent: 100, selector: [], text: 'all nodes' });
  });

  it('reads label matchers after "where", all of which must hold', () => {
    assert.deepEqual(scopeOf('100% nodes where customer_tier=free'), {
      type: 'percent', percent: 100, text: '100% nodes where customer_tier=free',
      selector: [{ key: 'customer_tier', op: '=', value: 'free' }],
    });
    assert.deepEqual(scopeOf('5 nodes where region=eu, colo!=ams')?.selector, [
      { key: 'region', op: '=', value: 'eu' },
      { key: 'colo', op: '!=', value: 'ams' },
    ]);
  });

  it('refuses percentages outside (0, 100], counts below 1 and fractional counts', () => {
    for (const bad of ['0%', '100.5%', '150% nodes', '0 nodes', '1.5 nodes', '-1%']) {
      assert.equal(parseScope(bad).ok, false, bad);
    }
  });

  it('refuses a bare number, saying how to write either reading', () => {
    const r = parseScope('10');
    assert.ok(!r.ok);
    if (!r.ok) assert.equal(r.hint, 'write "10% nodes" or "10 nodes"');
  });

  it('refuses malformed matchers', () => {
    for (const bad of ['10% where', '10% nodes where tier', '10% nodes where =free', '10% nodes where a=b,,c=d', '10% nodes where a==b']) {
      assert.equal(parseScope(bad).ok, false, bad);
    }
  });

  it('reads the object form { nodes, where } and writes its canonical text', () => {
    const d = parseOk(yaml(
      'policies:',
      '  p:',
      '    stages:',
      '      - { name: a, scope: { nodes: "10%", where: { customer_tier: free } } }',
      '      - { name: b, scope: { nodes: 20 } }',
      '      - { name: c, scope: { nodes: all } }',
    ));
    assert.deepEqual(d.policies[0]?.stages.map((s) => s.scope), [
      { type: 'percent', percent: 10, selector: [{ key: 'customer_tier', op: '=', value: 'free' }], text: '10% nodes where customer_tier=free' },
      { type: 'count', count: 20, selector: [], text: '20 nodes' },
      { type: 'percent', percent: 100, selector: [], text: '100% nodes' },
    ]);
  });

  it('lets a stage of a different population be smaller: free tier 100% before 10% of everyone', () => {
    const d = parseOk(yaml(
      'policies:',
      '  p:',
      '    stages:',
      '      - { name: free-all, scope: 100% nodes where customer_tier=free }',
      '      - { name: canary, scope: 10% nodes }',
      '      - { name: few, scope: 5 nodes }',
      '      - { name: global, scope: 100% nodes }',
    ));
    assert.equal(d.policies[0]?.stages.length, 4);
  });
});
