import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseScrapeMapping } from '@failsmall/core';
import { blocks } from '../../core/test/markdown-blocks.ts';
import { EXIT } from '../../cli/src/exit-codes.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

function agentCli(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['packages/cli/bin/failsmall.js', 'agent', '--node-id', 'docs', '--token', 't', '--allow-unsigned', ...args], { cwd: new URL('.', root), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the scrape docs', () => {
  it('every scrape mapping shown in docs/agent.md, and the example file, parses', () => {
    const section = read('docs/agent.md').split('## Signals from any application')[1] ?? '';
    const yamls = blocks(section).filter((b) => b.lang === 'yaml');
    assert.ok(yamls.length > 0, 'the section shows a mapping');
    for (const b of [...yamls.map((y) => y.text), read('examples/scrape-app/scrape-map.yaml')]) {
      const r = parseScrapeMapping(b, { file: 'doc' });
      assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
      assert.ok(Object.keys(r.value.modules).length > 0);
    }
  });

  it('a bad --scrape exits 2 and a mapping file with errors exits 1 with file:line:col, as docs/cli.md says', () => {
    const cli = read('docs/cli.md');
    assert.match(cli, /exits 2; a mapping\s+file with errors prints each as `file:line:col: message \[CODE\]` and exits 1/);
    const badUrl = agentCli(['--modules', 'web-proxy', '--scrape', 'web-proxy=localhost:9101']);
    assert.equal(badUrl.code, EXIT.USAGE, badUrl.out);
    assert.match(badUrl.out, /is not an http\(s\) URL/);
    const otherModule = agentCli(['--modules', 'web-proxy', '--scrape', 'web-prxy=http://127.0.0.1:9101/metrics']);
    assert.equal(otherModule.code, EXIT.USAGE, otherModule.out);
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-scrape-docs-'));
    const map = join(dir, 'map.yaml');
    writeFileSync(map, 'modules:\n  web-proxy:\n    errors: http_requests_total{code=5xx}\n');
    const badMap = agentCli(['--modules', 'web-proxy', '--scrape', 'web-proxy=http://127.0.0.1:9101/metrics', '--scrape-map', map]);
    assert.equal(badMap.code, EXIT.INVALID, badMap.out);
    rmSync(dir, { recursive: true, force: true });
    assert.match(badMap.out, new RegExp(`${map.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:38: .*must be quoted.* \\[BAD_SELECTOR\\]`));
  });
});
