import { call, type testServer } from '../../packages/server/test/fixtures.ts';

/**
 * A history of rollouts on a control plane, for the dashboard's paging test and its paint bench:
 * one artifact per rollout (one rollout per artifact runs at a time, and an aborted one on nodes
 * that never report would stay rolling back), each under a policy that waits for approval at a
 * 1-node canary, so each stays where it is put. All but the newest are paused. The control plane
 * needs at least one registered node. Returns the artifacts and the rollout ids, oldest first.
 */
export async function rolloutHistory(s: Awaited<ReturnType<typeof testServer>>, count: number): Promise<{ artifacts: string[]; ids: string[] }> {
  const post = async (path: string, json: unknown) => {
    const r = await call(s.url, 'POST', path, { token: s.admin, json });
    if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  const width = String(count - 1).length;
  const artifacts = Array.from({ length: count }, (_, i) => `features-${String(i).padStart(width, '0')}`);
  await post('/v1/apply', { text: heldDeclarations(artifacts) });
  for (const a of artifacts) {
    const r = await call(s.url, 'POST', `/v1/artifacts/${a}/versions?version=v2`, { token: s.admin, body: '["v2"]' });
    if (r.status !== 201) throw new Error(`push ${a}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const ids: string[] = [];
  for (const [i, artifact] of artifacts.entries()) {
    const id = (await post('/v1/rollouts', { artifact, version: 'v2', reason: `history ${i}` })).body.rollout.id as string;
    if (i < count - 1) await post(`/v1/rollouts/${id}/pause`, { reason: 'history' });
    ids.push(id);
  }
  return { artifacts, ids };
}

function heldDeclarations(artifacts: readonly string[]): string {
  return `modules:
  bot-management: { on_load_failure: serve-stale }
artifacts:
${artifacts.map((a) => `  ${a}: { kind: feature-file, module: bot-management, policy: held }`).join('\n')}
policies:
  held:
    stages:
      - { name: canary, scope: 1 nodes, health_gates: [], approval: manual }
      - { name: global, scope: 100% nodes, health_gates: [] }
`;
}
