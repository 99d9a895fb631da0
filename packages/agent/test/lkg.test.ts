import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LastKnownGood } from '../src/lkg.ts';

const copy = (version: string, text: string) => ({ version, sha256: createHash('sha256').update(text).digest('hex'), content: Buffer.from(text) });

describe('last known-good copies on disk', () => {
  it('keeps "X" and "X.json" apart: no artifact name can overwrite another\'s metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-lkg-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const lkg = new LastKnownGood(dir);
    await lkg.save('X', copy('v1', 'the content of X'));
    await lkg.save('X.json', copy('v7', '{"version":"v666","sha256":"0"}'));
    await lkg.save('X.meta', copy('v3', 'meta'));
    await lkg.save('X.bytes', copy('v4', 'bytes'));
    const read = async (a: string) => { const r = await lkg.read(a); return r.kind === 'ok' ? `${r.copy.version}:${r.copy.content.toString()}` : r.kind; };
    assert.deepEqual(await Promise.all(['X', 'X.json', 'X.meta', 'X.bytes'].map(read)), ['v1:the content of X', 'v7:{"version":"v666","sha256":"0"}', 'v3:meta', 'v4:bytes']);
  });

  it('still reads a copy an agent before the upgrade left in the earlier layout, and checks its sha256', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-lkg-legacy-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, '.lkg'));
    const c = copy('v2', '["old layout"]');
    writeFileSync(join(dir, '.lkg', 'features'), c.content);
    writeFileSync(join(dir, '.lkg', 'features.json'), JSON.stringify({ version: c.version, sha256: c.sha256 }));
    const r = await new LastKnownGood(dir).read('features');
    assert.equal(r.kind === 'ok' && r.copy.version, 'v2');
    writeFileSync(join(dir, '.lkg', 'features'), '["tampered"]');
    const bad = await new LastKnownGood(dir).read('features');
    assert.equal(bad.kind, 'corrupt');
  });
});
