import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Agent } from '@failsmall/agent';
import { generateSigningKeys } from '@failsmall/core';
import { call, DECLARATIONS, testServer, waitFor } from '../../packages/server/test/fixtures.ts';

/** The fixture's declarations, with bot-management failing open to a safe default (for the kill switch). */
export const BREAKGLASS_DECLARATIONS = DECLARATIONS.replace('bot-management: { on_load_failure: serve-stale }', 'bot-management: { on_load_failure: fail-open, safe_default: "[]" }');

/**
 * A control plane for the break-glass suites: declarations applied, `features` v1 and v2
 * pushed, an agent token, and a break-glass key pair written beside it, whose public half the
 * control plane verifies reports with (unless `serverVerifies: false`). Agents the test makes
 * go in `agents` and are stopped after it, with the server.
 */
export async function breakglassBed(t: TestContext, opts: { serverVerifies?: boolean } = {}) {
  const notices: { kind: string; summary: string; details?: Record<string, unknown> }[] = [];
  const bg = generateSigningKeys();
  // By default the control plane holds the break-glass public key, as docs/breakglass.md says to run it, and verifies reports.
  const keyDir = mkdtempSync(join(tmpdir(), 'failsmall-bgpub-'));
  writeFileSync(join(keyDir, 'breakglass.pub'), bg.publicKey);
  const s = await testServer({
    incidentTickMs: 50, notify: (n) => notices.push(n),
    ...(opts.serverVerifies === false ? {} : { breakglassPublicKeyFile: join(keyDir, 'breakglass.pub') }),
  });
  rmSync(keyDir, { recursive: true, force: true });
  const agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const bgKey = join(s.dir, 'breakglass.key');
  writeFileSync(bgKey, bg.privateKey, { mode: 0o600 });
  writeFileSync(join(s.dir, 'breakglass.pub'), bg.publicKey);
  const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: BREAKGLASS_DECLARATIONS } })).status, 200);
  for (const [v, body] of [['v1', '["one"]'], ['v2', '["two"]']]) {
    assert.equal((await call(s.url, 'POST', `/v1/artifacts/features/versions?version=${v}`, { token: s.admin, body })).status, 201);
  }
  return { s, notices, agents, bg, bgKey, token };
}

/**
 * Starts the bed's agents a (admin over TCP on `portA`) and b (its unix socket), writes the
 * inventory that reaches them, and rolls features v1 then v2 out to both. Returns the inventory path.
 */
export async function twoNodesOnV2(s: Awaited<ReturnType<typeof testServer>>, agents: readonly Agent[], portA: number): Promise<string> {
  for (const x of agents) await x.start();
  const inventory = join(s.dir, 'inv.yaml');
  writeFileSync(inventory, `nodes:\n  - { id: a, admin: "127.0.0.1:${portA}" }\n  - { id: b, admin: "unix:${join(s.dir, 'b', '.breakglass', 'admin.sock')}" }\n`);
  await waitFor('every agent registered', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === agents.length || undefined);
  for (const v of ['v1', 'v2']) {
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: v } });
    await waitFor(`${v} to complete`, async () => (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout.status === 'completed');
  }
  await waitFor('both on v2', async () => agents.every((x) => x.serving().features === 'v2') || undefined);
  return inventory;
}
