/**
 * The fleet page's read (`npm run bench:fleet`): GET /v1/fleet?artifact=features&by=region on a
 * real control plane (in process, SQLite) holding 10,000 nodes, each with a load report, 1% of
 * them refusing the newest version; and core's summarizeFleet alone on the same data. Reports the
 * median and p90 over --runs calls (default 20). Flags: --nodes N, --runs N, --json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeFleet } from '@failsmall/core';
import { testServer, call, DECLARATIONS } from '../packages/server/test/fixtures.ts';
import { argInt, fleetLabels, hasFlag, machine, ms, nodeId, percentile } from './lib.ts';

const N = argInt('nodes', 10_000);
const runs = argInt('runs', 20);
const dir = mkdtempSync(join(tmpdir(), 'failsmall-bench-fleet-'));
const s = await testServer({ store: join(dir, 'fs.db') });
try {
  await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const id = nodeId(i);
    await s.store.upsertNode({ id, labels: fleetLabels(i), modules: ['bot-management'] }, now, true);
    const refused = i % 100 === 0;
    await s.store.recordLoad({ node_id: id, artifact: 'features', version: refused ? 'v2' : 'v1', ok: !refused, serving: 'v1', error: refused ? 'too many features' : null, at: now, module_state: refused ? 'stale' : 'serving' });
  }
  const route: number[] = [];
  const pure: number[] = [];
  const [nodes, loads] = [await s.store.listNodes(), await s.store.listLoads('features')];
  for (let r = 0; r < runs + 1; r++) {
    let t0 = performance.now();
    const res = await call(s.url, 'GET', '/v1/fleet?artifact=features&by=region', { token: s.admin });
    if (res.status !== 200) throw new Error(`GET /v1/fleet: ${res.status} ${JSON.stringify(res.body)}`);
    if (r > 0) route.push(performance.now() - t0);
    t0 = performance.now();
    summarizeFleet({ nodes, loads, desired: () => 'v1', artifact: 'features', by: 'region', now });
    if (r > 0) pure.push(performance.now() - t0);
  }
  route.sort((a, b) => a - b);
  pure.sort((a, b) => a - b);
  const result = { date: new Date().toISOString(), machine: machine(), nodes: N, runs, route_p50_ms: percentile(route, 0.5), route_p90_ms: percentile(route, 0.9), pure_p50_ms: percentile(pure, 0.5), pure_p90_ms: percentile(pure, 0.9) };
  if (hasFlag('json')) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`fleet summary at ${N} nodes, ${runs} runs (SQLite, in process; load ${result.machine.loadavg_1m_at_start})`);
    console.log(`GET /v1/fleet?artifact=features&by=region: median ${ms(result.route_p50_ms)} ms, p90 ${ms(result.route_p90_ms)} ms`);
    console.log(`summarizeFleet alone: median ${ms(result.pure_p50_ms)} ms, p90 ${ms(result.pure_p90_ms)} ms`);
  }
} finally {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
}
