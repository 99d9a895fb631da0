/**
 * A slice of `npm run chaos:pg-restart`: PostgreSQL (a private cluster, so no other test file
 * loses its database) crashes or stops and starts again mid-rollout, under two replicas and
 * ten agents. The replicas reconnect by themselves (store and change feed) and every rollout
 * ends as its version deserves, with each transition once and no bake credited with the time
 * the database was down. Then a change made through one replica still reaches the other's
 * long-polls: the LISTEN connections came back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChaosCluster } from '../bench/chaos/cluster.ts';
import { faultsDuringRollouts } from '../bench/chaos/fault-rollouts.ts';
import { restartPostgres } from '../bench/chaos/pg-restart.ts';
import { PgCluster } from './helpers/pg-cluster.ts';
import { Api, waitFor } from './helpers/procs.ts';

const SEED = Number(process.env.FAILSMALL_TEST_SEED ?? 1205);

test('PostgreSQL restarted 3 times across 3 rollouts under two replicas: they reconnect and every rollout ends as it should', { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (replay with FAILSMALL_TEST_SEED=${SEED})`);
  const pg = await PgCluster.primary();
  t.after(() => pg.destroy());
  const cluster = await ChaosCluster.start({ engine: 'postgres', replicas: 2, agents: 10, leaseMs: 2000, postgresUrl: pg.url() });
  t.after(() => cluster.stop());
  const report = await faultsDuringRollouts(cluster, { rollouts: 3, faults: 3, seed: SEED, badShare: 0.5, fault: restartPostgres(pg), log: (l) => t.diagnostic(l) });
  assert.deepEqual(report.violations, [], report.violations.join('\n'));
  assert.equal(report.faults.length, 3);
  assert.ok(report.faults.some((f) => !/completed|rolled_back/.test(f.seen)), `at least one restart landed mid-rollout: ${report.faults.map((f) => f.seen).join(', ')}`);
  for (const r of cluster.replicas) {
    assert.equal(r.served?.child.running, true, `replica ${r.index} is still running: it reconnected rather than died`);
    const view = await waitFor(`replica ${r.index} to hear the others again`, async () => {
      const v = await new Api(r.served!.url, cluster.api.token).get<{ hearing: boolean }>('/v1/replica');
      return v.hearing ? v : undefined;
    });
    assert.equal(view.hearing, true);
  }
});
