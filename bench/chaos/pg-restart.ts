/**
 * The fault of PostgreSQL going away under the replicas: crashed (`pg_ctl stop -m immediate`,
 * every connection cut, no checkpoint) or stopped cleanly (`-m fast`), at random, and started
 * again after a while. Nothing can commit meanwhile, so the whole downtime is blind.
 */
import type { PgCluster } from '../../test/helpers/pg-cluster.ts';
import { sleep } from '../../test/helpers/procs.ts';
import { doing, type Fault } from './fault-rollouts.ts';

export function restartPostgres(pg: PgCluster): Fault {
  return async (c, id, random, maxDownMs) => {
    const seen = await doing(c, id);
    const mode = random() < 0.5 ? 'immediate' : 'fast';
    const at = Date.now();
    await pg.stop(mode);
    await sleep(200 + Math.floor(random() * (maxDownMs - 200)));
    await pg.start();
    const back = Date.now();
    return { record: { rollout: id, what: `postgres ${mode === 'immediate' ? 'crashed' : 'stopped'} and started`, holder: true, seen, down_ms: back - at }, window: { from: at, to: back } };
  };
}
