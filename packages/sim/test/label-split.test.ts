import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseScenario, simulate } from '../src/index.ts';

/**
 * A gate split by a label in the simulator: a regression confined to the 2% of nodes on one
 * hardware generation is rolled back at the canary by the split gate, and ships through the
 * same gate over the whole cohort.
 */
const text = readFileSync(new URL('../../../examples/scenarios/hardware-generation.yaml', import.meta.url), 'utf8');
const run = (edit: (t: string) => string = (t) => t) => {
  const r = parseScenario(edit(text), { file: 'hardware-generation.yaml' });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
  return simulate(r.value, { regimes: ['staged'] }).regimes.staged;
};

describe('a gate split by hardware_generation (simulator, 5,000 nodes)', () => {
  it('rolls back at the canary a change that breaks only the 2% on g2', () => {
    const r = run();
    const bad = r?.rollouts.find((x) => x.bad);
    assert.equal(bad?.final_state, 'rolled_back', JSON.stringify(bad));
    assert.equal(bad?.stopped_at_stage, 'canary');
    assert.match(bad?.reason ?? '', /failed in hardware_generation=g2/);
    assert.equal(r?.final_state, 'v0');
  });

  it('the same gate over the whole cohort ships it', () => {
    const r = run((t) => t.replace(', by: hardware_generation }', ' }'));
    const bad = r?.rollouts.find((x) => x.bad);
    assert.equal(bad?.final_state, 'completed', JSON.stringify(bad));
    assert.equal(r?.final_state, 'v2');
  });
});
