import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formatReport, simulate } from '../src/index.ts';
import { root, shipped } from './helpers.ts';

/**
 * The tables docs/scenarios.md shows for the shipped scenarios, and the README's excerpt, are
 * what `failsmall simulate` prints today: a change to the node core, the engine or the
 * simulator that moves a figure must update the docs with it.
 */
const doc = readFileSync(new URL('docs/scenarios.md', root), 'utf8');

/** Each ``` block of `md` that starts with a report's header line. */
function tables(md: string): { name: string; text: string; line: number }[] {
  const out: { name: string; text: string; line: number }[] = [];
  const re = /^```\n(scenario ([a-z0-9-]+) · [^\n]*\n[\s\S]*?)\n```$/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) out.push({ name: m[2] ?? '', text: m[1] ?? '', line: md.slice(0, m.index).split('\n').length + 1 });
  return out;
}

const cache = new Map<string, string>();
function printed(name: string): string {
  let text = cache.get(name);
  if (text === undefined) cache.set(name, text = formatReport(simulate(shipped(name))));
  return text;
}

describe('the simulator tables in the docs', () => {
  const found = tables(doc);
  it('docs/scenarios.md shows a table for every shipped scenario', () => {
    assert.ok(found.length >= 8, `found ${found.length}`);
  });
  for (const t of found) {
    it(`docs/scenarios.md line ${t.line}: ${t.name} is what failsmall simulate prints`, () => {
      assert.equal(t.text, printed(t.name));
    });
  }

  it('the README\'s excerpt of the 18 November table is current', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const excerpt = /^```\n( +global-push +staged +staged-safe-loader\n[\s\S]*?)\n```$/m.exec(readme)?.[1];
    assert.ok(excerpt, 'the README shows an excerpt');
    const lines = new Set(printed('nov18-oversized-feature-file').split('\n'));
    for (const line of excerpt.split('\n')) assert.ok(lines.has(line), `not in today's table: ${line}`);
  });
});
