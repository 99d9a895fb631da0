import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDeclarations } from '../src/policy/index.ts';
import type { Declarations } from '../src/policy/index.ts';

/**
 * Every ```yaml block in docs/policy.md must parse cleanly (no errors, no warnings), or be
 * preceded by HTML comments that say what it produces:
 *   <!-- expect-error: CODE -->      the block fails with this code (one comment per code it produces)
 *   <!-- expect-warning: CODE -->    the block parses and warns with this code
 *   <!-- with: examples/demo.yaml --> names in the block resolve against that file's declarations
 */
const root = new URL('../../../', import.meta.url);
const markdown = readFileSync(new URL('docs/policy.md', root), 'utf8');

interface Block { readonly line: number; readonly text: string; readonly errors: string[]; readonly warnings: string[]; readonly with: string[] }

function yamlBlocks(md: string): Block[] {
  const lines = md.split('\n');
  const blocks: Block[] = [];
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^<!--.*-->\s*$/.test(line.trim())) {
      comments.push(line.trim());
      continue;
    }
    if (line.trim() === '```yaml') {
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end]?.trim() !== '```') end++;
      const directive = (name: string): string[] => comments.flatMap((c) => {
        const m = new RegExp(`^<!--\\s*${name}:\\s*(\\S+)\\s*-->$`).exec(c);
        return m?.[1] !== undefined ? [m[1]] : [];
      });
      blocks.push({ line: start, text: `${lines.slice(start, end).join('\n')}\n`, errors: directive('expect-error'), warnings: directive('expect-warning'), with: directive('with') });
      i = end;
    }
    if (line.trim() !== '') comments = [];
  }
  return blocks;
}

function knownFrom(files: readonly string[]): Partial<Declarations> {
  const known = { modules: [] as Declarations['modules'][number][], artifacts: [] as Declarations['artifacts'][number][], policies: [] as Declarations['policies'][number][] };
  for (const file of files) {
    const r = parseDeclarations(readFileSync(new URL(file, root), 'utf8'), { file });
    assert.ok(r.ok, `${file} must parse to be used with <!-- with: -->`);
    known.modules.push(...r.value.modules);
    known.artifacts.push(...r.value.artifacts);
    known.policies.push(...r.value.policies);
  }
  return known;
}

describe('docs/policy.md', () => {
  const blocks = yamlBlocks(markdown);

  it('has yaml examples, including error examples', () => {
    assert.ok(blocks.length >= 10, `found ${blocks.length} blocks`);
    assert.ok(blocks.some((b) => b.errors.length > 0));
  });

  for (const block of blocks) {
    const what = block.errors.length > 0 ? `fails with ${block.errors.join(', ')}` : block.warnings.length > 0 ? `warns ${block.warnings.join(', ')}` : 'parses cleanly';
    it(`the yaml example at line ${block.line} ${what}`, () => {
      const r = parseDeclarations(block.text, { file: `docs/policy.md#L${block.line}`, known: knownFrom(block.with) });
      if (block.errors.length > 0) {
        assert.equal(r.ok, false, 'expected the block to fail');
        if (r.ok) return;
        assert.deepEqual([...new Set(r.errors.map((e) => e.code))].sort(), [...new Set(block.errors)].sort(), 'the block must fail with exactly the codes it names');
        for (const e of r.errors) assert.ok(e.code === 'FILE_TOO_LARGE' || (e.line !== undefined && e.col !== undefined), `${e.code} has no position`);
        return;
      }
      assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
      assert.deepEqual([...new Set(r.warnings.map((w) => w.code))].sort(), [...block.warnings].sort());
    });
  }

  it('documents every error and warning code in its tables', async () => {
    const { POLICY_ERROR_CODES, POLICY_WARNING_CODES } = await import('../src/policy/index.ts');
    for (const code of [...POLICY_ERROR_CODES, ...POLICY_WARNING_CODES]) assert.ok(markdown.includes(`| \`${code}\` |`), `${code} is not in a table`);
  });
});
