import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSigningKeys, parsePrivateKey, parsePublicKeys, signVersion, type ModuleDecl } from '@failsmall/core';
import { SafeLoader, type LoadRequest, type SafeLoaderOptions } from '../src/index.ts';
import { features, keys, otherKey, privateKey, publicKey, sha, signed } from './signed-requests.ts';

function withDir(): { dir: string; loader(opts?: Partial<SafeLoaderOptions>): SafeLoader; file(): string | undefined } {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-safe-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    loader: (opts = {}) => new SafeLoader({ dir, publicKey, reloadTimeoutMs: 2000, validatorTimeoutMs: 2000, ...opts }),
    file: () => (existsSync(join(dir, 'features')) ? readFileSync(join(dir, 'features'), 'utf8') : undefined),
  };
}

describe('the safe loader never applies a bad version, and the last known-good keeps serving', () => {
  const t = withDir();
  const loader = t.loader();
  const good = features(60);
  before(async () => {
    const r = await loader.load(signed('v1', good));
    assert.equal(r.ok, true);
  });

  const cases: [string, () => LoadRequest, string, string][] = [
    ['truncated in transit', () => ({ ...signed('v2', features(61)), content: features(61).subarray(0, 100) }), 'verify', 'SHA256'],
    ['oversized (over max_entries, as on 18 November)', () => signed('v3', features(240)), 'validate', 'MAX_ENTRIES'],
    ['over max_bytes', () => signed('v4', features(150), { validation: { max_bytes: 1000 } }), 'validate', 'MAX_BYTES'],
    ['malformed (not JSON)', () => signed('v5', Buffer.from('[{"name": "f0", "weight": 0.1},')), 'validate', 'NOT_JSON'],
    ['malformed (fails the JSON Schema)', () => signed('v6', Buffer.from('[{"name": 7}]')), 'validate', 'SCHEMA'],
    ['unsigned', () => ({ ...signed('v7', features(62)), signature: null }), 'verify', 'SIGNATURE'],
    ['signed by another key', () => { const c = features(63); return { ...signed('v8', c), signature: signVersion(otherKey, 'features', 'v8', sha(c)) }; }, 'verify', 'SIGNATURE'],
    ['signed for another version label (replayed)', () => { const c = features(64); return { ...signed('v9', c), signature: signVersion(privateKey, 'features', 'v1', sha(c)) }; }, 'verify', 'SIGNATURE'],
  ];
  for (const [name, request, stage, code] of cases) {
    it(`refuses a version that is ${name}, at ${stage}`, async () => {
      const r = await loader.load(request());
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.equal(r.stage, stage);
      assert.equal(r.code, code);
      assert.deepEqual(r.state, { state: 'stale', version: 'v1' });
      assert.equal(t.file(), good.toString(), 'the served file is still v1');
    });
  }

  it('leaves no trace of the refused versions on disk: only the served file and its last known-good', async () => {
    assert.deepEqual(readdirSync(t.dir).sort(), ['.lkg', 'features']);
    assert.deepEqual(readdirSync(join(t.dir, '.lkg')).sort(), ['features.bytes', 'features.meta.json']);
  });

  it('refuses every version when it has no public key and unsigned versions are not allowed', async () => {
    const r = await t.loader({ publicKey: undefined }).load(signed('v10', features(65)));
    assert.ok(!r.ok && r.code === 'SIGNATURE' && /no artifact public key/.test(r.error));
  });
});

describe('on_load_failure is per module and explicit', () => {
  const bad = () => signed('v2', features(240));
  const decl = (d: Pick<ModuleDecl, 'on_load_failure' | 'safe_default' | 'reason'>) => ({ onFailure: d });

  it('fail-open applies the declared safe default', async () => {
    const t = withDir();
    const applied: string[] = [];
    const loader = t.loader({ callbacks: { 'bot-management': (path) => { applied.push(readFileSync(path, 'utf8')); } } });
    await loader.load(signed('v1', features(10), decl({ on_load_failure: 'fail-open', safe_default: '[]' })));
    const r = await loader.load({ ...bad(), ...decl({ on_load_failure: 'fail-open', safe_default: '[]' }) });
    assert.deepEqual(r.state, { state: 'fail-open' });
    assert.equal(t.file(), '[]');
    assert.equal(applied.at(-1), '[]', 'the module was handed its safe default');
  });

  it('fail-closed stops the module, runs its stop command, and serves nothing', async () => {
    const t = withDir();
    const marker = join(t.dir, 'stopped');
    const loader = t.loader({ stopCommands: { 'bot-management': `touch ${marker}` } });
    await loader.load(signed('v1', features(10)));
    const r = await loader.load({ ...bad(), ...decl({ on_load_failure: 'fail-closed', reason: 'blocks unauthenticated traffic' }) });
    assert.deepEqual(r.state, { state: 'fail-closed' });
    assert.equal(t.file(), undefined);
    assert.equal(existsSync(marker), true, 'the stop command ran');
  });

  it('serve-stale with no last known-good serves its safe default when it has one, else nothing', async () => {
    const t = withDir();
    const r = await t.loader().load({ ...bad(), ...decl({ on_load_failure: 'serve-stale' }) });
    assert.deepEqual(r.state, { state: 'empty' });
    assert.equal(t.file(), undefined);
  });
});

describe('the last known-good on disk', () => {
  it('is detected by checksum when corrupted, and the module falls back to its declared policy', async () => {
    const t = withDir();
    const loader = t.loader();
    await loader.load(signed('v1', features(10), { onFailure: { on_load_failure: 'serve-stale', safe_default: '[]' } }));
    writeFileSync(join(t.dir, '.lkg', 'features.bytes'), '[{"name":"tampered","weight":1}]');
    const read = await loader.lastKnownGood.read('features');
    assert.equal(read.kind, 'corrupt');
    const r = await loader.load(signed('v2', features(240), { onFailure: { on_load_failure: 'serve-stale', safe_default: '[]' } }));
    assert.deepEqual(r.state, { state: 'fail-open' }, 'no trustworthy copy: the safe default, not the tampered file');
    assert.equal(t.file(), '[]');
  });

  it('survives a new loader (an agent restart)', async () => {
    const t = withDir();
    await t.loader().load(signed('v1', features(10)));
    const read = await t.loader().lastKnownGood.read('features');
    assert.ok(read.kind === 'ok' && read.copy.version === 'v1');
  });
});

describe('applying', () => {
  it('a reload command that fails puts the last known-good back and hands it to the module again', async () => {
    const t = withDir();
    const log = join(t.dir, 'reloads');
    const loader = t.loader({ reload: { 'bot-management': `echo "$FAILSMALL_VERSION" >> ${log}; grep -q '"f150"' "$FAILSMALL_FILE" && { echo "panic: unwrap on too many features" >&2; exit 3; } || exit 0` } });
    await loader.load(signed('v1', features(60)));
    const r = await loader.load(signed('v2', features(180)));
    assert.ok(!r.ok && r.stage === 'apply' && /exited 3: panic: unwrap on too many features/.test(r.error));
    assert.deepEqual(r.state, { state: 'stale', version: 'v1' });
    assert.equal(t.file(), features(60).toString());
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['v1', 'v2', 'v1']);
  });

  it('a reload URL: 2xx applies, an error status is an apply failure', async () => {
    let status = 200;
    const bodies: unknown[] = [];
    const srv = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += String(d); });
      req.on('end', () => { bodies.push(JSON.parse(body)); res.writeHead(status); res.end(status === 200 ? 'ok' : 'cannot parse features'); });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    after(() => srv.close());
    const port = (srv.address() as { port: number }).port;
    const t = withDir();
    const loader = t.loader({ reloadUrls: { 'bot-management': `http://127.0.0.1:${port}/reload` } });
    assert.equal((await loader.load(signed('v1', features(5)))).ok, true);
    status = 500;
    const r = await loader.load(signed('v2', features(6)));
    assert.ok(!r.ok && /reload URL answered HTTP 500: cannot parse features/.test(r.error));
    assert.deepEqual(bodies[0], { artifact: 'features', version: 'v1', file: join(t.dir, 'features') });
  });

  it('a validator command that hangs is killed at its timeout, and the version is refused', async () => {
    const t = withDir();
    const loader = t.loader({ validators: { features: 'sleep 30' }, validatorTimeoutMs: 200 });
    const r = await loader.load(signed('v1', features(5)));
    assert.ok(!r.ok && r.code === 'COMMAND' && /timed out after 200 ms and was killed/.test(r.error));
    assert.equal(t.file(), undefined);
  });

  it('a validator command sees the candidate on stdin and can refuse it', async () => {
    const t = withDir();
    const loader = t.loader({ validators: { features: `grep -q '"f3"' || { echo "f3 is required" >&2; exit 1; }` } });
    assert.equal((await loader.load(signed('v1', features(5)))).ok, true);
    const r = await loader.load(signed('v2', features(2)));
    assert.ok(!r.ok && /f3 is required/.test(r.error));
  });
});

describe('key rotation: a public key file with the old and the new key', () => {
  it('verifies versions signed by either, and only by those', async () => {
    const next = generateSigningKeys();
    const both = parsePublicKeys(`${keys.publicKey}${next.publicKey}`);
    assert.ok(both.ok && both.keys.length === 2);
    const t = withDir();
    const loader = t.loader({ publicKey: both.keys });
    const nextKey = parsePrivateKey(next.privateKey);
    assert.ok(nextKey.ok);
    assert.equal((await loader.load(signed('old', features(3)))).ok, true);
    const c = features(4);
    assert.equal((await loader.load({ ...signed('new', c), signature: signVersion(nextKey.key, 'features', 'new', sha(c)) })).ok, true);
    const d = features(5);
    const stranger = await loader.load({ ...signed('stranger', d), signature: signVersion(otherKey, 'features', 'stranger', sha(d)) });
    assert.equal(stranger.ok === false && stranger.code, 'SIGNATURE');
  });

  it('refuses a file with no key, a key of another type, or more than a rotation needs', () => {
    assert.equal(parsePublicKeys('not a key').ok, false);
    const many = Array.from({ length: 9 }, () => generateSigningKeys().publicKey).join('');
    const r = parsePublicKeys(many);
    assert.match(r.ok ? '' : r.message, /at most 8/);
  });
});
