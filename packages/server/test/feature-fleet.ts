import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Agent } from '@failsmall/agent';
import { call, DECLARATIONS, waitFor, type testServer } from './fixtures.ts';

/**
 * A small fleet for incident tests: the `features` artifact with a good v1 and bad versions
 * (over max_entries: every agent refuses them, so the canary's load gate fails and the rollout
 * rolls back), and one agent per node id running bot-management (with `labels(id)`, if given), all registered.
 */
export async function featureFleet(s: Awaited<ReturnType<typeof testServer>>, o: { bad: readonly string[]; nodes: readonly string[]; declarations?: string; labels?: (id: string) => Record<string, string> }): Promise<Agent[]> {
  const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });
  const token = (await post('/v1/tokens', { name: 'fleet', role: 'join' })).body.token as string;
  assert.equal((await post('/v1/apply', { text: o.declarations ?? DECLARATIONS })).status, 200);
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
  for (const v of o.bad) {
    await call(s.url, 'POST', `/v1/artifacts/features/versions?version=${v}&force=true`, { token: s.admin, body: JSON.stringify(Array.from({ length: 300 }, (_, i) => `${v}-${i}`)) });
  }
  const agents: Agent[] = [];
  for (const id of o.nodes) {
    const a = new Agent({ server: s.url, token, nodeId: id, labels: o.labels?.(id) ?? {}, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: s.publicKey });
    agents.push(a);
    await a.start();
  }
  await waitFor(`${o.nodes.length} nodes`, async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === o.nodes.length, 30_000);
  return agents;
}
