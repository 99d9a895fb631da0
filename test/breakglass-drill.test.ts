import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '@failsmall/agent';
import { generateSigningKeys } from '@failsmall/core';
import { call, waitFor } from '../packages/server/test/fixtures.ts';
import { skewProblem } from '../packages/cli/src/commands/breakglass.ts';
import { breakglassBed } from './helpers/breakglass.ts';
import { freePort, runCli } from './helpers/procs.ts';

interface DrillNode {
  node: string; outcome: string; code?: string; ready: boolean; problems: string[]; skew_ms?: number;
  drill?: { artifact: string; serving: string | null; lkg: { version: string | null; ok: boolean; problem?: string }; kill_switch: { ok: boolean } }[];
}

test('break-glass drill: proves the path on real agents and changes nothing', { timeout: 180_000 }, async (t) => {
  const { s, notices, agents, bg, bgKey, token } = await breakglassBed(t);
  const portA = await freePort();
  const make = (id: string, publicKey: string, listen?: string) => {
    const a = new Agent({
      server: s.url, token, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 100, pollWaitMs: 1000,
      publicKey: s.publicKey, breakglass: { publicKey, ...(listen ? { listen } : {}) },
    });
    agents.push(a);
    return a;
  };
  make('a', bg.publicKey, `127.0.0.1:${portA}`);
  make('b', bg.publicKey);
  // c trusts another break-glass key: a rotation that never reached it. Only a drill finds that before the incident.
  make('c', generateSigningKeys().publicKey);
  for (const x of agents) await x.start();
  const inventory = join(s.dir, 'inv.yaml');
  writeFileSync(inventory, [
    'nodes:',
    `  - { id: a, admin: "127.0.0.1:${portA}" }`,
    `  - { id: b, admin: "unix:${join(s.dir, 'b', '.breakglass', 'admin.sock')}" }`,
    `  - { id: c, admin: "unix:${join(s.dir, 'c', '.breakglass', 'admin.sock')}" }`,
    '',
  ].join('\n'));
  await waitFor('every agent registered', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === agents.length || undefined);
  for (const v of ['v1', 'v2']) {
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: v } });
    await waitFor(`${v} to complete`, async () => (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout.status === 'completed');
  }
  await waitFor('every node on v2', async () => agents.every((x) => x.serving().features === 'v2') || undefined);
  const served = (id: string) => readFileSync(join(s.dir, id, 'features'), 'utf8');
  // An incident about the artifact is open while the team drills: a drill must not land in its timeline or page anyone.
  const incident = (await call(s.url, 'POST', '/v1/incidents', { token: s.admin, json: { title: 'features misbehave', artifacts: ['features'] } })).body.incident as { id: string };
  const drill = async (args: string[] = []) => {
    const r = await runCli(['breakglass', 'drill', 'features', '--inventory', inventory, '--key', bgKey, '--operator', 'alice', '--json', ...args]);
    return { code: r.code, stderr: r.stderr, out: JSON.parse(r.stdout) as { ok: boolean; ready: number; total: number; nodes: DrillNode[] } };
  };

  await t.test('each node verifies the signed command and says whether lkg and kill-switch would work; nothing changes', async () => {
    const r = await drill(['--nodes', 'a,b']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.nodes.map((n) => [n.node, n.outcome, n.ready]), [['a', 'confirmed', true], ['b', 'confirmed', true]]);
    for (const n of r.out.nodes) {
      assert.deepEqual(n.drill?.map((d) => [d.artifact, d.serving, d.lkg.version, d.lkg.ok, d.kill_switch.ok]), [['features', 'v2', 'v1', true, true]]);
      assert.equal(typeof n.skew_ms, 'number', 'the node reports its clock');
    }
    for (const id of ['a', 'b']) assert.equal(served(id), '["two"]', `${id} still serves v2`);
    assert.deepEqual(agents.flatMap((x) => x.pins()), [], 'a drill pins nothing');
    const entry = agents[0]?.breakglassLog.entries().at(-1);
    assert.equal(entry?.outcome, 'checked');
    assert.equal(entry?.action, 'drill');
    assert.equal(entry?.reason, 'break-glass drill');
  });

  await t.test('reaches the control plane as a drill: in the break-glass log, but no page and no incident entry', async () => {
    await waitFor('the drill reported', async () => {
      const entries = (await call(s.url, 'GET', '/v1/breakglass?node=a', { token: s.admin })).body.entries as { action?: string; outcome: string }[];
      return entries.some((e) => e.action === 'drill' && e.outcome === 'checked') || undefined;
    });
    // A real command after it, as a marker: the recorder reads the event log in order, so once the
    // marker's notice is out, the drill has been read too.
    const marker = await runCli(['breakglass', 'unpin', 'features', '--inventory', inventory, '--key', bgKey, '--operator', 'alice', '--reason', 'marker', '--nodes', 'a']);
    assert.equal(marker.code, 0, marker.stdout + marker.stderr);
    await waitFor('the marker\'s notice', async () => notices.some((n) => /unpin features on a by alice: applied/.test(n.summary)) || undefined);
    assert.deepEqual(notices.filter((n) => n.kind === 'breakglass.used').map((n) => /unpin/.test(n.summary)), [true], 'the drill sent no notice; the marker did');
    const timeline = (await call(s.url, 'GET', `/v1/incidents/${incident.id}`, { token: s.admin })).body.timeline as { kind: string; text: string }[];
    assert.deepEqual(timeline.filter((e) => e.kind === 'breakglass').map((e) => e.text.split(' ').slice(0, 2).join(' ')), ['break-glass unpin'], 'the drill is not in the timeline; the marker is');
  });

  await t.test('finds a node whose cached known-good copy is damaged, and a node that trusts another key; exits 1', async () => {
    writeFileSync(join(s.dir, 'b', '.versions', 'features@v1'), '["tampered"]');
    const r = await drill();
    assert.equal(r.code, 1);
    const byNode = Object.fromEntries(r.out.nodes.map((n) => [n.node, n]));
    assert.equal(byNode.a?.ready, true);
    assert.equal(byNode.b?.outcome, 'confirmed');
    assert.equal(byNode.b?.ready, false);
    assert.match(byNode.b?.drill?.[0]?.lkg.problem ?? '', /sha256 mismatch/);
    assert.match(byNode.b?.problems.join(' ') ?? '', /features: lkg would fail/);
    assert.equal(byNode.c?.outcome, 'refused');
    assert.equal(byNode.c?.code, 'BAD_SIGNATURE');
    assert.equal(r.out.ready, 1);
    assert.equal(served('b'), '["two"]', 'the damaged copy was only checked, never loaded');
  });

  await t.test('prints a table a human reads, with what is not ready and why', async () => {
    const r = await runCli(['breakglass', 'drill', 'bot-management', '--inventory', inventory, '--key', bgKey, '--nodes', 'a,b']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /NOT READY b: features: lkg would fail: verify: sha256 mismatch/);
    assert.match(r.stdout, /drill bot-management: 1 of 2 nodes ready; nothing was changed on any node/);
  });

  await t.test('a target the node does not run is refused with what it does run', async () => {
    const r = await runCli(['breakglass', 'drill', 'nope', '--inventory', inventory, '--key', bgKey, '--nodes', 'a', '--json']);
    assert.equal(r.code, 1);
    const n = JSON.parse(r.stdout).nodes[0] as DrillNode;
    assert.equal(n.code, 'UNKNOWN_ARTIFACT');
    assert.equal(n.ready, false);
  });
});

test('drill: what a node\'s clock skew does to real commands', () => {
  assert.equal(skewProblem(undefined), undefined);
  assert.equal(skewProblem(30_000), undefined, 'half a minute either way is fine');
  assert.equal(skewProblem(-30_000), undefined);
  // Agents accept a command issued up to 5 min in their future: a node 4.5 min behind is a minute from refusing.
  assert.match(skewProblem(-270_000) ?? '', /-270\.0 s behind ours: commands from this machine are refused as not yet valid past 5 min/);
  // A node 14.5 min ahead sees a 15-min command expire almost as it arrives.
  assert.match(skewProblem(870_000) ?? '', /\+870\.0 s ahead of ours: commands with the default 15 min lifetime arrive expired/);
  assert.equal(skewProblem(6 * 60_000), undefined, 'ahead by 6 min: real commands still have 9 min to live');
});
