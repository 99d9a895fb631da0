import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkDependencyChange, MANIFEST_ERROR_CODES, MANIFEST_LIMITS, MANIFEST_WARNING_CODES, parseManifest } from '../src/dependency-gate/index.ts';
import { blocks, resolveShown, shownCommands } from './markdown-blocks.ts';

/**
 * docs/dependency-gate.md runs: every ```yaml block is a manifest that parses (or fails with
 * exactly the codes its `<!-- expect-error -->` comments name), every command is real, and
 * the limits and sentences it quotes are the ones the code has.
 */
const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const markdown = read('docs/dependency-gate.md');
const all = blocks(markdown);

describe('docs/dependency-gate.md', () => {
  const yaml = all.filter((b) => b.lang === 'yaml');

  for (const block of yaml) {
    it(`the yaml example at line ${block.line} ${block.errors.length > 0 ? `fails with ${block.errors.join(', ')}` : 'parses cleanly'}`, () => {
      const r = parseManifest(block.text, { file: `docs/dependency-gate.md#L${block.line}` });
      if (block.errors.length === 0) {
        assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
        return;
      }
      assert.equal(r.ok, false, 'expected the block to fail');
      if (!r.ok) assert.deepEqual([...new Set(r.errors.map((e) => e.code))].sort(), [...new Set(block.errors)].sort());
    });
  }

  it('shows examples/manifests/hard-dependency.yaml as it is', () => {
    const shown = yaml.find((b) => b.text.startsWith('# examples/manifests/hard-dependency.yaml'));
    assert.ok(shown);
    const file = parseManifest(read('examples/manifests/hard-dependency.yaml'));
    const doc = parseManifest(shown.text);
    assert.ok(file.ok && doc.ok);
    const edges = (m: typeof file.value) => m.depends_on.map(({ on, hard, fallback }) => ({ on, hard, fallback }));
    assert.deepEqual(edges(doc.value), edges(file.value));
  });

  it('documents every error and warning code, and the limits the code enforces', () => {
    for (const code of [...MANIFEST_ERROR_CODES, ...MANIFEST_WARNING_CODES]) assert.ok(markdown.includes(`| \`${code}\` |`), `${code} is not in a table`);
    assert.ok(markdown.includes(`| dependencies | ${MANIFEST_LIMITS.dependencies} |`));
    assert.ok(markdown.includes(`| a name | ${MANIFEST_LIMITS.name_chars} characters |`));
    assert.ok(markdown.includes(`| a fallback | ${MANIFEST_LIMITS.fallback_chars} characters |`));
    assert.ok(markdown.includes(`| the manifest as compact JSON | ${MANIFEST_LIMITS.json_bytes} bytes |`));
  });

  it('quotes the sentence the gate really gives', () => {
    const [finding] = checkDependencyChange(null, { depends_on: [{ on: 'bot-check', hard: true }] });
    assert.ok(finding && markdown.includes(`  bot-check (new-hard-dependency): ${finding.reason}\n`));
  });

  it('shows only real commands and flags in its sh blocks', () => {
    const commands = shownCommands(all);
    assert.ok(commands.length >= 4);
    for (const line of commands) {
      const { name, unknownFlags } = resolveShown(line);
      assert.notEqual(name, 'failsmall', `"${line}" names no command`);
      assert.deepEqual(unknownFlags, [], `"${line}" uses unknown flags`);
    }
  });
});
