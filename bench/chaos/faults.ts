/**
 * Chaos: faults at random moments across a run of rollouts, and what survived.
 *
 *   npm run chaos:kill -- --engine sqlite                  # SIGKILL the one process on SQLite: 20 rollouts, 50 kills
 *   npm run chaos:kill -- --engine postgres --replicas 2   # SIGKILL replicas on PostgreSQL behind a balancer
 *   npm run chaos:pg-restart                               # crash and restart PostgreSQL (a private cluster) under two replicas: 10 rollouts, 10 restarts
 *   #   options: --rollouts N --faults N --agents 20 --seed N --lease-ms 2000 --json
 *
 * Exit 0 when every rollout ended as its version deserved, every node converged, no transition
 * was lost or doubled, the chain verified and no bake counted unwatched time; 1 otherwise, with
 * each violation printed. Slices run in `npm test` (test/chaos-kill.test.ts, test/chaos-pg-restart.test.ts).
 */
import { PgCluster } from '../../test/helpers/pg-cluster.ts';
import { argInt, argValue, hasFlag } from '../lib.ts';
import { ChaosCluster, type Engine } from './cluster.ts';
import { faultsDuringRollouts, killOne } from './fault-rollouts.ts';
import { restartPostgres } from './pg-restart.ts';

const fault = argValue('fault') ?? 'kill';
if (fault !== 'kill' && fault !== 'pg-restart') throw new Error(`--fault kill | pg-restart, got ${fault}`);
const engine = (argValue('engine') ?? (fault === 'pg-restart' ? 'postgres' : 'sqlite')) as Engine;
if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`--engine sqlite | postgres, got ${engine}`);
if (fault === 'pg-restart' && engine !== 'postgres') throw new Error('--fault pg-restart needs --engine postgres');
const replicas = argInt('replicas', engine === 'sqlite' ? 1 : 2);
const plan = { rollouts: argInt('rollouts', fault === 'kill' ? 20 : 10), faults: argInt('faults', fault === 'kill' ? 50 : 10), seed: argInt('seed', 20251205) };
const json = hasFlag('json');
const say = (line: string) => { if (!json) console.log(line); else console.error(line); };

const started = Date.now();
const pg = fault === 'pg-restart' ? await PgCluster.primary() : undefined;
const cluster = await ChaosCluster.start({ engine, replicas, agents: argInt('agents', 20), leaseMs: argInt('lease-ms', 2000), ...(pg ? { postgresUrl: pg.url() } : {}) });
say(`chaos ${fault} on ${engine}, ${replicas} replica(s), ${cluster.agents.length} agents, ${plan.rollouts} rollouts, ${plan.faults} faults, seed ${plan.seed}`);
let exit = 1;
try {
  const report = await faultsDuringRollouts(cluster, { ...plan, fault: pg ? restartPostgres(pg) : killOne, log: say });
  const byState = new Map<string, number>();
  for (const k of report.faults) byState.set(k.seen.split(' ')[0] ?? k.seen, (byState.get(k.seen.split(' ')[0] ?? k.seen) ?? 0) + 1);
  const outcome = (s: string) => report.rollouts.filter((r) => r.status === s).length;
  say(`\n${report.rollouts.length} rollouts: ${outcome('completed')} completed, ${outcome('rolled_back')} rolled back, ${report.rollouts.length - outcome('completed') - outcome('rolled_back')} other`);
  say(`${report.faults.length} faults (${report.faults.filter((k) => k.holder).length} blinding the rollout's holder), during: ${[...byState].map(([s, n]) => `${s} ${n}`).join(', ')}`);
  say(`events checked: ${report.rollouts.reduce((a, r) => a + r.events, 0)}; chain ${report.chain_ok ? 'verifies' : 'BROKEN'}; ${report.violations.length} violation(s) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const v of report.violations) say(`  VIOLATION ${v}`);
  if (json) console.log(JSON.stringify({ ...report, seconds: Math.round((Date.now() - started) / 1000) }, null, 2));
  exit = report.violations.length === 0 ? 0 : 1;
} finally {
  await cluster.stop();
  await pg?.destroy();
}
process.exit(exit);
