/**
 * Issue 12: one truth for loads. The agent's SafeLoader and the simulator's nodes run the same
 * load sequence (checkCandidate, then nextLoadStep). For each fault and each failure policy, the
 * loader really loads (a temp dir, a real validator command, a real apply callback), and the
 * node core is driven as the simulator drives it (plain data in, outcome out, the last
 * known-good given up front). Both must end the same way, and the files on disk must be what the
 * decision says.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checkCandidate, generateSigningKeys, nextLoadStep, parsePrivateKey, parsePublicKey, signVersion,
  type LoadCandidate, type LoadOutcome, type LoadProgress, type LoadStep, type OnFailure,
} from '@failsmall/core';
import { SafeLoader } from '@failsmall/agent';

const keys = generateSigningKeys();
const privateKey = (() => { const k = parsePrivateKey(keys.privateKey); if (!k.ok) throw new Error(k.message); return k.key; })();
const publicKey = (() => { const k = parsePublicKey(keys.publicKey); if (!k.ok) throw new Error(k.message); return k.key; })();
const strangerKey = (() => { const k = parsePrivateKey(generateSigningKeys().privateKey); if (!k.ok) throw new Error(k.message); return k.key; })();

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const features = (n: number) => Buffer.from(JSON.stringify(Array.from({ length: n }, (_, i) => ({ name: `f${i}`, weight: i / 100 }))));
const VALIDATION = { max_entries: 100, json_schema: { type: 'array', items: { type: 'object', required: ['name', 'weight'] } } };
const GOOD = features(10);
const NEXT = features(20);

type Fault = 'none' | 'sha256' | 'signature' | 'max-entries' | 'command' | 'apply';
const COMMAND_ERROR = "validator command exited 1: refused by the node's validator";
const APPLY_ERROR = 'bot-management cannot take v2';

/** The candidate v2, spoilt as `fault` says (the command and apply faults are the node's answers, not the bytes). */
function candidate(fault: Fault): LoadCandidate {
  const content = fault === 'max-entries' ? features(150) : NEXT;
  const digest = sha(content);
  return {
    artifact: 'features', version: 'v2', content, validation: VALIDATION,
    sha256: fault === 'sha256' ? sha(GOOD) : digest,
    signature: signVersion(fault === 'signature' ? strangerKey : privateKey, 'features', 'v2', digest),
  };
}

/** The node core driven as the simulator drives it: its checks on the bytes, the module's answers from the case. */
function simulated(fault: Fault, onFailure: OnFailure, lastKnownGood: string | null): Extract<LoadStep, { type: 'done' }> {
  let p: LoadProgress = { check: checkCandidate(candidate(fault), { publicKey }), hasCommand: fault === 'command', onFailure, lastKnownGood };
  for (;;) {
    const step = nextLoadStep(p, 'v2');
    if (step.type === 'done') return step;
    if (step.type === 'run-command') p = { ...p, command: fault === 'command' ? { ok: false, error: COMMAND_ERROR } : { ok: true } };
    else if (step.type === 'apply') p = { ...p, apply: fault === 'apply' ? { ok: false, error: APPLY_ERROR } : { ok: true } };
    else throw new Error(`the simulator gives the last known-good up front; the sequence asked for ${step.type}`);
  }
}

/** The real loader in a fresh directory, after a good v1 when `withLkg`. Returns its result and the served file. */
async function agentLoad(fault: Fault, onFailure: OnFailure, withLkg: boolean): Promise<{ result: LoadOutcome; served: string | undefined; lkg: string | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-parity-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const loader = new SafeLoader({
    dir, publicKey, validatorTimeoutMs: 5000,
    callbacks: { 'bot-management': (_path, req) => { if (fault === 'apply' && req.version === 'v2') throw new Error(APPLY_ERROR); } },
    ...(fault === 'command' ? { validators: { features: `[ "$FAILSMALL_VERSION" = v2 ] && { echo "refused by the node's validator" >&2; exit 1; }; exit 0` } } : {}),
  });
  const base = { module: 'bot-management', onFailure };
  if (withLkg) {
    const first = await loader.load({ ...base, artifact: 'features', version: 'v1', content: GOOD, sha256: sha(GOOD), signature: signVersion(privateKey, 'features', 'v1', sha(GOOD)), validation: VALIDATION });
    assert.equal(first.ok, true, 'v1 loads');
  }
  const c = candidate(fault);
  const result = await loader.load({ ...base, artifact: c.artifact, version: c.version, sha256: c.sha256, signature: c.signature ?? null, content: Buffer.from(c.content), validation: VALIDATION });
  const file = join(dir, 'features');
  const lkg = await loader.lastKnownGood.read('features');
  return { result, served: existsSync(file) ? readFileSync(file, 'utf8') : undefined, lkg: lkg.kind === 'ok' ? lkg.copy.version : null };
}

const POLICIES: readonly [string, OnFailure, boolean][] = [
  ['serve-stale with a last known-good', { on_load_failure: 'serve-stale' }, true],
  ['serve-stale without one', { on_load_failure: 'serve-stale' }, false],
  ['serve-stale without one, with a safe default', { on_load_failure: 'serve-stale', safe_default: '[]' }, false],
  ['fail-open', { on_load_failure: 'fail-open', safe_default: '[]' }, true],
  ['fail-open without a safe default', { on_load_failure: 'fail-open' }, true],
  ['fail-closed', { on_load_failure: 'fail-closed', reason: 'blocks unauthenticated traffic' }, true],
];
const FAULTS: readonly [Fault, string][] = [
  ['none', 'a good version'],
  ['sha256', 'bytes altered in transit'],
  ['signature', 'a version signed by another key'],
  ['max-entries', 'a version over max_entries'],
  ['command', "a version the node's validator command refuses"],
  ['apply', 'a version the module fails to apply'],
];

/**
 * The served file after fail-open, fail-closed or empty. Empty removes the file only when the
 * refused version reached it: a version refused before apply leaves the module as it was.
 */
function enacted(state: string, touched: boolean, withLkg: boolean): string | undefined {
  if (state === 'fail-open') return '[]';
  if (state === 'empty' && !touched && withLkg) return GOOD.toString();
  return undefined;
}

describe('the agent loader and the simulator take the same path for the same inputs', () => {
  for (const [fault, what] of FAULTS) {
    for (const [policy, onFailure, withLkg] of POLICIES) {
      it(`${what}, under ${policy}`, async () => {
        const sim = simulated(fault, onFailure, withLkg ? 'v1' : null);
        const agent = await agentLoad(fault, onFailure, withLkg);
        assert.deepEqual(agent.result, sim.outcome);
        // The files follow the decision: what the module serves now, and the last known-good kept.
        const expected = {
          'save-lkg': { served: NEXT.toString(), lkg: 'v2' },
          restore: { served: GOOD.toString(), lkg: 'v1' },
          keep: { served: GOOD.toString(), lkg: 'v1' },
          enact: { served: enacted(sim.outcome.state.state, sim.touched, withLkg), lkg: withLkg ? 'v1' : null },
        }[sim.then];
        assert.deepEqual({ served: agent.served, lkg: agent.lkg }, expected, `then: ${sim.then}`);
      });
    }
  }
});
