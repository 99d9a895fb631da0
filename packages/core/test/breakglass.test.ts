import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BREAKGLASS_ACTIONS, breakglassMessage, checkEnvelope, decodeCommand, generateSigningKeys, parseEnvelope, parseInventory, signCommand, signVersion,
  type BreakglassCommand, type BreakglassEnvelope,
} from '../src/index.ts';

const bg = generateSigningKeys();
const art = generateSigningKeys();
const bgPriv = createPrivateKey(bg.privateKey);
const bgPub = createPublicKey(bg.publicKey);
const artPriv = createPrivateKey(art.privateKey);
const NOW = Date.parse('2026-11-26T10:00:00Z');

function command(over: Partial<BreakglassCommand> = {}): BreakglassCommand {
  return {
    v: 1, action: 'lkg', nodes: ['n1'], target: 'bot-features', operator: 'alice', reason: 'bad feature file',
    issued_at: '2026-11-26T09:59:00.000Z', expires_at: '2026-11-26T10:14:00.000Z', nonce: 'abcdefghijklmnopqrstuv', ...over,
  };
}

const ctx = (over: Partial<Parameters<typeof checkEnvelope>[1]> = {}) => ({ publicKey: bgPub, nodeId: 'n1', now: NOW, seen: () => false, ...over });
const code = (r: ReturnType<typeof checkEnvelope>) => (r.ok ? 'ok' : r.refusal.code);

describe('break-glass commands', () => {
  it('accepts a command signed with the break-glass key, for this node, in its window, with a fresh nonce', () => {
    const r = checkEnvelope(signCommand(bgPriv, command()), ctx());
    assert.equal(code(r), 'ok');
    assert.equal(r.ok && r.value.operator, 'alice');
  });

  it('refuses a command signed with the artifact key', () => {
    assert.equal(code(checkEnvelope(signCommand(artPriv, command()), ctx())), 'BAD_SIGNATURE');
  });

  it('refuses an artifact-version signature passed off as a command (domain separation)', () => {
    // The payload bytes of a command, signed as if they were an artifact version's message, under the break-glass key itself.
    const env = signCommand(bgPriv, command());
    const sig = sign(null, Buffer.from(env.payload, 'base64'), bgPriv).toString('base64');
    assert.equal(code(checkEnvelope({ payload: env.payload, signature: sig }, ctx())), 'BAD_SIGNATURE');
    assert.equal(code(checkEnvelope({ payload: env.payload, signature: signVersion(bgPriv, 'a', 'v', 'f'.repeat(64)) }, ctx())), 'BAD_SIGNATURE');
  });

  it('refuses a payload changed after signing', () => {
    const env = signCommand(bgPriv, command());
    const tampered = Buffer.from(Buffer.from(env.payload, 'base64').toString('utf8').replace('n1', 'n2')).toString('base64');
    assert.equal(code(checkEnvelope({ ...env, payload: tampered }, ctx())), 'BAD_SIGNATURE');
  });

  it('refuses expired, not-yet-valid and overlong commands, with the command attached for the log', () => {
    const expired = checkEnvelope(signCommand(bgPriv, command()), ctx({ now: Date.parse('2026-11-26T10:14:00Z') }));
    assert.equal(code(expired), 'EXPIRED');
    assert.equal(!expired.ok && expired.command?.operator, 'alice');
    assert.equal(code(checkEnvelope(signCommand(bgPriv, command({ issued_at: '2026-11-26T10:06:00.000Z', expires_at: '2026-11-26T10:20:00.000Z' })), ctx())), 'NOT_YET_VALID');
    assert.equal(code(checkEnvelope(signCommand(bgPriv, command({ expires_at: '2026-11-27T10:00:00.000Z' })), ctx())), 'LIFETIME_TOO_LONG');
  });

  it('refuses a command for another node, and a replayed nonce', () => {
    assert.equal(code(checkEnvelope(signCommand(bgPriv, command({ nodes: ['n2', 'n3'] })), ctx())), 'WRONG_NODE');
    assert.equal(code(checkEnvelope(signCommand(bgPriv, command()), ctx({ seen: (n) => n === 'abcdefghijklmnopqrstuv' }))), 'REPLAYED_NONCE');
  });

  it('refuses malformed fields one by one, each with the field named', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ action: 'reboot' }, /field action/],
      [{ nodes: [] }, /field nodes/],
      [{ nodes: ['../etc'] }, /field nodes/],
      [{ target: 'a/b' }, /field target/],
      [{ action: 'pin' }, /field version: a pin needs/],
      [{ version: 'v1' }, /only a pin names a version/],
      [{ action: 'pin', version: 'v1', content: 'AAAA' }, /field content/],
      [{ operator: '' }, /field operator/],
      [{ reason: ' ' }, /field reason/],
      [{ reason: 'x\u0007y' }, /field reason/],
      [{ issued_at: 'yesterday' }, /field issued_at/],
      [{ expires_at: '2026-11-26T09:00:00.000Z' }, /field expires_at: must be after/],
      [{ nonce: 'short' }, /field nonce/],
      [{ extra: 1 }, /field extra: unknown field/],
      [{ v: 2 }, /field v/],
    ];
    for (const [over, message] of cases) {
      const payload = Buffer.from(JSON.stringify({ ...command(), ...over }));
      const r = decodeCommand(payload);
      assert.equal(r.ok, false, JSON.stringify(over));
      assert.match(!r.ok ? r.refusal.message : '', message);
      // Signed by the right key and still refused: the shape is checked after the signature, never skipped.
      const env: BreakglassEnvelope = { payload: payload.toString('base64'), signature: sign(null, breakglassMessage(payload), bgPriv).toString('base64') };
      assert.equal(code(checkEnvelope(env, ctx())), 'MALFORMED');
    }
  });

  it('reads envelopes from untrusted text without throwing', () => {
    for (const text of ['', 'null', '[]', '{"payload":1,"signature":"x"}', '{"payload":"$$$","signature":""}', '{"payload":"AA==","signature":"AA==","x":1}', '{']) {
      assert.equal(parseEnvelope(text).ok, false, text);
    }
  });

  it('fuzz: no text or signed payload makes the parser throw, and only well-formed commands pass', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => {
      const env = parseEnvelope(text);
      if (env.ok) checkEnvelope(env.value, ctx());
    }), { numRuns: 2000 });
    const field = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.boolean());
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('v', 'action', 'nodes', 'target', 'version', 'operator', 'reason', 'issued_at', 'expires_at', 'nonce', 'content', 'zz'), field), fc.boolean(), (over, whole) => {
      const payload = Buffer.from(JSON.stringify(whole ? { ...command(), ...over } : over));
      const env = { payload: payload.toString('base64'), signature: sign(null, breakglassMessage(payload), bgPriv).toString('base64') };
      const r = checkEnvelope(env, ctx());
      if (r.ok) {
        assert.ok((BREAKGLASS_ACTIONS as readonly string[]).includes(r.value.action));
        assert.ok(r.value.nodes.includes('n1'));
      }
    }), { numRuns: 3000 });
    // Random bytes as the payload, correctly signed.
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const payload = Buffer.from(bytes);
      const r = checkEnvelope({ payload: payload.toString('base64'), signature: sign(null, breakglassMessage(payload), bgPriv).toString('base64') }, ctx());
      assert.equal(code(r), 'MALFORMED');
    }), { numRuns: 1000 });
  });
});

describe('break-glass inventory', () => {
  it('reads nodes with TCP and unix admin addresses and labels', () => {
    const r = parseInventory('nodes:\n  - { id: edge-1, admin: "127.0.0.1:7101", labels: { region: eu } }\n  - { id: edge-2, admin: "[::1]:7102" }\n  - { id: edge-3, admin: "unix:/var/lib/failsmall/admin.sock" }\n');
    assert.ok(r.ok);
    assert.deepEqual(r.value.nodes.map((n) => n.admin), [{ kind: 'tcp', host: '127.0.0.1', port: 7101 }, { kind: 'tcp', host: '::1', port: 7102 }, { kind: 'unix', path: '/var/lib/failsmall/admin.sock' }]);
    assert.deepEqual(r.value.nodes[0]?.labels, { region: 'eu' });
  });

  it('refuses a malformed inventory with line, column and a hint, naming every problem', () => {
    const text = [
      'nodes:',
      '  - { id: edge-1, admin: "127.0.0.1:7101" }',
      '  - { id: edge-1, admin: "127.0.0.1:7102" }',
      '  - { id: edge-3, admin: "localhost" }',
      '  - { id: edge-4 }',
      '  - { id: "bad/id", admin: "127.0.0.1:7104", colour: red }',
      '  - { id: edge-6, admin: "127.0.0.1:7101" }',
      '',
    ].join('\n');
    const r = parseInventory(text, { file: 'inv.yaml' });
    assert.equal(r.ok, false);
    const got = !r.ok ? r.errors.map((e) => [e.code, e.line]) : [];
    assert.deepEqual(got, [['DUPLICATE_NAME', 3], ['BAD_ADDRESS', 4], ['MISSING_KEY', 5], ['BAD_NAME', 6], ['UNKNOWN_KEY', 6], ['DUPLICATE_ADDRESS', 7]]);
    assert.ok(!r.ok && r.errors.every((e) => e.file === 'inv.yaml' && e.col !== undefined && e.hint));
  });

  it('refuses what is not an inventory at all', () => {
    for (const text of ['', 'nodes: []', 'nodes: 3', '- a', 'nodes:\n  - 7', 'nodes: [ { id: a, admin: "h:99999" } ]', '{ nodes: [', 'x'.repeat(2 * 1024 * 1024)]) {
      const r = parseInventory(text);
      assert.equal(r.ok, false, text.slice(0, 40));
    }
  });
});

describe('the example inventory', () => {
  it('examples/inventory.yaml (shown in docs/breakglass.md) parses', async () => {
    const { readFileSync } = await import('node:fs');
    const r = parseInventory(readFileSync(new URL('../../../examples/inventory.yaml', import.meta.url), 'utf8'), { file: 'examples/inventory.yaml' });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.equal(r.value.nodes.length, 4);
  });
});
