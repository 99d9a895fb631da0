import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseScenario } from '../src/index.ts';
import { root, yamlBlocks } from './helpers.ts';

/**
 * Every ```yaml block in docs/scenarios.md must parse as a scenario, or be preceded by
 * `<!-- expect-error: CODE -->` comments naming exactly the codes it fails with.
 */
describe('docs/scenarios.md', () => {
  const blocks = yamlBlocks(readFileSync(new URL('docs/scenarios.md', root), 'utf8'));

  it('has yaml examples, including error examples', () => {
    assert.ok(blocks.length >= 3, `found ${blocks.length}`);
    assert.ok(blocks.some((b) => b.errors.length > 0));
  });

  for (const b of blocks) {
    it(`the yaml example at line ${b.line} ${b.errors.length > 0 ? `fails with ${b.errors.join(', ')}` : 'parses'}`, () => {
      const r = parseScenario(b.text, { file: `docs/scenarios.md#L${b.line}` });
      if (b.errors.length > 0) {
        assert.equal(r.ok, false, 'expected the block to fail');
        if (r.ok) return;
        assert.deepEqual([...new Set(r.errors.map((e) => e.code))].sort(), [...new Set(b.errors)].sort(), r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
        for (const e of r.errors) assert.ok(e.line !== undefined && e.col !== undefined, `${e.code} has no position`);
        return;
      }
      assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
    });
  }
});

describe('examples/scenarios', () => {
  const dir = new URL('examples/scenarios/', root);
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    it(`${f} parses without errors or warnings`, () => {
      const r = parseScenario(readFileSync(new URL(f, dir), 'utf8'), { file: f });
      assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
      assert.deepEqual(r.warnings.map((w) => w.code), []);
      assert.equal(`${r.value.name}.yaml`, f, 'the file is named after its scenario');
    });
  }
});
