import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AUDIT_ERROR_CODES, AUDIT_WARNING_CODES, auditDependencies, FATE_LABELS, parseEstate, SECURITY_GOALS } from '../src/audit/index.ts';
import { blocks, resolveShown, shownCommands } from './markdown-blocks.ts';

/**
 * Every ```yaml block in docs/audit.md must parse with parseEstate, or be preceded by
 * `<!-- expect-error: CODE -->` comments naming exactly the codes it fails with.
 */
const root = new URL('../../../', import.meta.url);
const markdown = readFileSync(new URL('docs/audit.md', root), 'utf8');

describe('docs/audit.md', () => {
  const all = blocks(markdown);
  const yaml = all.filter((b) => b.lang === 'yaml');

  it('has yaml examples, including error examples', () => {
    assert.ok(yaml.length >= 4, `found ${yaml.length}`);
    assert.ok(yaml.some((b) => b.errors.length > 0));
    assert.ok(yaml.some((b) => b.errors.length === 0));
  });

  for (const block of yaml) {
    it(`the yaml example at line ${block.line} ${block.errors.length > 0 ? `fails with ${block.errors.join(', ')}` : 'parses cleanly'}`, () => {
      const r = parseEstate(block.text, { file: `docs/audit.md#L${block.line}` });
      if (block.errors.length === 0) {
        assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
        assert.deepEqual(r.warnings, []);
        auditDependencies(r.value.graph, r.value.modules);
        return;
      }
      assert.equal(r.ok, false, 'expected the block to fail');
      if (r.ok) return;
      assert.deepEqual([...new Set(r.errors.map((e) => e.code))].sort(), [...new Set(block.errors)].sort());
      for (const e of r.errors) assert.ok(e.line !== undefined && e.col !== undefined, `${e.code} has no position`);
    });
  }

  it('documents every error and warning code, every usual fate label and every security goal', () => {
    for (const code of [...AUDIT_ERROR_CODES, ...AUDIT_WARNING_CODES]) assert.ok(markdown.includes(`| \`${code}\` |`), `${code} is not in a table`);
    for (const label of FATE_LABELS) assert.ok(markdown.includes(`| \`${label}\` |`), `fate label ${label} is not in the table`);
    for (const { goal, stems } of SECURITY_GOALS) {
      const row = markdown.split('\n').find((l) => l.startsWith(`| ${goal} |`));
      assert.ok(row, `goal ${goal} has no row`);
      for (const stem of stems) assert.ok(row.includes(stem), `stem "${stem}" of ${goal} is not documented`);
    }
  });

  it('shows only real commands and flags in its sh blocks', () => {
    const commands = shownCommands(all);
    assert.ok(commands.length >= 5);
    for (const line of commands) {
      const { name, unknownFlags } = resolveShown(line);
      assert.equal(name, 'deps', `"${line}" names no audit command`);
      assert.deepEqual(unknownFlags, [], `"${line}" uses unknown flags`);
    }
  });

  it('shows the table the CLI prints for examples/estate.yaml, exactly', () => {
    const shown = all.find((b) => b.lang === 'text' && b.text.startsWith('examples/estate.yaml:'));
    assert.ok(shown, 'no text block with the estate table');
    const r = spawnSync(process.execPath, ['packages/cli/bin/failsmall.js', 'audit', 'deps', 'examples/estate.yaml'], { cwd: fileURLToPath(root), encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, shown.text);
  });
});
