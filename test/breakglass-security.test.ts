import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '@failsmall/agent';
import { signCommand, type BreakglassCommand } from '@failsmall/core';
import { call, waitFor } from '../packages/server/test/fixtures.ts';
import { breakglassBed, twoNodesOnV2 } from './helpers/breakglass.ts';
import { freePort, runCli } from './helpers/procs.ts';
import { REFUSALS_LOGGED } from '../packages/agent/src/breakglass.ts';

/** The machine's own non-loopback address: a peer that is not loopback, without a second machine. */
function externalAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this test needs a non-loopback IPv4 interface to show that the admin endpoint refuses non-loopback peers; none found');
}

test('break-glass: every path and every refusal, on real agents and the real CLI', { timeout: 180_000 }, async (t) => {
  const { s, notices, agents, bg, bgKey, token } = await breakglassBed(t);

  const portA = await freePort();
  const watched = join(s.dir, 'dropbox');
  const make = (id: string, breakglass: ConstructorParameters<typeof Agent>[0]['breakglass']) => {
    const a = new Agent({ server: s.url, token, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: s.publicKey, ...(breakglass ? { breakglass } : {}) });
    agents.push(a);
    return a;
  };
  // A listens on every address (an out-of-band network, say) but keeps the default allow list: loopback only.
  const a = make('a', { publicKey: bg.publicKey, artifactPublicKey: s.publicKey, listen: `0.0.0.0:${portA}` });
  // B keeps the default: a unix socket in its directory; it also watches a directory for command files.
  const b = make('b', { publicKey: bg.publicKey, watchDir: watched, watchIntervalMs: 100 });
  const inventory = await twoNodesOnV2(s, agents, portA);
  const cli = (args: string[]) => runCli(['breakglass', ...args, '--inventory', inventory, '--key', bgKey, '--operator', 'alice', '--reason', 'drill', '--json']);
  const served = (id: string) => readFileSync(join(s.dir, id, 'features'), 'utf8');

  await t.test('pin a version on the node, over TCP and a unix socket', async () => {
    const r = await cli(['pin', 'features', 'v1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).nodes.map((n: { node: string; outcome: string }) => [n.node, n.outcome]), [['a', 'confirmed'], ['b', 'confirmed']]);
    assert.equal(served('a'), '["one"]');
    assert.equal(served('b'), '["one"]');
    assert.deepEqual(a.pins().map((p) => [p.artifact, p.version, p.operator]), [['features', 'v1', 'alice']]);
    // The control plane hears of it when the agents report, and sends a notice of break-glass use.
    await waitFor('a breakglass.used notice', async () => notices.some((n) => n.kind === 'breakglass.used' && /pin features v1 on a by alice: applied/.test(n.summary)) || undefined);
  });

  await t.test('a pin holds against the control plane, and the control plane shows it and keeps rollouts off the node', async () => {
    await waitFor('the pins reported', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.every((n: { pins: unknown[] }) => n.pins.length === 1) || undefined);
    // Not a sleep: two more answers to a's long-poll, each saying v2, while the pin says v1.
    const polled = a.polls;
    await waitFor('two more desired-state answers on a', async () => a.polls >= polled + 2 || undefined);
    assert.equal(served('a'), '["one"]');
  });

  const signed = (over: Partial<BreakglassCommand>, key = bg.privateKey) => JSON.stringify(signCommand(createPrivateKey(key), {
    v: 1, action: 'lkg', nodes: ['a'], target: 'features', operator: 'mallory', reason: 'test', nonce: `n${Math.random().toString(36).slice(2)}xxxxxxxxxxxxxxxx`,
    issued_at: new Date(Date.now() - 1000).toISOString(), expires_at: new Date(Date.now() + 60_000).toISOString(), ...over,
  }));
  const post = async (body: string, host = '127.0.0.1') => {
    const res = await fetch(`http://${host}:${portA}/v1/breakglass`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: res.status, body: await res.json() as { error?: { code: string; message: string; hint: string } } };
  };

  await t.test('refusals: artifact key, expired, another node, replayed nonce, malformed, non-loopback peer; each logged', async () => {
    const artifactKey = readFileSync(join(s.dir, 'artifact.key'), 'utf8');
    const cases: [string, Promise<{ status: number; body: { error?: { code: string; hint: string } } }>][] = [
      ['BAD_SIGNATURE', post(signed({}, artifactKey))],
      ['EXPIRED', post(signed({ issued_at: new Date(Date.now() - 120_000).toISOString(), expires_at: new Date(Date.now() - 60_000).toISOString() }))],
      ['WRONG_NODE', post(signed({ nodes: ['b'] }))],
      ['MALFORMED', post('{"payload": 3}')],
    ];
    for (const [expected, pending] of cases) {
      const r = await pending;
      assert.equal(r.body.error?.code, expected);
      assert.ok(r.body.error?.hint, `${expected} has a hint`);
    }
    const once = signed({ action: 'unpin' });
    assert.equal((await post(once)).status, 200);
    const again = await post(once);
    assert.equal(again.status, 409);
    assert.equal(again.body.error?.code, 'REPLAYED_NONCE');
    const outside = await post(signed({}), externalAddress());
    assert.equal(outside.status, 403);
    assert.equal(outside.body.error?.code, 'FORBIDDEN_SOURCE');
    const log = a.breakglassLog.entries();
    for (const c of ['BAD_SIGNATURE', 'EXPIRED', 'WRONG_NODE', 'MALFORMED', 'REPLAYED_NONCE', 'FORBIDDEN_SOURCE']) {
      assert.ok(log.some((e) => e.outcome === 'refused' && e.code === c), `${c} is in the node's log`);
    }
    assert.ok(log.some((e) => e.outcome === 'refused' && e.code === 'EXPIRED' && e.operator === 'mallory'), 'an authentic but refused command is logged with its operator');
    // The unpin let the control plane's v2 back on a.
    await waitFor('a to follow the control plane again', async () => served('a') === '["two"]' || undefined);
    // The control plane hears of every refusal too.
    await waitFor('refusals reported to the control plane', async () => {
      const entries = (await call(s.url, 'GET', '/v1/breakglass?node=a', { token: s.admin })).body.entries as { code?: string }[];
      return entries.some((e) => e.code === 'REPLAYED_NONCE') || undefined;
    });
  });

  await t.test('kill switch: the module fails open to its safe default, pinned', async () => {
    const r = await cli(['kill-switch', 'bot-management', '--nodes', 'b']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(served('b'), '[]');
    assert.equal(b.states().features, 'fail-open');
    assert.deepEqual(b.pins().map((p) => p.action), ['kill-switch']);
  });

  await t.test('pin a version the node never had, carried with the command and signed by the artifact key', async () => {
    const file = join(s.dir, 'v3.json');
    writeFileSync(file, '["three"]');
    const ok = await cli(['pin', 'features', 'v3', '--content', file, '--artifact-key', join(s.dir, 'artifact.key'), '--nodes', 'a']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(served('a'), '["three"]');
    // The same bytes signed by the wrong key: the node's safe loader refuses them, the CLI says so and exits 1.
    const bad = await cli(['pin', 'features', 'v4', '--content', file, '--artifact-key', bgKey, '--nodes', 'a']);
    assert.equal(bad.code, 1);
    const node = JSON.parse(bad.stdout).nodes[0];
    assert.equal(node.outcome, 'refused');
    assert.equal(node.code, 'LOAD_REFUSED');
    assert.equal(served('a'), '["three"]', 'a refused pin changes nothing');
  });

  await t.test('--via-file: a command dropped in the watched directory is carried out once, with a receipt', async () => {
    const r = await runCli(['breakglass', 'lkg', 'features', '--via-file', watched, '--nodes', 'b', '--key', bgKey, '--operator', 'bob', '--reason', 'only rsync works', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const name = (JSON.parse(r.stdout).file as string).split('/').at(-1) as string;
    await waitFor('b to carry out the dropped command', async () => b.breakglassLog.entries().some((e) => e.via === `file ${name}` && e.outcome === 'applied') || undefined);
    assert.equal(served('b'), '["one"]', 'b is back on v1 (the version before its kill switch)');
    await waitFor('its receipt', async () => existsSync(join(s.dir, 'b', '.breakglass', 'receipts', name)) || undefined);
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(b.breakglassLog.entries().filter((e) => e.via === `file ${name}`).length, 1, 'carried out once, not at every scan');
    // The same command again (a fan-out that timed out, re-run): already there, no flip back to the bad version.
    const again = await cli(['lkg', 'features', '--nodes', 'b']);
    assert.equal(again.code, 0, again.stdout);
    assert.match(JSON.parse(again.stdout).nodes[0].message, /already on its last known-good v1/);
    assert.equal(served('b'), '["one"]');
  });

  await t.test('the exit code says whether every node confirmed', async () => {
    const partial = join(s.dir, 'partial.yaml');
    writeFileSync(partial, `nodes:\n  - { id: a, admin: "127.0.0.1:${portA}" }\n  - { id: gone, admin: "127.0.0.1:1" }\n`);
    const r = await runCli(['breakglass', 'unpin', 'features', '--inventory', partial, '--key', bgKey, '--reason', 'done']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /UNREACHABLE/);
    assert.match(r.stdout, /1 of 2 nodes confirmed/);
  });

  await t.test('bad input: a malformed inventory, a missing reason, a break-glass key given to the control plane', async () => {
    const broken = join(s.dir, 'broken.yaml');
    writeFileSync(broken, 'nodes:\n  - { id: a, admin: "127.0.0.1:1" }\n  - { id: a, admin: nowhere }\n');
    const r = await runCli(['breakglass', 'lkg', 'features', '--inventory', broken, '--key', bgKey, '--reason', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /broken\.yaml:3:\d+: node "a" appears twice/);
    assert.match(r.stderr, /broken\.yaml:3:\d+: "nowhere" is not an admin address/);
    const noReason = await runCli(['breakglass', 'lkg', 'features', '--inventory', inventory, '--key', bgKey]);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    const serve = await runCli(['serve', '--store', join(s.dir, 'other.db'), '--port', '0', '--signing-key', bgKey]);
    assert.equal(serve.code, 2);
    assert.match(serve.stderr, /BREAKGLASS_KEY_ON_CONTROL_PLANE/);
  });

  // Last: it uses up this minute's share of logged refusals on node a.
  await t.test('a flood of garbage at the admin endpoint is answered in full but logged only up to the limit', async () => {
    const refusedBefore = a.breakglassLog.entries().filter((e) => e.outcome === 'refused').length;
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => post(`{"garbage": ${i}}`)));
    assert.ok(answers.every((r) => r.status === 400 && r.body.error?.code === 'MALFORMED'), 'every caller gets its refusal');
    const logged = a.breakglassLog.entries().filter((e) => e.outcome === 'refused').length - refusedBefore;
    assert.ok(logged <= REFUSALS_LOGGED, `${logged} refusals logged one by one, at most ${REFUSALS_LOGGED} a minute`);
    // What the control plane hears is bounded by what the node logged.
    const reported = (await call(s.url, 'GET', '/v1/breakglass?node=a&limit=5000', { token: s.admin })).body.entries as unknown[];
    assert.ok(reported.length <= refusedBefore + REFUSALS_LOGGED + 20, `${reported.length} entries reported`);
  });
});
