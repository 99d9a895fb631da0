import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseScenario, simulate } from '../src/index.ts';

/**
 * The holdback in the simulator: a slow burn that every stage bakes past is caught by the
 * holdback's gates after the last stage, and rolled back; the same policy without a holdback
 * ships it; a healthy change completes once the holdback window ends.
 */
const text = readFileSync(new URL('../../../examples/scenarios/slow-burn-holdback.yaml', import.meta.url), 'utf8');
const scenario = (edit: (t: string) => string = (t) => t) => {
  const r = parseScenario(edit(text), { file: 'slow-burn-holdback.yaml' });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
  return r.value;
};

describe('a holdback after the last stage (simulator, 2,000 nodes, 3 h)', () => {
  it('catches a slow burn after every stage passed, and rolls the fleet back', () => {
    const r = simulate(scenario(), { regimes: ['staged'] }).regimes.staged;
    const bad = r?.rollouts.find((x) => x.bad);
    assert.ok(bad, JSON.stringify(r?.rollouts));
    assert.equal(bad.final_state, 'rolled_back', JSON.stringify(bad));
    assert.equal(bad.stopped_at_stage, 'holdback');
    assert.match(bad.reason ?? '', /error rate regressed/);
    assert.equal(r?.final_state, 'v0');
  });

  it('without the holdback, the same slow burn ships to every node', () => {
    const r = simulate(scenario((t) => t.replace(/    holdback:\n      scope: 1% nodes\n      for: 2h\n      health_gates: \*against-baseline\n/, '')), { regimes: ['staged'] }).regimes.staged;
    const bad = r?.rollouts.find((x) => x.bad);
    assert.equal(bad?.final_state, 'completed', JSON.stringify(bad));
    assert.equal(r?.final_state, 'v2-slow-burn');
  });

  it('a healthy change completes once the holdback window has passed, and the held-back nodes take it', () => {
    const r = simulate(scenario((t) => t.replace('effect: { error_rate: 0.01, ramp: 4h }', 'effect: { error_rate: 0.0001 }')), { regimes: ['staged'] }).regimes.staged;
    const good = r?.rollouts[0];
    assert.equal(good?.final_state, 'completed', JSON.stringify(good));
    assert.equal(r?.final_state, 'v2-slow-burn');
  });
});
