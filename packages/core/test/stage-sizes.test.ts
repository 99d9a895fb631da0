import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stageSizeWarnings, type FleetNode, type StageSpec } from '../src/index.ts';

const stage = (name: string, scope: StageSpec['scope'], extra: Partial<StageSpec> = {}): StageSpec =>
  ({ name, scope, health_gates: [], rollback_on_failure: true, bake_ms: 0, interval_ms: 1000, load_timeout_ms: 1000, ...extra }) as StageSpec;
const pct = (percent: number, selector: StageSpec['scope']['selector'] = []) => ({ type: 'percent', percent, selector }) as StageSpec['scope'];
const fleet = (n: number, labels: Record<string, string> = {}): FleetNode[] => Array.from({ length: n }, (_, i) => ({ id: `n${i}`, labels }) as FleetNode);

describe('stages that add no node on this fleet', () => {
  it('names the 10% stage that reaches the same one node as a 1% canary on 4 nodes', () => {
    const w = stageSizeWarnings([stage('canary', pct(1)), stage('ten', pct(10)), stage('all', pct(100))], fleet(4));
    assert.deepEqual(w.map((x) => x.stage), ['ten']);
    assert.equal(w[0]?.message, 'stage ten reaches 1 of 4 nodes, no more than stage canary (1): it adds no node on this fleet');
    assert.match(w[0]?.hint ?? '', /count scopes/);
  });

  it('says nothing when every stage grows, or when stages select different nodes', () => {
    assert.deepEqual(stageSizeWarnings([stage('canary', pct(1)), stage('ten', pct(10)), stage('all', pct(100))], fleet(200)), []);
    const eu = [{ key: 'region', op: '=', value: 'eu' }] as StageSpec['scope']['selector'];
    const us = [{ key: 'region', op: '=', value: 'us' }] as StageSpec['scope']['selector'];
    assert.deepEqual(stageSizeWarnings([stage('eu', pct(100, eu)), stage('us', pct(100, us))], [...fleet(2, { region: 'eu' }), ...fleet(2, { region: 'us' }).map((n) => ({ ...n, id: `u${n.id}` }))]), []);
  });
});
