/**
 * False rollbacks: a healthy change (uneven-fleet: two good versions, nothing wrong) rolled out
 * by the staged regime over many seeds, in three worlds side by side:
 *   calm    the generator's world: every node alike, no bursts, no faults;
 *   uneven  bad nodes (0.5% with 5% errors) and error bursts on a share of one region;
 *   faulty  uneven, plus a 5-minute metrics outage, 2% silent agents for 30 minutes and 1% of
 *           load reports lost.
 * A rollback here is a false one. Each world runs under the scenario's own policy (a fixed
 * error-rate bound, `threshold: 0.01`) and under the same policy with its error gate comparing the
 * cohort with the baseline (`compare: baseline, allowed_degradation: 50%`, the sequential test),
 * the gate most often fooled by a sick node in a small canary. Also counts rollouts that ended
 * paused or still running (held by missing data: never promoted on it) and the median time to
 * complete.
 *
 *   node --import tsx bench/false-rollbacks.ts              # 50 seeds, 2,000 nodes
 *   node --import tsx bench/false-rollbacks.ts --seeds 200 --nodes 2000 --json
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseScenario, simulate, type Scenario } from '@failsmall/sim';
import { argInt, hasFlag, machine } from './lib.ts';

const file = 'examples/scenarios/uneven-fleet.yaml';
const parsed = parseScenario(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'), { file });
if (!parsed.ok) throw new Error(`${file} does not parse`);
const faulty = parsed.value;
const uneven: Scenario = { ...faulty, faults: [] };
const calm: Scenario = { ...uneven, traffic: { ...uneven.traffic, bad_nodes: null, bursts: null } };

/** The same scenario with its error-rate gates judged against the baseline instead of a fixed bound. */
function againstBaseline(s: Scenario): Scenario {
  // Not on the last stage: at 100% no node is left to compare with (a holdback would give one).
  const last = s.policy.stages.length - 1;
  const stages = s.policy.stages.map((st, i) => (i === last ? st : {
    ...st,
    health_gates: st.health_gates.map((g) => (g.metric === 'error_rate' ? { ...g, compare: 'baseline' as const, allowed_degradation: { relative: 0.5 } } : g)),
  }));
  return { ...s, policy: { ...s.policy, stages } };
}
const seeds = argInt('seeds', 50);
const nodes = argInt('nodes', 2000);

interface Tally { rollouts: number; rolled_back: number; held: number; completed: number; minutes_to_complete: number[]; seeds_with_false_rollback: number }

function run(s: Scenario): Tally {
  const t: Tally = { rollouts: 0, rolled_back: 0, held: 0, completed: 0, minutes_to_complete: [], seeds_with_false_rollback: 0 };
  for (let seed = 1; seed <= seeds; seed++) {
    const r = simulate(s, { seed, nodes, regimes: ['staged'] }).regimes.staged;
    if (!r) throw new Error('no staged regime');
    let rolledBack = false;
    for (const x of r.rollouts) {
      t.rollouts++;
      if (x.final_state === 'rolled_back') { t.rolled_back++; rolledBack = true; } else if (x.final_state === 'completed') {
        t.completed++;
        if (x.ended_seconds !== null) t.minutes_to_complete.push((x.ended_seconds - x.started_seconds) / 60);
      } else t.held++;
    }
    if (rolledBack) t.seeds_with_false_rollback++;
  }
  return t;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.floor(s.length / 2)] ?? 0).toFixed(1));
};

const t0 = performance.now();
const worlds = {
  'calm, threshold': run(calm), 'uneven, threshold': run(uneven), 'faulty, threshold': run(faulty),
  'calm, baseline': run(againstBaseline(calm)), 'uneven, baseline': run(againstBaseline(uneven)), 'faulty, baseline': run(againstBaseline(faulty)),
};
const wallSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
const rows = Object.entries(worlds).map(([world, t]) => ({
  world, rollouts: t.rollouts, false_rollbacks: t.rolled_back, false_rollback_share: Number((t.rolled_back / Math.max(1, t.rollouts)).toFixed(4)),
  seeds_with_a_false_rollback: t.seeds_with_false_rollback, held_by_missing_data: t.held, completed: t.completed, median_minutes_to_complete: median(t.minutes_to_complete),
}));
const result = { bench: 'false-rollbacks', scenario: faulty.name, seeds, nodes, wall_seconds: wallSeconds, date: new Date().toISOString().slice(0, 10), machine: machine(), worlds: rows };
if (hasFlag('json')) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(`false rollbacks · ${faulty.name} · seeds 1-${seeds} · ${nodes} nodes · staged regime · ${wallSeconds} s`);
  console.log('world, error gate   rollouts  false rollbacks  seeds with one  held (paused/running)  completed  median min to complete');
  for (const r of rows) {
    console.log(`${r.world.padEnd(18)} ${String(r.rollouts).padStart(8)}  ${`${r.false_rollbacks} (${(r.false_rollback_share * 100).toFixed(1)}%)`.padStart(15)}  ${String(r.seeds_with_a_false_rollback).padStart(14)}  ${String(r.held_by_missing_data).padStart(21)}  ${String(r.completed).padStart(9)}  ${String(r.median_minutes_to_complete ?? '-').padStart(22)}`);
  }
}
