/**
 * docs/architecture.md is a code map: it is only useful while every path and name in it is
 * real. This checks its links, its `packages/...` paths, that every folder under packages/*\/src
 * is listed, that the names it quotes beside a file are in that file, and that the imports
 * follow its table of what each package may import.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DOC = 'docs/architecture.md';
const text = readFileSync(join(ROOT, DOC), 'utf8');

/** Every file (or, with `dirs`, every folder) under `dir`, relative to the repository root. */
function walk(dir: string, dirs = false): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (dirs) out.push(p);
      out.push(...walk(p, dirs));
    } else if (!dirs) out.push(p);
  }
  return out;
}

const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((p) => existsSync(join(ROOT, 'packages', p, 'src')));

/** Relative link targets of a piece of markdown, as repository paths (anchors dropped). */
function links(md: string): string[] {
  return [...md.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#'))
    .map((t) => normalize(join(dirname(DOC), t.split('#')[0] ?? '')));
}

/** Every `packages/...` path the doc names, in a link or in text, without a trailing slash. */
function packagePaths(md: string): string[] {
  const out = new Set<string>();
  for (const l of links(md)) if (l.startsWith('packages/')) out.add(l.replace(/\/$/, ''));
  for (const m of md.matchAll(/(?<![\w./-])packages\/[\w./-]+/g)) {
    const p = m[0].replace(/[.,;:]+$/, '').replace(/\/$/, '');
    if (!p.includes('*')) out.add(p);
  }
  return [...out];
}

/** The doc cut into blocks a reader takes in at once: a table row, a list item, a paragraph. */
function blocks(md: string): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  const flush = () => { if (cur.length) out.push(cur.join('\n')); cur = []; };
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) { flush(); out.push(line); continue; }
    if (line.trim() === '' || /^\d+\. /.test(line) || line.startsWith('#')) flush();
    if (line.trim() !== '') cur.push(line);
  }
  flush();
  return out;
}

/** TypeScript, and TypeScript with JSX (the dashboard's components). */
const isSource = (f: string) => f.endsWith('.ts') || f.endsWith('.tsx');

/** The source text of a linked file, or of every .ts file under a linked folder. */
function sourceOf(path: string): string {
  const abs = join(ROOT, path);
  if (statSync(abs).isDirectory()) return walk(path).filter(isSource).map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
  return readFileSync(abs, 'utf8');
}

describe('docs/architecture.md maps the code as it is', () => {
  it('every relative link points at something that exists', () => {
    const missing = links(text).filter((l) => !existsSync(join(ROOT, l)));
    assert.deepEqual(missing, [], `${DOC} links to paths that do not exist`);
  });

  it('every packages/... path it mentions exists', () => {
    const named = packagePaths(text);
    assert.ok(named.length > 50, 'the doc names too few paths to be a code map');
    assert.deepEqual(named.filter((p) => !existsSync(join(ROOT, p))), [], `${DOC} names paths that do not exist`);
  });

  it('every folder under packages/*/src appears in it', () => {
    const named = new Set(packagePaths(text));
    const folders = PACKAGES.flatMap((p) => [join('packages', p, 'src'), ...walk(join('packages', p, 'src'), true)]);
    assert.deepEqual(folders.filter((f) => !named.has(f)), [], `${DOC} leaves out these folders`);
  });

  it('every name it quotes beside a source file is in that file', () => {
    const problems: string[] = [];
    for (const block of blocks(text)) {
      const sources = links(block).filter((l) => l.startsWith('packages/') && existsSync(join(ROOT, l)));
      if (sources.length === 0) continue;
      const code = sources.map(sourceOf).join('\n');
      for (const m of block.matchAll(/`([^`\s]+)`/g)) {
        const name = (m[1] ?? '').replace(/\(\)$/, '');
        if (!/^#?[A-Za-z_$][\w$]*(\.#?[A-Za-z_$][\w$]*)*$/.test(name) || /\.(md|ts|js|yaml)$/.test(name)) continue;
        for (const part of name.split('.')) {
          const word = part.startsWith('#') ? new RegExp(`${part}\\b`) : new RegExp(`(?<![\\w$])${part.replace(/\$/g, '\\$')}(?![\\w$])`);
          if (!word.test(code)) problems.push(`\`${name}\` is not in ${sources.join(', ')}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the imports under packages/*/src follow its table of what each package may import', () => {
    // The table's rows: | [core](../packages/core/src/) | … | nothing |
    const allowed = new Map<string, Set<string>>();
    for (const m of text.matchAll(/^\| \[(\w+)\]\(\.\.\/packages\/\1\/src\/\) \|.*\| ([^|]+) \|$/gm)) {
      const rule = (m[2] ?? '').trim();
      allowed.set(m[1] ?? '', new Set(rule === 'nothing' ? [] : rule === 'all' ? PACKAGES : rule.split(/,\s*/)));
    }
    assert.deepEqual([...allowed.keys()].sort(), [...PACKAGES].sort(), 'the table must have one row per package');
    const violations: string[] = [];
    for (const pkg of PACKAGES) {
      for (const file of walk(join('packages', pkg, 'src')).filter(isSource)) {
        for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
          const spec = m[1] ?? '';
          let target: string | undefined;
          if (spec.startsWith('@failsmall/')) target = spec.split('/')[1];
          else if (spec.startsWith('.')) {
            const to = relative(join(ROOT, 'packages'), join(ROOT, dirname(file), spec));
            target = to.startsWith('..') ? '(outside packages)' : to.split('/')[0];
          }
          if (target !== undefined && target !== pkg && !allowed.get(pkg)?.has(target)) violations.push(`${file} imports ${spec}`);
        }
      }
    }
    assert.deepEqual(violations, []);
  });
});
