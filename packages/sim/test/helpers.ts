import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { FailsmallError, Result } from '@failsmall/core';
import { parseScenario, type Scenario } from '../src/index.ts';

export const root = new URL('../../../', import.meta.url);

/** A shipped scenario, parsed; optionally shrunk (fewer nodes are passed to simulate instead). */
export function shipped(name: string, patch: Partial<Scenario> = {}): Scenario {
  const file = `examples/scenarios/${name}.yaml`;
  const r = parseScenario(readFileSync(new URL(file, root), 'utf8'), { file });
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
  return { ...r.value, ...patch };
}

/** A ```yaml block of a doc: where it starts, its text, the codes its `<!-- expect-error: CODE -->` comments say it fails with, and all its comments. */
export interface Block { readonly line: number; readonly text: string; readonly errors: string[]; readonly comments: string[] }

export function yamlBlocks(md: string): Block[] {
  const lines = md.split('\n');
  const blocks: Block[] = [];
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (/^<!--.*-->$/.test(line)) { comments.push(line); continue; }
    if (line === '```yaml') {
      let end = i + 1;
      while (end < lines.length && lines[end]?.trim() !== '```') end++;
      const errors = comments.flatMap((c) => /^<!--\s*expect-error:\s*(\S+)\s*-->$/.exec(c)?.slice(1, 2) ?? []);
      blocks.push({ line: i + 2, text: `${lines.slice(i + 1, end).join('\n')}\n`, errors, comments });
      i = end;
    }
    if (line !== '') comments = [];
  }
  return blocks;
}

/** `base` with the first line containing `find` changed, parsed: its errors (it must fail) and the changed line's number. */
export function breakLine<T>(base: string, find: string, replace: string, parse: (text: string) => Result<T>): { errors: readonly FailsmallError[]; line: number } {
  const lines = base.split('\n');
  const i = lines.findIndex((l) => l.includes(find));
  assert.ok(i >= 0, `no line with ${find}`);
  lines[i] = (lines[i] ?? '').replace(find, replace);
  const r = parse(lines.join('\n'));
  assert.equal(r.ok, false, 'expected errors');
  return { errors: r.ok ? [] : r.errors, line: i + 1 };
}

/** The one error of `errors`, which must have `code` and name `file`. */
export function onlyError(errors: readonly FailsmallError[], code: string, file: string): FailsmallError {
  assert.deepEqual(errors.map((e) => e.code), [code], errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
  const e = errors[0];
  assert.ok(e);
  assert.equal(e.file, file);
  return e;
}
