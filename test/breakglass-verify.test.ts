import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '@failsmall/agent';
import { breakglassMessage, envelopeSha256, generateSigningKeys, signCommand, type BreakglassCommand, type BreakglassEnvelope } from '@failsmall/core';
import { call, waitFor } from '../packages/server/test/fixtures.ts';
import { breakglassBed, twoNodesOnV2 } from './helpers/breakglass.ts';
import { Child, freePort, runCli } from './helpers/procs.ts';

interface Stored { node_id: string; seq: number; outcome: string; action?: string; operator?: string; reason?: string; nonce?: string; code?: string; verified: boolean; verification?: string; envelope_sha256?: string }
interface Event { seq: number; type: string; payload: Record<string, unknown> }

/** Issue 11, item 7: the control plane verifies what a node reports of break-glass use before it stores it. */
test('break-glass reports: real commands are stored verified; made-up ones posted with the node\'s credential are not', { timeout: 180_000 }, async (t) => {
  const { s, notices, agents, bg, bgKey, token } = await breakglassBed(t);
  const portA = await freePort();
  const make = (id: string, listen?: string) => {
    const a = new Agent({
      server: s.url, token, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 100, pollWaitMs: 1000,
      publicKey: s.publicKey, breakglass: { publicKey: bg.publicKey, artifactPublicKey: s.publicKey, ...(listen ? { listen } : {}) },
    });
    agents.push(a);
    return a;
  };
  const a = make('a', `127.0.0.1:${portA}`);
  const b = make('b');
  const inventory = await twoNodesOnV2(s, agents, portA);
  const incident = (await call(s.url, 'POST', '/v1/incidents', { token: s.admin, json: { title: 'bot-management crashes', modules: ['bot-management'] } })).body.incident as { id: string };
  const stored = async (node: string) => (await call(s.url, 'GET', `/v1/breakglass?node=${node}`, { token: s.admin })).body.entries as Stored[];
  const events = async () => (await call(s.url, 'GET', '/v1/events?limit=5000', { token: s.admin })).body.events as Event[];

  await t.test('a real kill-switch and a real pin, through the agents, are stored verified', async () => {
    const kill = await runCli(['breakglass', 'kill-switch', 'bot-management', '--inventory', inventory, '--key', bgKey, '--operator', 'alice', '--reason', 'module crashes on any file', '--nodes', 'a', '--json']);
    assert.equal(kill.code, 0, kill.stdout + kill.stderr);
    const pin = await runCli(['breakglass', 'pin', 'features', 'v1', '--inventory', inventory, '--key', bgKey, '--operator', 'bob', '--reason', 'hold b on v1', '--nodes', 'b', '--json']);
    assert.equal(pin.code, 0, pin.stdout + pin.stderr);
    const onA = await waitFor('the kill-switch stored', async () => (await stored('a')).find((e) => e.action === 'kill-switch'));
    const onB = await waitFor('the pin stored', async () => (await stored('b')).find((e) => e.action === 'pin'));
    assert.deepEqual([onA.outcome, onA.operator, onA.verified, onA.verification], ['applied', 'alice', true, undefined]);
    assert.deepEqual([onB.outcome, onB.operator, onB.verified], ['applied', 'bob', true]);
    // The node's log carries the envelope it verified; the control plane keeps it once, by sha256, for anyone to verify again.
    const logged = a.breakglassLog.entries().find((e) => e.action === 'kill-switch');
    assert.ok(logged?.envelope, 'the agent logged the envelope with the entry');
    assert.equal(onA.envelope_sha256, envelopeSha256(logged.envelope));
    const fetched = (await call(s.url, 'GET', `/v1/breakglass/envelopes/${onA.envelope_sha256}`, { token: s.admin })).body.envelope as BreakglassEnvelope;
    assert.deepEqual(fetched, logged.envelope);
    assert.ok(verify(null, breakglassMessage(Buffer.from(fetched.payload, 'base64')), createPublicKey(bg.publicKey), Buffer.from(fetched.signature, 'base64')), 'it verifies under the break-glass public key');
    // A verified use pages and joins the open incident, and says nothing of being unverified.
    const notice = await waitFor('the kill-switch notice', async () => notices.find((n) => n.kind === 'breakglass.used' && /kill-switch bot-management on a by alice: applied/.test(n.summary)));
    assert.doesNotMatch(notice.summary, /unverified/);
    const timeline = await waitFor('the timeline entry', async () => {
      const entries = (await call(s.url, 'GET', `/v1/incidents/${incident.id}`, { token: s.admin })).body.timeline as { kind: string; text: string }[];
      return entries.find((e) => e.kind === 'breakglass' && /kill-switch/.test(e.text));
    });
    assert.match(timeline.text, /^break-glass kill-switch bot-management on a by alice: applied; reason: module crashes on any file$/);
    // The CLI shows the verdict.
    const listing = await runCli(['breakglass', 'log', '--server', s.url, '--token', s.admin, '--node', 'a']);
    assert.equal(listing.code, 0, listing.stderr);
    assert.match(listing.stdout, /a#\d+ {2}kill-switch bot-management by alice: applied {2}verified {2}reason: module crashes on any file/);
  });

  // Whoever holds node a's credential: the node itself, or someone who took it.
  const credential = readFileSync(join(s.dir, 'a', '.node-credential'), 'utf8').trim();
  const now = Date.now();
  const claim = (over: Partial<BreakglassCommand> = {}): BreakglassCommand => ({
    v: 1, action: 'kill-switch', nodes: ['a'], target: 'bot-management', operator: 'alice', reason: 'made up',
    issued_at: new Date(now - 1000).toISOString(), expires_at: new Date(now + 600_000).toISOString(), nonce: `forged${Math.random().toString(36).slice(2)}xxxxxxxxxx`, ...over,
  });
  const entryOf = (seq: number, c: BreakglassCommand, envelope?: BreakglassEnvelope, over: Record<string, unknown> = {}) => ({
    seq, at: new Date().toISOString(), node: 'a', outcome: 'applied', via: 'http 127.0.0.1', message: 'bot-management fails open',
    action: c.action, target: c.target, operator: c.operator, reason: c.reason, nonce: c.nonce, issued_at: c.issued_at, expires_at: c.expires_at,
    ...(envelope ? { envelope } : {}), ...over,
  });
  const report = (entries: unknown[]) => call(s.url, 'POST', '/v1/nodes/a/breakglass', { token: credential, json: { entries, pins: a.pins() } });
  const rejectedEvents = async () => (await events()).filter((e) => e.type === 'breakglass.report_rejected');
  const other = createPrivateKey(generateSigningKeys().privateKey);
  const real = a.breakglassLog.entries().find((e) => e.action === 'kill-switch');
  assert.ok(real?.envelope);
  const forBC = claim({ nodes: ['b'] });
  const forgeries: [string, unknown, RegExp][] = [
    ['no envelope', entryOf(9001, claim()), /^no signed envelope$/],
    ['an envelope signed by another key', entryOf(9002, claim(), signCommand(other, claim())), /signature does not verify under the break-glass public key/],
    ['a valid envelope for another node', entryOf(9003, forBC, signCommand(createPrivateKey(bg.privateKey), forBC)), /^the signed command is for b, not a$/],
    ['a valid envelope whose operator was changed in the entry', { ...real, seq: 9004, operator: 'mallory' }, /^operator: the entry says "mallory", the signed command "alice"$/],
  ];

  for (const [what, entry, why] of forgeries) {
    await t.test(`"kill-switch applied" with ${what}: not stored, counted as rejected, one report_rejected event`, async () => {
      const before = await rejectedEvents();
      const r = await report([entry]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { recorded: 0, rejected: 1 });
      const after = await rejectedEvents();
      assert.equal(after.length, before.length + 1, 'exactly one event for the request');
      const ev = after.at(-1) as Event;
      assert.equal(ev.payload.node, 'a');
      assert.equal(ev.payload.count, 1);
      const reasons = ev.payload.reasons as { seq: number; outcome: string; reason: string }[];
      assert.equal(reasons.length, 1);
      assert.equal(reasons[0]?.seq, (entry as { seq: number }).seq);
      assert.match(reasons[0]?.reason ?? '', why);
      const seq = (entry as { seq: number }).seq;
      assert.equal((await stored('a')).some((e) => e.seq === seq), false, 'not in the break-glass records');
      assert.equal((await events()).some((e) => e.type === 'breakglass.command' && e.payload.node === 'a' && e.payload.seq === seq), false, 'no breakglass.command event, so nothing for incidents, notices or postmortems to read');
    });
  }

  await t.test('many made-up entries in one request make one event; a refusal of garbage in the same report is kept, unverified and without its claims', async () => {
    const before = await rejectedEvents();
    const garbage = { seq: 9100, at: new Date().toISOString(), node: 'a', outcome: 'refused', code: 'BAD_SIGNATURE', message: 'not signed by this node\'s break-glass key', via: 'http 127.0.0.1', operator: 'alice', reason: 'made up', nonce: 'forgedforgedforged00' };
    const batch = [...forgeries.map(([, e], i) => ({ ...(e as object), seq: 9010 + i })), garbage];
    const r = await report(batch);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { recorded: 1, rejected: forgeries.length });
    const after = await rejectedEvents();
    assert.equal(after.length, before.length + 1, 'one event per request, not one per entry');
    assert.equal((after.at(-1) as Event).payload.count, forgeries.length);
    const kept = (await stored('a')).find((e) => e.seq === 9100);
    assert.ok(kept);
    assert.deepEqual([kept.outcome, kept.code, kept.verified, kept.verification, kept.operator, kept.reason, kept.nonce], ['refused', 'BAD_SIGNATURE', false, 'no signed envelope', undefined, undefined, undefined]);
  });

  await t.test('the agent\'s own refusals: a signed command for another node is kept verified, garbage unverified', async () => {
    const post = (body: string) => fetch(`http://127.0.0.1:${portA}/v1/breakglass`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const wrong = claim({ nodes: ['b'], operator: 'carol', action: 'lkg', target: 'features' });
    assert.equal((await post(JSON.stringify(signCommand(createPrivateKey(bg.privateKey), wrong)))).status, 403);
    assert.equal((await post('{"payload": "AAAA", "signature": "AAAA"}')).status, 401);
    const wrongNode = await waitFor('the WRONG_NODE refusal stored', async () => (await stored('a')).find((e) => e.code === 'WRONG_NODE' && e.nonce === wrong.nonce));
    assert.deepEqual([wrongNode.verified, wrongNode.operator], [true, 'carol']);
    const bad = await waitFor('the BAD_SIGNATURE refusal stored', async () => (await stored('a')).find((e) => e.code === 'BAD_SIGNATURE' && e.seq !== 9100));
    assert.deepEqual([bad.verified, bad.operator], [false, undefined]);
    const listing = await runCli(['breakglass', 'log', '--server', s.url, '--token', s.admin, '--node', 'a']);
    assert.match(listing.stdout, /\(no signed command\): refused BAD_SIGNATURE {2}UNVERIFIED \(no signed envelope\)/);
    assert.match(listing.stdout, /unverified: their operator and reason are only what the node said/);
  });

  await t.test('a pin that carries its content (an envelope of megabytes) is reported alone, verified, and the entries after it still arrive', async () => {
    const big = join(s.dir, 'big.json');
    writeFileSync(big, JSON.stringify(Array.from({ length: 150_000 }, (_, i) => `feature-${i}`))); // about 2.4 MB: over the declared max_bytes, so the node refuses to load it
    const pin = await runCli(['breakglass', 'pin', 'features', 'v9', '--content', big, '--artifact-key', join(s.dir, 'artifact.key'), '--inventory', inventory, '--key', bgKey, '--operator', 'alice', '--reason', 'try v9', '--nodes', 'b', '--json']);
    assert.equal(pin.code, 1, pin.stdout + pin.stderr);
    assert.equal(JSON.parse(pin.stdout).nodes[0].code, 'LOAD_REFUSED');
    const after = await runCli(['breakglass', 'unpin', 'features', '--inventory', inventory, '--key', bgKey, '--operator', 'alice', '--reason', 'after the big one', '--nodes', 'b']);
    assert.equal(after.code, 0, after.stdout + after.stderr);
    const refused = await waitFor('the big refusal stored', async () => (await stored('b')).find((e) => e.code === 'LOAD_REFUSED'));
    assert.equal(refused.verified, true);
    await waitFor('the unpin after it stored, verified', async () => (await stored('b')).find((e) => e.action === 'unpin' && e.verified));
    const envelope = (await call(s.url, 'GET', `/v1/breakglass/envelopes/${refused.envelope_sha256}`, { token: s.admin })).body.envelope as BreakglassEnvelope;
    assert.ok(JSON.stringify(envelope).length > 3 * 1024 * 1024, `the envelope is ${JSON.stringify(envelope).length} bytes, kept whole`);
  });
});

test('break-glass reports on a control plane without the break-glass public key: stored as reported, marked unverified, and said so', { timeout: 120_000 }, async (t) => {
  const { s, notices, agents, bg, bgKey, token } = await breakglassBed(t, { serverVerifies: false });
  const a = new Agent({
    server: s.url, token, nodeId: 'a', labels: {}, modules: ['bot-management'], dir: join(s.dir, 'a'), metricsIntervalMs: 100, pollWaitMs: 1000,
    publicKey: s.publicKey, breakglass: { publicKey: bg.publicKey },
  });
  agents.push(a);
  await a.start();
  const inventory = join(s.dir, 'inv.yaml');
  writeFileSync(inventory, `nodes:\n  - { id: a, admin: "unix:${join(s.dir, 'a', '.breakglass', 'admin.sock')}" }\n`);
  await waitFor('a registered', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 1 || undefined);
  const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
  await waitFor('v1 to complete', async () => (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout.status === 'completed');
  const incident = (await call(s.url, 'POST', '/v1/incidents', { token: s.admin, json: { title: 'bot-management crashes', modules: ['bot-management'] } })).body.incident as { id: string };

  const kill = await runCli(['breakglass', 'kill-switch', 'bot-management', '--inventory', inventory, '--key', bgKey, '--operator', 'alice', '--reason', 'module crashes', '--json']);
  assert.equal(kill.code, 0, kill.stdout + kill.stderr);
  const entry = await waitFor('the kill-switch stored', async () => ((await call(s.url, 'GET', '/v1/breakglass?node=a', { token: s.admin })).body.entries as Stored[]).find((e) => e.action === 'kill-switch'));
  assert.deepEqual([entry.outcome, entry.operator, entry.verified, entry.verification], ['applied', 'alice', false, 'no break-glass public key on the control plane']);
  assert.match(entry.envelope_sha256 ?? '', /^[0-9a-f]{64}$/, 'the envelope is kept, so the record can be verified once the key is given');
  const timeline = await waitFor('the timeline entry', async () => {
    const entries = (await call(s.url, 'GET', `/v1/incidents/${incident.id}`, { token: s.admin })).body.timeline as { kind: string; text: string }[];
    return entries.find((e) => e.kind === 'breakglass');
  });
  assert.match(timeline.text, /^break-glass \(unverified\) kill-switch bot-management on a by alice: applied/);
  const notice = await waitFor('the notice', async () => notices.find((n) => n.kind === 'breakglass.used'));
  assert.match(notice.summary, /^break-glass \(unverified\) kill-switch .* \(no break-glass public key on the control plane\)$/);
  // As today, a made-up report is stored too: it is the node's word, and marked as such.
  const credential = readFileSync(join(s.dir, 'a', '.node-credential'), 'utf8').trim();
  const forged = await call(s.url, 'POST', '/v1/nodes/a/breakglass', { token: credential, json: { entries: [{ seq: 9001, at: new Date().toISOString(), outcome: 'applied', action: 'kill-switch', target: 'bot-management', operator: 'alice' }], pins: a.pins() } });
  assert.deepEqual(forged.body, { recorded: 1, rejected: 0 });
  const listing = await runCli(['breakglass', 'log', '--server', s.url, '--token', s.admin]);
  assert.equal(listing.code, 0, listing.stderr);
  assert.match(listing.stdout, /a#9001 {2}kill-switch bot-management by alice: applied {2}UNVERIFIED \(no break-glass public key on the control plane\)/);
});

test('serve --breakglass-public-key: verifies with the public key, refuses the private key, defaults to .failsmall/keys/breakglass.pub', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-serve-bg-'));
  const children: Child[] = [];
  t.after(async () => { await Promise.all(children.map((c) => c.stop())); rmSync(dir, { recursive: true, force: true }); });
  const keys = generateSigningKeys();
  writeFileSync(join(dir, 'breakglass.key'), keys.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'breakglass.pub'), keys.publicKey);
  writeFileSync(join(dir, 'not-a-key.pub'), 'hello');
  const banner = async (args: string[], cwd: string) => {
    const child = new Child(['serve', '--store', join(dir, `s${children.length}.db`), '--port', '0', ...args], { cwd });
    children.push(child);
    return waitFor(`serve ${args.join(' ')} to print its banner`, async () => {
      if (!child.running) throw new Error(child.describe());
      return /break-glass reports are/.test(child.stdout) ? child.stdout : undefined;
    }, 30_000);
  };
  const given = await banner(['--breakglass-public-key', join(dir, 'breakglass.pub')], dir);
  assert.match(given, new RegExp(`break-glass reports are verified against ${join(dir, 'breakglass.pub').replace(/[.\\/]/g, '\\$&')}`));
  // Run from a directory with a key directory, as failsmall keys init --name breakglass leaves it.
  const home = join(dir, 'home');
  mkdirSync(join(home, '.failsmall', 'keys'), { recursive: true });
  writeFileSync(join(home, '.failsmall', 'keys', 'breakglass.pub'), keys.publicKey);
  assert.match(await banner([], home), /break-glass reports are verified against \.failsmall\/keys\/breakglass\.pub/);
  const bare = join(dir, 'bare');
  mkdirSync(bare);
  assert.match(await banner([], bare), /break-glass reports are NOT verified \(no break-glass public key; serve --breakglass-public-key FILE\)/);

  const priv = await runCli(['serve', '--store', join(dir, 'x.db'), '--port', '0', '--breakglass-public-key', join(dir, 'breakglass.key')], { cwd: bare });
  assert.equal(priv.code, 2);
  assert.match(priv.stderr, /this is a private key; give the control plane only the public half .*\[BREAKGLASS_PRIVATE_KEY\]/);
  const junk = await runCli(['serve', '--store', join(dir, 'y.db'), '--port', '0', '--breakglass-public-key', join(dir, 'not-a-key.pub')], { cwd: bare });
  assert.equal(junk.code, 2);
  assert.match(junk.stderr, /not a PEM public key.*\[BAD_KEY\]/);
  // The signing key's own public half given as the break-glass key: one key pair for both would put break-glass on the control plane.
  const same = generateSigningKeys();
  writeFileSync(join(dir, 'signing.key'), same.privateKey, { mode: 0o600 });
  writeFileSync(join(bare, 'same.pub'), same.publicKey);
  const shared = await runCli(['serve', '--store', join(dir, 'z.db'), '--port', '0', '--signing-key', join(dir, 'signing.key'), '--breakglass-public-key', join(bare, 'same.pub')], { cwd: bare });
  assert.equal(shared.code, 2);
  assert.match(shared.stderr, /is the break-glass key \[BREAKGLASS_KEY_ON_CONTROL_PLANE\]/);
});
