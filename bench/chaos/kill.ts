/**
 * Chaos: SIGKILL the control plane at random moments across a run of rollouts.
 *
 *   npm run chaos:kill -- --engine sqlite                       # one process on SQLite: 20 rollouts, 50 kills
 *   npm run chaos:kill -- --engine postgres --replicas 2        # two replicas on PostgreSQL behind a balancer
 *   #   options: --rollouts 20 --kills 50 --agents 20 --seed N --lease-ms 2000 --json
 *
 * Exit 0 when every rollout ended as its version deserved, every node converged, no transition
 * was lost or doubled, the chain verified and no bake counted unwatched time; 1 otherwise, with
 * each violation printed. A small slice runs in `npm test` (test/chaos-kill.test.ts).
 */
import { argInt, argValue, hasFlag } from '../lib.ts';
import { ChaosCluster, type Engine } from './cluster.ts';
import { killDuringRollouts } from './kill-rollouts.ts';

const engine = (argValue('engine') ?? 'sqlite') as Engine;
if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`--engine sqlite | postgres, got ${engine}`);
const replicas = argInt('replicas', engine === 'sqlite' ? 1 : 2);
const plan = { rollouts: argInt('rollouts', 20), kills: argInt('kills', 50), seed: argInt('seed', 20251205) };
const json = hasFlag('json');
const say = (line: string) => { if (!json) console.log(line); else console.error(line); };

const started = Date.now();
const cluster = await ChaosCluster.start({ engine, replicas, agents: argInt('agents', 20), leaseMs: argInt('lease-ms', 2000) });
say(`chaos:kill on ${engine}, ${replicas} replica(s), ${cluster.agents.length} agents, ${plan.rollouts} rollouts, ${plan.kills} kills, seed ${plan.seed}`);
let exit = 1;
try {
  const report = await killDuringRollouts(cluster, { ...plan, log: say });
  const byState = new Map<string, number>();
  for (const k of report.kills) byState.set(k.seen.split(' ')[0] ?? k.seen, (byState.get(k.seen.split(' ')[0] ?? k.seen) ?? 0) + 1);
  const outcome = (s: string) => report.rollouts.filter((r) => r.status === s).length;
  say(`\n${report.rollouts.length} rollouts: ${outcome('completed')} completed, ${outcome('rolled_back')} rolled back, ${report.rollouts.length - outcome('completed') - outcome('rolled_back')} other`);
  say(`${report.kills.length} kills (${report.kills.filter((k) => k.holder).length} of the rollout's holder), during: ${[...byState].map(([s, n]) => `${s} ${n}`).join(', ')}`);
  say(`events checked: ${report.rollouts.reduce((a, r) => a + r.events, 0)}; chain ${report.chain_ok ? 'verifies' : 'BROKEN'}; ${report.violations.length} violation(s) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const v of report.violations) say(`  VIOLATION ${v}`);
  if (json) console.log(JSON.stringify({ ...report, seconds: Math.round((Date.now() - started) / 1000) }, null, 2));
  exit = report.violations.length === 0 ? 0 : 1;
} finally {
  await cluster.stop();
}
process.exit(exit);
