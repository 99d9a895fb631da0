import { ago } from '@failsmall/core';
import { checksSummary, signerWords, type ArtifactVersion, type RolloutState } from '@failsmall/core';
import { EXIT } from '../exit-codes.ts';
import type { Out } from '../output.ts';
import { renderTable } from '../table.ts';
import { clientFrom, type GlobalOpts } from './common.ts';

interface NodeLoads { id: string; loads: { artifact: string; serving: string | null }[] }

/**
 * `failsmall artifact versions NAME`: every pushed version, newest first, with its size, hash,
 * signature, and where it is live: how many nodes serve it, which one is the current (desired)
 * version, and which one an active rollout is taking the fleet to.
 */
export async function artifactVersions(name: string, opts: GlobalOpts, out: Out): Promise<number> {
  const client = clientFrom(opts);
  const path = encodeURIComponent(name);
  // Asked first and alone: an unknown artifact is NOT_FOUND before anything else is read.
  const { artifact, versions } = await client.get<{ artifact: { name: string; current_version: string | null }; versions: ArtifactVersion[] }>(`/v1/artifacts/${path}`);
  const [{ nodes }, { rollouts }] = await Promise.all([
    client.get<{ nodes: NodeLoads[] }>('/v1/nodes'),
    client.get<{ rollouts: RolloutState[] }>(`/v1/rollouts?artifact=${path}&active=true`),
  ]);
  const serving = new Map<string, number>();
  for (const n of nodes) for (const l of n.loads) if (l.artifact === artifact.name && l.serving !== null) serving.set(l.serving, (serving.get(l.serving) ?? 0) + 1);
  const active = rollouts[0];
  const rows = [...versions].sort((a, b) => b.created_at - a.created_at).map((v) => ({
    ...v,
    nodes_serving: serving.get(v.version) ?? 0,
    current: v.version === artifact.current_version,
    rolling_out: active !== undefined && active.to_version === v.version ? active.id : null,
  }));
  out.data({ ok: true, artifact: artifact.name, current_version: artifact.current_version, fleet_nodes: nodes.length, versions: rows });
  if (rows.length === 0) {
    out.line(`${artifact.name} has no versions yet (failsmall artifact push ${artifact.name} FILE)`);
    return EXIT.OK;
  }
  const now = Date.now();
  out.line(renderTable(['version', 'size', 'entries', 'sha256', 'pushed', 'signed', 'checks', 'live', 'state'], rows.map((v) => [
    v.version, `${v.size} B`, v.entries === null ? '-' : String(v.entries), v.sha256.slice(0, 12),
    `${ago(now - v.created_at)} ago${v.pushed_by ? ` by ${v.pushed_by}` : ''}`, signerWords(v.signature, v.signer), checksSummary(v.checks),
    `${v.nodes_serving}/${nodes.length} nodes`,
    [v.current ? 'current' : '', v.rolling_out ? `rolling out (${v.rolling_out})` : '', v.forced ? 'FORCED past its limits' : ''].filter(Boolean).join(', ') || '-',
  ]), { align: ['left', 'right'] }));
  return EXIT.OK;
}

