/**
 * A slice of the judges benchmark (figure 5) in `npm test`: failsmall's real gates on a few
 * hundred seeded healthy rollouts of every stream of bench/judges/streams.ts, with a bound that
 * can fail, and a couple of regressions that must be caught. Smaller than the benchmark to stay
 * within ~30 s: 10 baseline nodes, a 6-minute stage, 300 healthy runs per stream (150 at 1.0×,
 * 150 at the allowance's edge: 1.15× errors, latency ×1.054), looks every 10 s.
 *
 * At most 1 false rollback in 300 per stream: at the goal's 0.1%, P(≥ 2 of 300) ≈ 3.7%, summed
 * over the 7 streams ≈ 23% if every stream sat exactly at the goal; a gate well inside it passes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTask } from '../bench/judges/run.ts';
import { STREAMS } from '../bench/judges/streams.ts';

const SEED = 1010;
const common = { seed: SEED, intervalSteps: 1, steps: 36, baselineNodes: 10, judges: ['failsmall'] as const };

for (const s of STREAMS) {
  test(`bench judges: failsmall rolls back at most 1 of 300 healthy ${s.key} rollouts`, () => {
    let falses = 0;
    const at: string[] = [];
    for (const scenario of ['healthy_1x', 'healthy_edge']) {
      const r = runTask({ ...common, stream: s.key, scenario, from: 0, to: 150, baselineNodes: Math.max(common.baselineNodes, s.canaryNodes) });
      (r.times.failsmall ?? []).forEach((t, i) => { if (t !== null) { falses++; at.push(`${scenario} run ${i} at ${t} s`); } });
    }
    assert.ok(falses <= 1, `${falses} false rollbacks of 300 on ${s.key}: ${at.join(', ')}`);
  });
}

test('bench judges: failsmall detects 2× errors (binomial) and +20% p99 (latency-spread) within 600 s', () => {
  const errors = runTask({ ...common, stream: 'binomial', scenario: 'error_2x', from: 0, to: 20 }).times.failsmall ?? [];
  const latency = runTask({ ...common, stream: 'latency-spread', scenario: 'latency_p99_+20pct', from: 0, to: 20 }).times.failsmall ?? [];
  const caught = (ts: (number | null)[]) => ts.filter((t) => t !== null && t <= 600).length;
  assert.ok(caught(errors) >= 18, `2× errors caught in ${caught(errors)} of 20: ${JSON.stringify(errors)}`);
  assert.ok(caught(latency) >= 18, `+20% p99 caught in ${caught(latency)} of 20: ${JSON.stringify(latency)}`);
});
