import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../src/index.ts';

/**
 * A scripted control plane (a unit test of the agent's own logic: what it does with odd
 * answers). The real control plane is in agent.test.ts and the end-to-end suites.
 */
function fakeControlPlane(desired: () => unknown, content: () => { status: number; body: string }): Promise<{ url: string; server: Server; loads: unknown[] }> {
  const loads: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += String(d); });
    req.on('end', () => {
      const url = req.url ?? '';
      if (url.includes('/desired')) {
        // Like the real one: an agent that says it has this state waits, then gets a 304.
        if (req.headers['if-none-match'] === '"same"') { setTimeout(() => { res.writeHead(304); res.end(); }, 100); return; }
        res.writeHead(200, { 'content-type': 'application/json', etag: '"same"' }); res.end(JSON.stringify(desired())); return;
      }
      if (url.includes('/content')) { const c = content(); res.writeHead(c.status); res.end(c.body); return; }
      if (url.endsWith('/loads')) loads.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, loads })));
}

const until = async (what: string, check: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!check()) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 50)); }
};

describe('the agent with a control plane that answers oddly', () => {
  it('refuses artifact or version names that would be paths, and writes nothing outside its directory', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'failsmall-outside-'));
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-hostile-'));
    after(() => { rmSync(outside, { recursive: true, force: true }); rmSync(dir, { recursive: true, force: true }); });
    const evil = `../../../..${outside}/pwned`;
    const cp = await fakeControlPlane(() => ({ node: 'n', artifacts: [{ artifact: 'features', module: 'm', version: evil, sha256: 'x', signature: null }] }), () => ({ status: 200, body: 'evil' }));
    after(() => cp.server.close());
    const warnings: string[] = [];
    const agent = new Agent({ server: cp.url, token: 't', nodeId: 'n', labels: {}, modules: [], dir, allowUnsigned: true, pollWaitMs: 200, log: { info() {}, warn: (m) => warnings.push(m) } });
    await agent.start();
    await until('the refusal to be logged', () => warnings.some((w) => /skipped 1 unusable entry of the desired state \(artifact features: version .*: the name starts with "\."\)/.test(w)));
    await agent.stop();
    assert.equal(existsSync(join(outside, 'pwned')), false);
    assert.deepEqual(agent.serving(), {});
  });

  it('skips one entry whose name no file may have (129 characters) and acts on the others: a bad name never blocks a rollback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-long-name-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const sha = createHash('sha256').update(GOOD).digest('hex');
    const long = `a${'b'.repeat(128)}`;
    const cp = await fakeControlPlane(() => ({ node: 'n', artifacts: [
      { artifact: long, module: 'm', version: 'v1', sha256: sha, signature: null },
      { artifact: 'features', module: 'm', version: 'v1', sha256: sha, signature: null },
      { artifact: 'features', module: 'm', version: 'v9', sha256: sha, signature: null },
    ] }), () => ({ status: 200, body: GOOD }));
    after(() => cp.server.close());
    const warnings: string[] = [];
    const agent = new Agent({ server: cp.url, token: 't', nodeId: 'n', labels: {}, modules: [], dir, allowUnsigned: true, pollWaitMs: 200, log: { info() {}, warn: (m) => warnings.push(m) } });
    await agent.start();
    await until('features v1 to be served', () => agent.serving().features === 'v1');
    const registry = await agent.metrics.registry();
    await agent.stop();
    assert.deepEqual(Object.keys(agent.serving()), ['features'], 'the long name was never written');
    const skipped = warnings.find((w) => w.startsWith('skipped 2 unusable entries'));
    assert.ok(skipped, warnings.join('\n'));
    assert.match(skipped, /the name has 129 characters, more than 128/);
    assert.match(skipped, /artifact features is listed twice/);
    assert.doesNotMatch(warnings.join('\n'), /unreachable/, 'an unusable entry is not reported as an unreachable control plane');
    assert.match(await registry.metrics(), /failsmall_agent_desired_entries_refused_total\{node="n"\} [2-9]/);
  });

  it('says the control plane sent an unusable answer, not that it is unreachable, when the desired state is not JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-not-json-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const cp = await fakeControlPlane(() => 'not a desired state', () => ({ status: 404, body: '' }));
    after(() => cp.server.close());
    const warnings: string[] = [];
    const agent = new Agent({ server: cp.url, token: 't', nodeId: 'n', labels: {}, modules: [], dir, allowUnsigned: true, pollWaitMs: 200, log: { info() {}, warn: (m) => warnings.push(m) } });
    await agent.start();
    await until('the warning', () => warnings.some((w) => w.includes('control plane sent an unusable answer (the desired state has no artifacts list)')));
    await agent.stop();
  });

  /**
   * An agent whose control plane wants v1 (`["ok"]`) and answers its first download with
   * `first`, every later one with the right bytes. Resolves once v1 is served, with the count.
   */
  async function secondDownloadServes(name: string, first: { status: number; body: string }): Promise<{ dir: string; calls: number }> {
    const dir = mkdtempSync(join(tmpdir(), `failsmall-${name}-`));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const sha = createHash('sha256').update(GOOD).digest('hex');
    let calls = 0;
    const cp = await fakeControlPlane(
      () => ({ node: 'n', artifacts: [{ artifact: 'features', module: 'm', version: 'v1', sha256: sha, signature: null }] }),
      () => (++calls === 1 ? first : { status: 200, body: GOOD }),
    );
    after(() => cp.server.close());
    const agent = new Agent({ server: cp.url, token: 't', nodeId: 'n', labels: {}, modules: [], dir, allowUnsigned: true, pollWaitMs: 200 });
    await agent.start();
    await until(`v1 to be served after the first download (${first.status} ${first.body})`, () => agent.serving().features === 'v1', 30_000);
    await agent.stop();
    assert.equal(readFileSync(join(dir, 'features'), 'utf8'), GOOD);
    return { dir, calls };
  }
  const GOOD = '["ok"]';

  it('tries a version again after its download failed, instead of waiting for the next change', async () => {
    const { calls } = await secondDownloadServes('retry', { status: 500, body: 'busy' });
    assert.ok(calls >= 2);
  });

  it('downloads a version again when its cached copy fails its sha256, instead of loading the same bad bytes forever', async () => {
    const { dir, calls } = await secondDownloadServes('recache', { status: 200, body: '["o' }); // the first answer is cut short
    assert.equal(readFileSync(join(dir, '.versions', 'features@v1'), 'utf8'), GOOD, 'the cache holds the good bytes now');
    assert.ok(calls >= 2, 'downloaded again');
  });

  it('drops a load report the control plane refuses as invalid, and keeps polling', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-refused-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    let desiredCalls = 0;
    const server = createServer((req, res) => {
      const url = req.url ?? '';
      req.resume();
      req.on('end', () => {
        if (url.endsWith('/loads')) { res.writeHead(400, { 'content-type': 'application/json' }); res.end('{"error":{"code":"BAD_REQUEST"}}'); return; }
        if (url.includes('/desired')) { desiredCalls++; res.writeHead(200, { etag: '"e"' }); res.end(JSON.stringify({ artifacts: [{ artifact: 'features', module: 'm', version: 'v1', sha256: 'f'.repeat(64), signature: null }] })); return; }
        if (url.includes('/content')) { res.writeHead(200); res.end('not matching'); return; }
        res.writeHead(200); res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    after(() => server.close());
    const agent = new Agent({ server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, token: 't', nodeId: 'n', labels: {}, modules: [], dir, allowUnsigned: true, pollWaitMs: 200, log: { info() {}, warn() {} } });
    await agent.start();
    await until('several polls despite the refused report', () => desiredCalls >= 3);
    await agent.stop();
  });

  it('falls open to the safe default configured on the node, not the one the control plane sends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-safe-default-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const cp = await fakeControlPlane(
      () => ({ node: 'n', artifacts: [{ artifact: 'rules', module: 'waf', version: 'v1', sha256: 'f'.repeat(64), signature: null, on_failure: { on_load_failure: 'fail-open', safe_default: 'ALLOW-EVERYTHING-FROM-THE-NETWORK' } }] }),
      () => ({ status: 200, body: 'content that does not match its sha256' }),
    );
    after(() => cp.server.close());
    const agent = new Agent({ server: cp.url, token: 't', nodeId: 'n', labels: {}, modules: [], dir, allowUnsigned: true, pollWaitMs: 200, safeDefaults: { waf: 'log-only' } });
    await agent.start();
    await until('the module to fail open', () => agent.states().rules === 'fail-open');
    await agent.stop();
    assert.equal(readFileSync(join(dir, 'rules'), 'utf8'), 'log-only');
  });
});
