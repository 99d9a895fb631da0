import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  breakglassMessage, envelopeSha256, envelopeText, generateSigningKeys, NO_BREAKGLASS_KEY, signCommand, verifyReport,
  type BreakglassCommand, type BreakglassEnvelope, type ReportedEntry, type ReportVerdict,
} from '../src/index.ts';

const bg = generateSigningKeys();
const other = generateSigningKeys();
const bgPriv = createPrivateKey(bg.privateKey);
const bgPub = createPublicKey(bg.publicKey);
const otherPriv = createPrivateKey(other.privateKey);

function command(over: Partial<BreakglassCommand> = {}): BreakglassCommand {
  return {
    v: 1, action: 'kill-switch', nodes: ['edge-1'], target: 'bot-management', operator: 'alice', reason: 'module crashes on any file',
    issued_at: '2026-11-26T09:59:00.000Z', expires_at: '2026-11-26T10:14:00.000Z', nonce: 'abcdefghijklmnopqrstuv', ...over,
  };
}

/** The log line an agent writes for a command it carried out (BreakglassService: describeCommand + the envelope). */
function entryFor(c: BreakglassCommand, envelope: BreakglassEnvelope | undefined, over: Record<string, unknown> = {}): ReportedEntry {
  return {
    seq: 7, at: '2026-11-26T10:00:01.000Z', node: 'edge-1', outcome: c.action === 'drill' ? 'checked' : 'applied', via: 'http 127.0.0.1',
    action: c.action, target: c.target, ...(c.version !== undefined ? { version: c.version } : {}), operator: c.operator, reason: c.reason,
    nonce: c.nonce, issued_at: c.issued_at, expires_at: c.expires_at, message: 'bot-management fails open to its safe default',
    result: [{ artifact: 'features', serving: null, state: 'fail-open' }], ...(envelope ? { envelope } : {}), ...over,
  };
}

const reason = (v: ReportVerdict) => (v.status === 'verified' ? '' : v.reason);

describe('verifyReport: what the control plane stores of a reported break-glass entry', () => {
  it('stores a real signed kill-switch as verified, with its envelope and that envelope\'s sha256', () => {
    const env = signCommand(bgPriv, command());
    const v = verifyReport(entryFor(command(), env), 'edge-1', bgPub);
    assert.equal(v.status, 'verified');
    assert.ok(v.status === 'verified');
    assert.equal(v.record.verified, true);
    assert.equal(v.record.verification, undefined);
    assert.equal(v.record.operator, 'alice');
    assert.deepEqual(v.record.result, [{ artifact: 'features', serving: null, state: 'fail-open' }], 'what the node says came of it is kept');
    assert.deepEqual(v.record.envelope, env);
    assert.equal(v.record.envelope_sha256, createHash('sha256').update(JSON.stringify({ payload: env.payload, signature: env.signature })).digest('hex'));
    assert.equal(v.command.nonce, command().nonce);
    // The stored envelope verifies again under the public key, by anyone.
    const stored = v.record.envelope as BreakglassEnvelope;
    assert.ok(verify(null, breakglassMessage(Buffer.from(stored.payload, 'base64')), bgPub, Buffer.from(stored.signature, 'base64')));
  });

  it('verifies a pin with its version, and a drill reported as checked', () => {
    const pin = command({ action: 'pin', target: 'features', version: 'v41' });
    assert.equal(verifyReport(entryFor(pin, signCommand(bgPriv, pin)), 'edge-1', bgPub).status, 'verified');
    const drill = command({ action: 'drill', target: 'features' });
    assert.equal(verifyReport(entryFor(drill, signCommand(bgPriv, drill)), 'edge-1', bgPub).status, 'verified');
  });

  it('verifies a command addressed to many nodes for each of them', () => {
    const c = command({ nodes: ['edge-0', 'edge-1', 'edge-2'] });
    const env = signCommand(bgPriv, c);
    for (const n of c.nodes) assert.equal(verifyReport(entryFor(c, env, { node: n }), n, bgPub).status, 'verified', n);
  });

  it('rejects "kill-switch applied by alice" with no envelope', () => {
    const v = verifyReport(entryFor(command(), undefined), 'edge-1', bgPub);
    assert.equal(v.status, 'rejected');
    assert.equal(reason(v), 'no signed envelope');
  });

  it('rejects an envelope signed by another key', () => {
    const v = verifyReport(entryFor(command(), signCommand(otherPriv, command())), 'edge-1', bgPub);
    assert.equal(v.status, 'rejected');
    assert.match(reason(v), /signature does not verify under the break-glass public key/);
  });

  it('rejects a valid envelope for another node', () => {
    const forB = command({ nodes: ['edge-2'] });
    const v = verifyReport(entryFor(forB, signCommand(bgPriv, forB)), 'edge-1', bgPub);
    assert.equal(v.status, 'rejected');
    assert.equal(reason(v), 'the signed command is for edge-2, not edge-1');
  });

  it('rejects a valid envelope whose entry says another operator, or differs on any field of the command', () => {
    const env = signCommand(bgPriv, command());
    const v = verifyReport(entryFor(command(), env, { operator: 'mallory' }), 'edge-1', bgPub);
    assert.equal(v.status, 'rejected');
    assert.equal(reason(v), 'operator: the entry says "mallory", the signed command "alice"');
    const changes: Record<string, unknown> = {
      action: 'lkg', target: 'proxy', version: 'v9', reason: 'because', nonce: 'zzzzzzzzzzzzzzzzzzzzzz',
      issued_at: '2026-11-26T09:00:00.000Z', expires_at: '2026-11-26T11:00:00.000Z',
    };
    for (const [field, value] of Object.entries(changes)) {
      const r = verifyReport(entryFor(command(), env, { [field]: value }), 'edge-1', bgPub);
      assert.equal(r.status, 'rejected', field);
      assert.match(reason(r), new RegExp(`^${field}: the entry says`), field);
    }
    // A field the entry leaves out is a difference too: an applied pin must say which version.
    const pin = command({ action: 'pin', target: 'features', version: 'v41' });
    const { version: _dropped, ...noVersion } = entryFor(pin, signCommand(bgPriv, pin));
    assert.equal(reason(verifyReport(noVersion as ReportedEntry, 'edge-1', bgPub)), 'version: the entry says nothing, the signed command "v41"');
  });

  it('rejects a signed command whose payload was changed after signing', () => {
    const env = signCommand(bgPriv, command());
    const payload = Buffer.from(JSON.stringify({ ...command(), operator: 'mallory' })).toString('base64');
    const v = verifyReport(entryFor(command({ operator: 'mallory' }), { payload, signature: env.signature }), 'edge-1', bgPub);
    assert.equal(v.status, 'rejected');
    assert.match(reason(v), /signature does not verify/);
  });

  it('rejects a drill reported as applied, and a real action reported as checked', () => {
    const drill = command({ action: 'drill', target: 'features' });
    const asApplied = verifyReport(entryFor(drill, signCommand(bgPriv, drill), { outcome: 'applied' }), 'edge-1', bgPub);
    assert.equal(asApplied.status, 'rejected');
    assert.match(reason(asApplied), /outcome applied does not fit a drill/);
    const asChecked = verifyReport(entryFor(command(), signCommand(bgPriv, command()), { outcome: 'checked' }), 'edge-1', bgPub);
    assert.equal(asChecked.status, 'rejected');
  });

  it('keeps a refusal of a signed command as verified, even for another node (WRONG_NODE)', () => {
    const forB = command({ nodes: ['edge-2'] });
    const v = verifyReport(entryFor(forB, signCommand(bgPriv, forB), { outcome: 'refused', code: 'WRONG_NODE', message: 'the command is for edge-2, not edge-1' }), 'edge-1', bgPub);
    assert.equal(v.status, 'verified');
    assert.ok(v.status === 'verified');
    assert.equal(v.record.operator, 'alice');
    assert.equal(v.record.code, 'WRONG_NODE');
  });

  it('keeps a refusal of unsigned bytes, unverified, without the operator, reason and nonce it claims', () => {
    const claimed = entryFor(command(), undefined, { outcome: 'refused', code: 'BAD_SIGNATURE', message: 'not signed by this node\'s key', drill: [{ deep: [[[1]]] }] });
    const v = verifyReport(claimed, 'edge-1', bgPub);
    assert.equal(v.status, 'unverified');
    assert.ok(v.status === 'unverified');
    assert.deepEqual(v.record, {
      seq: 7, at: '2026-11-26T10:00:01.000Z', outcome: 'refused', node: 'edge-1', code: 'BAD_SIGNATURE', message: 'not signed by this node\'s key',
      via: 'http 127.0.0.1', verified: false, verification: 'no signed envelope',
    });
    // The same with an envelope signed by another key, or a real envelope the entry misquotes.
    const forged = verifyReport({ ...claimed, envelope: signCommand(otherPriv, command()) }, 'edge-1', bgPub);
    assert.equal(forged.status, 'unverified');
    assert.ok(forged.status === 'unverified');
    assert.equal(forged.record.operator, undefined);
    assert.equal(forged.record.envelope, undefined, 'bytes nobody signed are not kept');
    const misquoted = verifyReport({ ...claimed, envelope: signCommand(bgPriv, command()), operator: 'mallory' }, 'edge-1', bgPub);
    assert.equal(misquoted.status, 'unverified');
    assert.ok(misquoted.status === 'unverified');
    assert.equal(misquoted.record.operator, undefined);
    assert.match(misquoted.record.verification ?? '', /^operator: /);
  });

  it('caps the text kept of an unverified refusal', () => {
    const v = verifyReport({ seq: 1, at: 'x', outcome: 'refused', code: 'C'.repeat(500), message: 'm'.repeat(5000), via: 7 }, 'edge-1', bgPub);
    assert.ok(v.status === 'unverified');
    assert.equal(v.record.code, 'C'.repeat(64));
    assert.equal((v.record.message as string).length, 1000);
    assert.equal(v.record.via, undefined, 'a via that is not text is dropped');
  });

  it('without a key: stores every entry as reported, marked unverified, and says why', () => {
    const v = verifyReport(entryFor(command(), undefined), 'edge-1', undefined);
    assert.equal(v.status, 'unverified');
    assert.ok(v.status === 'unverified');
    assert.equal(v.record.verified, false);
    assert.equal(v.record.verification, NO_BREAKGLASS_KEY);
    assert.equal(v.record.operator, 'alice', 'as today: the entry as the node gave it');
    const env = signCommand(bgPriv, command());
    const withEnvelope = verifyReport(entryFor(command(), env), 'edge-1', undefined);
    assert.ok(withEnvelope.status === 'unverified');
    assert.equal(withEnvelope.record.envelope_sha256, envelopeSha256(env), 'kept, so it can be verified once the key is given');
    const garbage = verifyReport(entryFor(command(), undefined, { envelope: [1, 2] }), 'edge-1', undefined);
    assert.ok(garbage.status === 'unverified');
    assert.equal('envelope' in garbage.record, false, 'an envelope that is not {payload, signature} is not kept');
  });

  it('names the node the report came in for, not the one the entry claims', () => {
    const env = signCommand(bgPriv, command());
    const v = verifyReport(entryFor(command(), env, { node: 'edge-9' }), 'edge-1', bgPub);
    assert.ok(v.status === 'verified');
    assert.equal(v.record.node, 'edge-1');
  });

  it('envelopeText is the envelope as failsmall writes it, payload first', () => {
    const env = signCommand(bgPriv, command());
    assert.equal(envelopeText({ signature: env.signature, payload: env.payload } as BreakglassEnvelope), JSON.stringify(env));
  });

  it('never throws and never verifies whatever a node puts in the envelope field (property)', () => {
    const env = signCommand(bgPriv, command());
    const deep = (n: number): unknown => (n === 0 ? 'x' : [deep(n - 1)]);
    const hostile = fc.oneof(
      fc.jsonValue(),
      fc.constant(deep(5000)),
      fc.record({ payload: fc.string(), signature: fc.string() }),
      fc.record({ payload: fc.constant(env.payload), signature: fc.base64String() }),
      fc.record({ payload: fc.base64String(), signature: fc.constant(env.signature) }),
      fc.constant({ ...env, extra: 1 }),
      fc.constant({ payload: env.payload, signature: `${env.signature}AAAA` }),
    );
    fc.assert(fc.property(hostile, fc.constantFrom<'applied' | 'checked' | 'refused'>('applied', 'checked', 'refused'), (envelope, outcome) => {
      const v = verifyReport(entryFor(command(), undefined, { envelope, outcome }), 'edge-1', bgPub);
      assert.notEqual(v.status, 'verified');
      assert.equal(v.status, outcome === 'refused' ? 'unverified' : 'rejected');
    }), { numRuns: 300, seed: 20261205 });
  });
});
