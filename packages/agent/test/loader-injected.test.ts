/**
 * Issue 12 part 2: the safe loader carries out its effects through small injected interfaces.
 * Here it runs on a Map for its files, a fake module that records what it was handed, and a fake
 * validator: no disk and no processes. The directory is under /dev/null, where nothing can be
 * created, so a write that went around the injected Files would fail the test.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { signVersion, type ModuleDecl } from '@failsmall/core';
import { SafeLoader, type Candidate, type Files, type LoadRequest, type Module, type StagedFile, type Validator, type Verdict } from '../src/index.ts';
import { features, otherKey, publicKey, sha, signed } from './signed-requests.ts';

const DIR = '/dev/null/failsmall';
const SERVED = join(DIR, 'features');
const LKG_BYTES = join(DIR, '.lkg', 'features.bytes');
const LKG_META = join(DIR, '.lkg', 'features.meta.json');

/** Files on a Map: a staged write is invisible until committed; `staging` counts those still open. */
class MemoryFiles implements Files {
  readonly map = new Map<string, Buffer>();
  staging = 0;

  stage(path: string, content: Uint8Array | string): StagedFile {
    this.staging++;
    let open = true;
    const close = () => { if (open) { open = false; this.staging--; } };
    return {
      written: () => Promise.resolve(),
      commit: async () => { close(); this.map.set(path, Buffer.from(content)); },
      discard: async () => { close(); },
    };
  }

  async writeAtomic(path: string, content: Uint8Array | string): Promise<void> {
    this.map.set(path, Buffer.from(content));
  }

  async read(path: string): Promise<Buffer | undefined> {
    return this.map.get(path);
  }

  async remove(path: string): Promise<void> {
    this.map.delete(path);
  }

  /** Every path and its text, to compare before and after a load. */
  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.map].map(([p, b]) => [p, b.toString('utf8')]));
  }
}

/** A module that records each file it is handed (read from the Files at that moment) and each stop; it refuses what `refuse` matches. */
class FakeModule implements Module {
  readonly applied: { version: string | null; bytes: string }[] = [];
  readonly stopped: string[] = [];
  refuse: (bytes: string) => boolean = () => false;
  constructor(readonly files: MemoryFiles) {}

  async apply(path: string, req: LoadRequest): Promise<Verdict> {
    const bytes = this.files.map.get(path)?.toString('utf8') ?? '(no file)';
    this.applied.push({ version: req.version, bytes });
    return this.refuse(bytes) ? { ok: false, error: `${req.module} cannot take ${req.version}` } : { ok: true };
  }

  async stop(req: Pick<LoadRequest, 'artifact' | 'module'>): Promise<Verdict> {
    this.stopped.push(req.module);
    return { ok: true };
  }
}

/** A validator that records the candidates it saw and refuses those `refuse` matches. */
class FakeValidator implements Validator {
  readonly seen: Candidate[] = [];
  refuse: (c: Candidate) => string | undefined = () => undefined;

  async validate(c: Candidate): Promise<Verdict> {
    this.seen.push(c);
    const why = this.refuse(c);
    return why === undefined ? { ok: true } : { ok: false, error: why };
  }
}

function setup(opts: { validator?: boolean } = {}) {
  const files = new MemoryFiles();
  const module = new FakeModule(files);
  const validator = new FakeValidator();
  const errors: string[] = [];
  const loader = new SafeLoader({
    dir: DIR, publicKey, files,
    moduleFor: () => module,
    validatorFor: () => (opts.validator ? validator : undefined),
    log: { warn: () => undefined, error: (m) => { errors.push(m); } },
  });
  return { files, module, validator, loader, errors };
}

const V1 = features(10);
const BAD = features(240); // over max_entries: refused at validate, before the module
const policy = (d: Pick<ModuleDecl, 'on_load_failure' | 'safe_default' | 'reason'>) => ({ onFailure: d });

describe('the safe loader on injected Files, Module and Validator', () => {
  it('applies a good version, hands the module its bytes, and keeps it as last known-good', async () => {
    const t = setup();
    const r = await t.loader.load(signed('v1', V1));
    assert.deepEqual(r, { ok: true, state: { state: 'serving', version: 'v1' } });
    assert.deepEqual(t.module.applied, [{ version: 'v1', bytes: V1.toString() }], 'the file was in place when the module was asked');
    assert.equal(t.files.map.get(SERVED)?.toString(), V1.toString());
    const lkg = await t.loader.lastKnownGood.read('features');
    assert.ok(lkg.kind === 'ok');
    assert.equal(lkg.copy.version, 'v1');
    assert.equal(lkg.copy.content.toString(), V1.toString());
    assert.equal(t.files.map.get(LKG_BYTES)?.toString(), V1.toString(), 'with no linkOver the bytes were written');
    assert.equal(t.files.staging, 0, 'every staged write was committed or discarded');
  });

  const refusals: [string, () => LoadRequest, string][] = [
    ['truncated in transit (sha256)', () => ({ ...signed('v2', features(11)), content: features(11).subarray(0, 50) }), 'SHA256'],
    ['signed by another key', () => { const c = features(12); return { ...signed('v2', c), signature: signVersion(otherKey, 'features', 'v2', sha(c)) }; }, 'SIGNATURE'],
    ['unsigned', () => ({ ...signed('v2', features(13)), signature: null }), 'SIGNATURE'],
  ];
  for (const [name, request, code] of refusals) {
    it(`refuses a version ${name} before it reaches the module or the files`, async () => {
      const t = setup({ validator: true });
      await t.loader.load(signed('v1', V1));
      const before = t.files.snapshot();
      const r = await t.loader.load(request());
      assert.ok(!r.ok);
      assert.equal(r.stage, 'verify');
      assert.equal(r.code, code);
      assert.deepEqual(r.state, { state: 'stale', version: 'v1' });
      assert.deepEqual(t.module.applied.map((a) => a.version), ['v1'], 'the module was not handed the version, nor v1 again');
      assert.deepEqual(t.validator.seen.map((c) => c.version), ['v1'], 'the validator never saw it');
      assert.deepEqual(t.files.snapshot(), before, 'nothing in the files changed');
      assert.equal(t.files.staging, 0, 'its staged writes were discarded');
    });
  }

  it("refuses a version the node's validator refuses, and leaves the module untouched", async () => {
    const t = setup({ validator: true });
    t.validator.refuse = (c) => (c.content.includes('"f3"') ? undefined : 'f3 is required');
    await t.loader.load(signed('v1', features(5)));
    const r = await t.loader.load(signed('v2', features(2)));
    assert.ok(!r.ok);
    assert.equal(r.stage, 'validate');
    assert.equal(r.code, 'COMMAND');
    assert.match(r.error, /f3 is required/);
    assert.deepEqual(r.state, { state: 'stale', version: 'v1' });
    assert.equal(t.validator.seen.at(-1)?.content.toString(), features(2).toString(), 'the validator was shown the candidate');
    assert.deepEqual(t.module.applied.map((a) => a.version), ['v1']);
    assert.equal(t.files.map.get(SERVED)?.toString(), features(5).toString());
  });

  it('hands the module its last known-good again when it fails to take a version', async () => {
    const t = setup();
    const v2 = features(30);
    t.module.refuse = (bytes) => bytes === v2.toString();
    await t.loader.load(signed('v1', V1));
    const r = await t.loader.load(signed('v2', v2));
    assert.ok(!r.ok);
    assert.equal(r.stage, 'apply');
    assert.equal(r.code, 'APPLY');
    assert.match(r.error, /bot-management cannot take v2/);
    assert.deepEqual(r.state, { state: 'stale', version: 'v1' });
    assert.deepEqual(t.module.applied, [
      { version: 'v1', bytes: V1.toString() },
      { version: 'v2', bytes: v2.toString() },
      { version: 'v1', bytes: V1.toString() },
    ], 'the module saw v2, then the last known-good bytes');
    assert.equal(t.files.map.get(SERVED)?.toString(), V1.toString());
    const lkg = await t.loader.lastKnownGood.read('features');
    assert.ok(lkg.kind === 'ok' && lkg.copy.version === 'v1', 'the refused version did not become last known-good');
  });

  it('fail-open writes the safe default and hands it to the module', async () => {
    const t = setup();
    const failOpen = policy({ on_load_failure: 'fail-open', safe_default: '[]' });
    await t.loader.load(signed('v1', V1, failOpen));
    const r = await t.loader.load(signed('v2', BAD, failOpen));
    assert.ok(!r.ok && r.stage === 'validate' && r.code === 'MAX_ENTRIES');
    assert.deepEqual(r.state, { state: 'fail-open' });
    assert.equal(t.files.map.get(SERVED)?.toString(), '[]');
    assert.deepEqual(t.module.applied.at(-1), { version: 'safe-default', bytes: '[]' });
    assert.deepEqual(t.module.stopped, []);
  });

  it('fail-closed removes the file and stops the module', async () => {
    const t = setup();
    const failClosed = policy({ on_load_failure: 'fail-closed', reason: 'blocks unauthenticated traffic' });
    await t.loader.load(signed('v1', V1, failClosed));
    const r = await t.loader.load(signed('v2', BAD, failClosed));
    assert.deepEqual(r.state, { state: 'fail-closed' });
    assert.deepEqual(t.module.stopped, ['bot-management']);
    assert.equal(t.files.map.has(SERVED), false);
    assert.deepEqual(t.module.applied.map((a) => a.version), ['v1'], 'the module was handed nothing after v1');
    assert.ok(t.errors.some((e) => /FAILED CLOSED.*blocks unauthenticated traffic/.test(e)));
  });

  it('a corrupt last known-good is never served: the module falls to its on_load_failure', async () => {
    const t = setup();
    const stale = policy({ on_load_failure: 'serve-stale', safe_default: '[]' });
    await t.loader.load(signed('v1', V1, stale));
    t.files.map.set(LKG_BYTES, Buffer.from('[{"name":"tampered","weight":1}]'));
    const r = await t.loader.load(signed('v2', BAD, stale));
    assert.deepEqual(r.state, { state: 'fail-open' }, 'the safe default, not the tampered copy');
    assert.equal(t.files.map.get(SERVED)?.toString(), '[]');
    assert.ok(!t.module.applied.some((a) => a.bytes.includes('tampered')), 'the module never saw the tampered bytes');
    assert.ok(t.errors.some((e) => /fails its checksum/.test(e)));
  });

  it('a missing last known-good after a failed apply leaves the module empty, its file removed', async () => {
    const t = setup();
    const v2 = features(30);
    t.module.refuse = (bytes) => bytes === v2.toString();
    await t.loader.load(signed('v1', V1));
    t.files.map.delete(LKG_BYTES);
    t.files.map.delete(LKG_META);
    const r = await t.loader.load(signed('v2', v2));
    assert.ok(!r.ok && r.stage === 'apply');
    assert.deepEqual(r.state, { state: 'empty' });
    assert.equal(t.files.map.has(SERVED), false, 'the half-taken v2 is not left in place');
    assert.deepEqual(t.module.applied.map((a) => a.version), ['v1', 'v2'], 'no last known-good to hand back');
  });
});
