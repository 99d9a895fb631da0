/**
 * The node core (issue 12), with time from the events: what the agent and the simulated nodes
 * decide, tested without a process, a socket or a wall-clock sleep.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  afterLoad, checkCandidate, convergeAction, generateSigningKeys, lkgTarget, loadRetryDelayMs, nextLoadStep, nextRetryAt, nodeStep, parsePrivateKey, parsePublicKey, signVersion,
  type ArtifactNode, type DesiredEntry, type LoadProgress, type NodeState,
} from '../src/index.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const entry = (version: string | null, extra: Partial<DesiredEntry> = {}): DesiredEntry => ({
  artifact: 'features', module: 'bot-management', version, sha256: version === null ? null : sha(version), signature: null, ...extra,
});
const serving = (version: string, state: 'serving' | 'stale' = 'serving'): ArtifactNode => ({
  serving: { version, sha256: sha(version), module: 'bot-management', state }, history: [{ version, sha256: sha(version), signature: null }],
});
const T0 = 1_000_000;

describe('nodeStep: converging on the desired state', () => {
  it('loads a new version, and nothing for a version it serves', () => {
    const state: NodeState = { artifacts: { features: serving('v1') } };
    assert.deepEqual(nodeStep(state, { type: 'desired', at: T0, artifacts: [entry('v1')] }).effects, []);
    assert.deepEqual(nodeStep(state, { type: 'desired', at: T0, artifacts: [entry('v2')] }).effects, [{ type: 'load', entry: entry('v2') }]);
  });

  it('a pin outranks the control plane: desired v2 changes nothing, for as long as it holds', () => {
    const pinned: NodeState = { artifacts: { features: { ...serving('v1'), pin: { artifact: 'features', action: 'pin', version: 'v1', state: 'serving', operator: 'alice', reason: 'r', nonce: 'n', since: 'x' } } } };
    for (const at of [T0, T0 + 3600_000, T0 + 86_400_000]) {
      const out = nodeStep(pinned, { type: 'desired', at, artifacts: [entry('v2')] });
      assert.deepEqual(out.effects, []);
      assert.equal(out.state, pinned);
    }
  });

  it('a rollback to the version it kept serving as last known-good needs no load and no report', () => {
    const stale: NodeState = { artifacts: { features: { ...serving('v1', 'stale'), failed: { version: 'v2', attempts: 1, retryAt: T0 + 5000 } } } };
    const out = nodeStep(stale, { type: 'desired', at: T0, artifacts: [entry('v1')] });
    assert.deepEqual(out.effects, [{ type: 'serving', artifact: 'features', version: 'v1', state: 'serving' }, { type: 'save' }]);
    assert.equal(out.state.artifacts.features?.serving?.state, 'serving');
    assert.equal(out.state.artifacts.features?.failed, undefined);
  });

  it('retries a failed version on its schedule, in virtual time: 5 s, 10 s, 20 s … 10 min', () => {
    assert.deepEqual([1, 2, 3, 4, 8, 9, 20].map(loadRetryDelayMs), [5000, 10_000, 20_000, 40_000, 600_000, 600_000, 600_000]);
    let state: NodeState = { artifacts: { features: serving('v1') } };
    const refused = { ok: false as const, stage: 'validate' as const, code: 'MAX_ENTRIES' as const, error: 'validate: 240 entries > max_entries 200', state: { state: 'stale' as const, version: 'v1' } };
    let at = T0;
    for (const attempt of [1, 2, 3]) {
      state = nodeStep(state, { type: 'loaded', at, entry: entry('v2'), outcome: refused }).state;
      const failed = state.artifacts.features?.failed;
      assert.deepEqual(failed, { version: 'v2', attempts: attempt, retryAt: at + loadRetryDelayMs(attempt) });
      // One millisecond before it is due, nothing; at the due time, a load.
      assert.equal(convergeAction(state.artifacts.features, entry('v2'), (failed?.retryAt ?? 0) - 1), 'retry-later');
      assert.equal(convergeAction(state.artifacts.features, entry('v2'), failed?.retryAt ?? 0), 'load');
      assert.equal(nextRetryAt(Object.values(state.artifacts)), failed?.retryAt);
      at = failed?.retryAt ?? at;
    }
    // Another version is not held back by v2's schedule.
    assert.equal(convergeAction(state.artifacts.features, entry('v3'), at), 'load');
  });
});

describe('afterLoad: what the node remembers and reports', () => {
  it('a good load becomes the newest known-good; a refusal keeps the old one and reports it', () => {
    const ok = afterLoad(serving('v1'), entry('v2'), { ok: true, state: { state: 'serving', version: 'v2' } }, T0);
    assert.deepEqual(ok.node.history.map((h) => h.version), ['v1', 'v2']);
    assert.deepEqual(ok.report, { artifact: 'features', version: 'v2', ok: true, serving: 'v2', error: null, module_state: 'serving' });
    const bad = afterLoad(ok.node, entry('v3'), { ok: false, stage: 'apply', code: 'APPLY', error: 'apply: reload exited 1', state: { state: 'stale', version: 'v2' } }, T0);
    assert.deepEqual(bad.node.history.map((h) => h.version), ['v1', 'v2']);
    assert.equal(bad.node.serving?.sha256, sha('v2'), 'a stale module serves the last known-good bytes');
    assert.equal(bad.report.ok, false);
    assert.equal(bad.report.serving, 'v2');
  });

  it('history is capped, and lkg goes back past versions break-glass moved away from', () => {
    let node: ArtifactNode = serving('v0');
    for (let i = 1; i <= 10; i++) node = afterLoad(node, entry(`v${i}`), { ok: true, state: { state: 'serving', version: `v${i}` } }, T0).node;
    assert.deepEqual(node.history.map((h) => h.version), ['v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10']);
    assert.equal(lkgTarget(node), 'v9');
    assert.equal(lkgTarget({ ...node, pin: { artifact: 'features', action: 'lkg', version: 'v8', state: 'serving', operator: 'a', reason: 'r', nonce: 'n', since: 'x', replaced: ['v9'] } }), 'v8');
    assert.equal(lkgTarget(serving('v1', 'stale')), 'v1');
    assert.equal(lkgTarget(serving('v1')), undefined);
  });
});

describe('the load sequence', () => {
  const keys = generateSigningKeys();
  const priv = parsePrivateKey(keys.privateKey);
  const pub = parsePublicKey(keys.publicKey);
  assert.ok(priv.ok && pub.ok);
  const content = Buffer.from('["a","b"]');
  const candidate = { artifact: 'features', version: 'v2', sha256: sha('["a","b"]'), signature: signVersion(priv.key, 'features', 'v2', sha('["a","b"]')), content, validation: { max_entries: 5 } };
  const base = (over: Partial<LoadProgress>): LoadProgress => ({ check: checkCandidate(candidate, { publicKey: pub.key }), hasCommand: false, lastKnownGood: 'v1', ...over });

  it('checks, then the node\'s command, then apply, then records the known-good', () => {
    assert.equal(base({}).check.ok, true);
    assert.deepEqual(nextLoadStep(base({ hasCommand: true }), 'v2'), { type: 'run-command' });
    assert.deepEqual(nextLoadStep(base({ hasCommand: true, command: { ok: true } }), 'v2'), { type: 'apply' });
    const done = nextLoadStep(base({ apply: { ok: true } }), 'v2');
    assert.deepEqual(done, { type: 'done', outcome: { ok: true, state: { state: 'serving', version: 'v2' } }, then: 'save-lkg', touched: true });
  });

  it('a refusal before apply leaves a serve-stale module untouched; a failed apply hands it the last known-good again', () => {
    const forged = nextLoadStep(base({ check: checkCandidate({ ...candidate, signature: signVersion(priv.key, 'features', 'v9', candidate.sha256) }, { publicKey: pub.key }) }), 'v2');
    assert.equal(forged.type === 'done' && forged.then, 'keep');
    assert.equal(forged.type === 'done' && !forged.outcome.ok && forged.outcome.code, 'SIGNATURE');
    const tooMany = nextLoadStep(base({ check: checkCandidate({ ...candidate, validation: { max_entries: 1 } }, { publicKey: pub.key }) }), 'v2');
    assert.equal(tooMany.type === 'done' && !tooMany.outcome.ok && tooMany.outcome.stage, 'validate');
    const failedApply = nextLoadStep(base({ apply: { ok: false, error: 'reload exited 1' } }), 'v2');
    assert.deepEqual(failedApply.type === 'done' && [failedApply.then, failedApply.touched, failedApply.outcome.state], ['restore', true, { state: 'stale', version: 'v1' }]);
  });

  it('the module\'s failure policy decides when there is no known-good: fail-open needs a safe default it trusts', () => {
    const noLkg = { lastKnownGood: null, apply: { ok: false as const, error: 'x' } };
    const open = nextLoadStep(base({ ...noLkg, onFailure: { on_load_failure: 'fail-open', safe_default: '[]' } }), 'v2');
    assert.deepEqual(open.type === 'done' && [open.then, open.outcome.state], ['enact', { state: 'fail-open' }]);
    const untrusted = nextLoadStep(base({ ...noLkg, onFailure: { on_load_failure: 'fail-open' } }), 'v2');
    assert.deepEqual(untrusted.type === 'done' && untrusted.outcome.state, { state: 'empty' });
    const closed = nextLoadStep(base({ ...noLkg, onFailure: { on_load_failure: 'fail-closed', reason: 'auth' } }), 'v2');
    assert.deepEqual(closed.type === 'done' && closed.outcome.state, { state: 'fail-closed' });
  });
});
