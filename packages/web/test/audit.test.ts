/**
 * The Break-glass and audit page's view logic: the event log's query from the filters, the
 * chain's state in words, each event in a sentence, and break-glass lines and pins in words.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BreakglassEntry, EventRecord } from '../src/api/types.ts';
import { hrefOf, parseRoute } from '../src/app/routes.ts';
import { breakglassRows, chainWords, commandWords, eventSentence, eventsPath, newestFirst, nodesOf, pinWords, typeChoices, verificationWords } from '../src/view/audit.ts';

const ev = (seq: number, type: string, payload: Record<string, unknown> = {}, rollout_id: string | null = null): EventRecord => ({ seq, at: seq * 1000, type, rollout_id, payload });
const line = (node_id: string, seq: number, received_at: number, o: Partial<BreakglassEntry> = {}): BreakglassEntry => ({ node_id, seq, at: '2026-01-01T00:00:00Z', received_at, outcome: 'applied', verified: true, ...o });

test('audit: the path keeps the filters, and the event log is asked for the newest events or long-polled after a cursor', () => {
  const route = parseRoute('/audit', '?type=rollout.&rollout=r-1&node=n1');
  assert.deepEqual(route, { page: 'audit', filter: { type: 'rollout.', rollout: 'r-1', node: 'n1' } });
  assert.equal(hrefOf(route), '/audit?type=rollout.&rollout=r-1&node=n1');
  assert.equal(hrefOf(parseRoute('/audit/', '')), '/audit');
  assert.equal(eventsPath({ type: 'rollout.', rollout: '', node: '' }), '/v1/events?type=rollout.&newest=true&limit=200');
  assert.equal(eventsPath({ type: '', rollout: 'r-1', node: 'n1' }, 42), '/v1/events?rollout=r-1&after=42&wait=20000');
  assert.equal(eventsPath({ type: '', rollout: '', node: '' }, undefined, 1), '/v1/events?newest=true&limit=1');
  assert.deepEqual(typeChoices('').slice(0, 2), [{ value: '', label: 'every type' }, { value: 'rollout.', label: 'rollout.*' }]);
  assert.deepEqual(typeChoices('gates.evaluated').at(-1), { value: 'gates.evaluated', label: 'gates.evaluated' }, 'a type from the address is offered too');
  assert.equal(typeChoices('rollout.').length, typeChoices('').length);
});

test('audit: the chain intact or broken, in words', () => {
  assert.deepEqual(chainWords({ ok: true, events: 12, head: { seq: 12, hash: 'ab12cd34ef56ab12cd34' }, checkpoints: 0, message: '' }), { intact: true, text: 'intact (12 events, head #12 ab12cd34ef56)' });
  assert.deepEqual(chainWords({ ok: true, events: 1, head: { seq: 1, hash: 'ff' }, checkpoints: 0, message: '' }).text, 'intact (1 event, head #1 ff)');
  const broken = chainWords({ ok: false, first_broken: { seq: 7, type: 'rollout.started', at: 1, reason: 'hash mismatch', detail: 'its hash does not match its content' }, checked: 6, message: '' });
  assert.deepEqual(broken, { intact: false, text: 'BROKEN at #7: its hash does not match its content' });
});

test('audit: a rollout event in core narrate\'s sentence, another as its fields, newest first', () => {
  assert.match(eventSentence(ev(1, 'rollout.started', { artifact: 'features', from_version: 'v1', to_version: 'v2', policy: 'default', fleet_nodes: 4, actor: 'admin' }, 'r-1')), /^rollout r-1: features v1 → v2 under policy default \(4 nodes\), started by admin$/);
  assert.equal(eventSentence(ev(2, 'token.created', { name: 'ops', role: 'viewer', scopes: ['a', 'b'], nested: { x: 1 } })), 'name: ops, role: viewer, scopes: 2 items');
  assert.equal(eventSentence(ev(3, 'artifact.declared')), 'artifact.declared');
  assert.deepEqual(newestFirst([ev(1, 'a'), ev(3, 'b'), ev(2, 'c')]).map((e) => e.seq), [3, 2, 1]);
});

test('audit: break-glass lines newest first, by node, verified or not in words; pins in words', () => {
  const lines = [line('n1', 1, 100, { action: 'kill-switch', target: 'features', operator: 'alice', reason: 'bad v2' }), line('n2', 1, 300, { outcome: 'refused', code: 'EXPIRED', verified: false, verification: 'no signed envelope' }), line('n1', 2, 300, { outcome: 'checked', verified: false })];
  assert.deepEqual(breakglassRows(lines, '').map((e) => `${e.node_id}#${e.seq}`), ['n1#2', 'n2#1', 'n1#1']);
  assert.deepEqual(breakglassRows(lines, 'n1').map((e) => `${e.node_id}#${e.seq}`), ['n1#2', 'n1#1']);
  assert.equal(verificationWords(lines[0]!), 'verified against the break-glass public key');
  assert.equal(verificationWords(lines[1]!), 'not verified: no signed envelope');
  assert.equal(verificationWords(lines[2]!), 'not verified: no reason recorded');
  assert.equal(commandWords(lines[0]!), 'applied: kill-switch on features');
  assert.equal(commandWords(lines[1]!), 'refused (EXPIRED)');
  assert.equal(commandWords(line('n1', 3, 1, { outcome: 'applied', action: 'pin', target: 'features', version: 'v1' })), 'applied: pin on features → v1');
  const pin = { node: 'n3', artifact: 'features', action: 'pin' as const, version: 'v1', operator: 'bob', reason: 'hold', since: '2026-01-01T00:00:00Z' };
  assert.equal(pinWords(pin), 'n3: features pinned to v1, by bob: hold');
  assert.equal(pinWords({ ...pin, action: 'kill-switch', version: null, reason: '' }), 'n3: features kill-switched (safe default), by bob');
  assert.deepEqual(nodesOf(lines, [pin]), ['n1', 'n2', 'n3']);
});
