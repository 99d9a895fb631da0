/**
 * Structure-aware generators for the fuzz targets: start from a valid document (a parsed
 * example), change a few of its fields (wrong types, edge numbers, NaN-like strings, deep
 * nesting, long and unicode strings, missing, renamed, unknown and prototype-named keys),
 * render it as block YAML, flow YAML or JSON, then optionally damage the text (a duplicated
 * line makes a duplicate key, a cut makes a truncated file). Everything is driven by
 * fast-check values, so a failure shrinks to a small change of a small seed.
 */
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Values that have broken parsers before: NaN-likes, numbers at the edges, YAML's implicit types, odd unicode. */
export const EDGE_VALUES: readonly Json[] = [
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, -1, 1.5, 1e308, -1e308, 5e-324, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e21, 0.1,
  'NaN', 'nan', '.nan', '.NaN', '.inf', '-.inf', 'Infinity', '-Infinity', '1e999', '-1e999', '1e-400', '0x10', '0o17', '0b1', '1_000', '+1', '-0', '00', '1.', '.5',
  '', ' ', '\t', '\n', 'null', 'Null', '~', 'true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n',
  '10%', '101%', '0%', '-5%', '1e3%', '100%', '0.0001%', 'NaN%', 'Infinity%', '1% nodes', '0 nodes', '1e9 nodes', 'all', 'all nodes where', 'all where a=b',
  '10% nodes where x=', '10% nodes where =y', '10% nodes where a!=b,c=d', '0s', '-1s', '1e999s', '99999999999999999999d', '9007199254740993ms', 'ms', '5 minutes', '1h30m', '1.5s',
  '2026-01-01T00:00:00Z', '2026-02-30T25:61:61Z', '9999-12-31T23:59:59.999Z', '0000-00-00T00:00:00Z', '-000001-01-01T00:00:00Z',
  '\u0000', '\u0007', '\u007f', '\u202e', '\ufeff', '\u2028', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'é', 'e\u0301', '\ud800', '\udfff', '日本語', 'Ｆｕｌｌｗｉｄｔｈ', '👩‍👩‍👧',
  '../../etc/passwd', '/abs/path', 'a/b', 'a b', 'a,b', 'a.json', '.', '..', '-', '_', 'a'.repeat(64), 'a'.repeat(65), 'a'.repeat(128), 'a'.repeat(129), 'x'.repeat(5000),
  '%', '{{', '}}', '{{cohort_selector}}', '{{nope}}', '{', '}', '[', ']', '*', '&', '!', '|', '>', '<<', '#', '---', '...', '? ', ': ', '- ', '"', "'", '`', '\\',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
  [], {}, [null], [[]], [{}], { '': null }, { __proto__x: 1 },
];

export const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', '<<', '?', '-', '0', '1e3', 'null', 'true', '日本', 'a'.repeat(300)];

/** Tokens for the "soup" generator and for text damage: the characters YAML gives meaning to. */
export const YAML_TOKENS = [
  ':', ': ', '- ', '-', ' ', '  ', '    ', '\n', '\n  ', '\n- ', '\t', '\r\n', '\r', '{', '}', '[', ']', ',', '"', "'", '|', '|-', '>', '>+', '#', '# c\n', '---\n', '...\n',
  '? ', '&a ', '*a', '&b ', '*b', '<<: *a', '!!str ', '!!int ', '!!binary ', '!!map ', '!!seq ', '!!set ', '!!omap ', '!!python/object ', '!custom ', '!<tag:x> ', '%YAML 1.2\n', '%TAG ! tag:x:\n',
  '@', '`', '%', '\\', '\u0000', '\ufeff', '\u2028', 'null', '~', '.nan', '.inf', '1e999', '0x1F', '0o17', '-0', 'true', 'yes', 'on', '""', "''", '[]', '{}',
];

/** One change to a document tree. `at` picks the node (modulo the number of nodes), the rest are its operands. */
export interface TreeMutation {
  readonly op: TreeOp;
  readonly at: number;
  readonly value: Json;
  readonly key: string;
  readonly n: number;
}
const TREE_OPS = ['replace', 'replace', 'replace', 'delete', 'delete', 'rename', 'add', 'wrap-array', 'wrap-object', 'unwrap', 'deep', 'long', 'stringify', 'dup-item', 'swap', 'empty', 'null', 'edge-number'] as const;
type TreeOp = (typeof TREE_OPS)[number];

export interface TextMutation {
  readonly op: 'dup-line' | 'del-line' | 'insert' | 'truncate' | 'replace-char' | 'indent' | 'swap-lines';
  readonly at: number;
  readonly token: string;
}

export type Rendering = 'block' | 'flow' | 'json';

/** What the seeds teach about a format: their keys (for renames and additions) and their values (for swaps). */
export interface SeedInfo {
  readonly trees: readonly Json[];
  readonly keys: readonly string[];
  readonly values: readonly Json[];
}

export function seedInfo(trees: readonly Json[]): SeedInfo {
  const keys = new Set<string>();
  const values: Json[] = [];
  const walk = (v: Json): void => {
    if (Array.isArray(v)) { for (const x of v) walk(x); return; }
    if (v !== null && typeof v === 'object') { for (const [k, x] of Object.entries(v)) { keys.add(k); walk(x); } return; }
    if (values.length < 2000) values.push(v);
  };
  for (const t of trees) walk(t);
  return { trees, keys: [...keys].sort(), values: values.length > 0 ? [...new Set(values)] : [null] };
}

/** Reads a YAML or JSON seed into a plain tree (aliases expanded). */
export function treeOf(text: string): Json {
  return parseYaml(text, { maxAliasCount: 1000, uniqueKeys: false }) as Json;
}

/** A placeholder for `depth` nested lists: expanded in the text, not built as a tree (too deep to stringify). */
const DEEP = (depth: number): string => `FZDEEP${depth}X`;

export function keyArb(info: SeedInfo): fc.Arbitrary<string> {
  const near = info.keys.flatMap((k) => [`${k}s`, k.toUpperCase(), k.replace(/_/g, '-'), ` ${k}`, k.slice(0, -1), `${k}\u200b`]);
  return fc.oneof(
    { weight: 4, arbitrary: info.keys.length > 0 ? fc.constantFrom(...info.keys) : fc.constant('key') },
    { weight: 2, arbitrary: near.length > 0 ? fc.constantFrom(...near) : fc.constant('keys') },
    { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );
}

export function valueArb(info: SeedInfo): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...info.values) },
    { weight: 3, arbitrary: fc.constantFrom(...EDGE_VALUES) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 }) },
    // A deeply nested list, expanded when the document is rendered or sent (expandDeep).
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map(DEEP) },
  );
}

export function treeMutationArb(info: SeedInfo): fc.Arbitrary<TreeMutation> {
  return fc.record({
    op: fc.constantFrom(...TREE_OPS),
    at: fc.nat(),
    value: valueArb(info),
    key: keyArb(info),
    n: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 300 }) }, { weight: 1, arbitrary: fc.nat({ max: 200_000 }) }),
  });
}

export function textMutationArb(tokens: readonly string[] = YAML_TOKENS): fc.Arbitrary<TextMutation> {
  return fc.record({
    op: fc.constantFrom('dup-line', 'del-line', 'insert', 'truncate', 'replace-char', 'indent', 'swap-lines'),
    at: fc.nat(),
    token: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) }),
  });
}

/** Own property, even for `__proto__`: the generated document must really carry the key. */
function setKey(o: Record<string, Json>, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

interface Slot { readonly parent: Json[] | Record<string, Json> | null; readonly key: string | number }

function slots(root: Json): Slot[] {
  const out: Slot[] = [{ parent: null, key: 0 }];
  const walk = (v: Json): void => {
    if (out.length > 5000) return;
    if (Array.isArray(v)) v.forEach((x, i) => { out.push({ parent: v, key: i }); walk(x); });
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push({ parent: v, key: k }); walk(x); }
  };
  walk(root);
  return out;
}

const EDGE_NUMBERS = EDGE_VALUES.filter((v): v is number => typeof v === 'number');

function clone(v: Json): Json {
  if (Array.isArray(v)) return v.map(clone);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) setKey(o, k, clone(x));
    return o;
  }
  return v;
}

/** Applies tree mutations to a copy of `seed`; the root itself can be replaced. */
export function mutateTree(seed: Json, mutations: readonly TreeMutation[], info: SeedInfo): Json {
  const box: Json[] = [clone(seed)];
  for (const m of mutations) {
    const all = slots(box[0] ?? null);
    const s = all[m.at % all.length] as Slot;
    const parent: Json[] | Record<string, Json> = s.parent ?? box;
    const key = s.parent === null ? 0 : s.key;
    const get = (): Json => (Array.isArray(parent) ? parent[key as number] : parent[key as string]) ?? null;
    const set = (v: Json): void => { if (Array.isArray(parent)) parent[key as number] = v; else setKey(parent, key as string, v); };
    const old = get();
    switch (m.op) {
      case 'replace': set(m.value); break;
      case 'delete':
        if (s.parent === null) box[0] = null;
        else if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 'rename':
        if (s.parent !== null && !Array.isArray(parent)) { delete parent[key as string]; setKey(parent, m.key, old); }
        else set({ [m.key]: old } as Record<string, Json>);
        break;
      case 'add':
        if (Array.isArray(old)) old.push(m.value);
        else if (old !== null && typeof old === 'object') setKey(old, m.key, m.value);
        else if (!Array.isArray(parent)) setKey(parent, m.key, m.value);
        else parent.push(m.value);
        break;
      case 'wrap-array': set([old]); break;
      case 'wrap-object': { const o: Record<string, Json> = {}; setKey(o, m.key, old); set(o); break; }
      case 'unwrap':
        if (Array.isArray(old)) set(old[0] ?? null);
        else if (old !== null && typeof old === 'object') set(Object.values(old)[0] ?? null);
        break;
      case 'deep': set(DEEP(m.n)); break;
      case 'long': set(typeof old === 'string' && old.length > 0 ? old.repeat(Math.max(1, Math.floor(m.n / old.length))) : (m.n % 2 === 0 ? 'a' : '日').repeat(m.n)); break;
      case 'stringify': set(old === null || typeof old !== 'object' ? String(old) : JSON.stringify(old)); break;
      case 'dup-item':
        if (Array.isArray(old) && old.length > 0) old.push(clone(old[m.n % old.length] as Json));
        else if (Array.isArray(parent)) parent.push(clone(old));
        break;
      case 'swap': set(clone((info.values[m.n % info.values.length] ?? null) as Json)); break;
      case 'empty': set((['', [], {}] as Json[])[m.n % 3] ?? ''); break;
      case 'null': set(null); break;
      case 'edge-number': set(EDGE_NUMBERS[m.n % EDGE_NUMBERS.length] ?? Number.NaN); break;
    }
  }
  return box[0] ?? null;
}

/** Renders a tree as text, then expands the deep-nesting placeholders in place. */
export function render(tree: Json, how: Rendering): string {
  let text: string;
  if (how === 'json') text = JSON.stringify(tree) ?? 'null';
  else text = stringifyYaml(tree, { lineWidth: 0, aliasDuplicateObjects: false, ...(how === 'flow' ? { collectionStyle: 'flow' as const } : {}) });
  return expandDeep(text);
}

/** At most this many characters of nesting are added to one document (a placeholder copied many times would not fit in a string). */
const DEEP_BUDGET = 2 * 1024 * 1024;

/** Replaces each deep-nesting placeholder (quoted or not) by that many nested empty lists, within DEEP_BUDGET; the rest by []. */
export function expandDeep(text: string): string {
  let budget = DEEP_BUDGET;
  return text.replace(/"?FZDEEP(\d+)X"?/g, (_m, d: string) => {
    const n = Math.min(Number(d), Math.floor(budget / 2));
    budget -= 2 * n;
    return `${'['.repeat(Math.max(1, n))}${']'.repeat(Math.max(1, n))}`;
  });
}

export function mutateText(text: string, mutations: readonly TextMutation[]): string {
  let t = text;
  for (const m of mutations) {
    const lines = t.split('\n');
    const li = m.at % Math.max(1, lines.length);
    const pos = m.at % (t.length + 1);
    switch (m.op) {
      case 'dup-line': lines.splice(li, 0, lines[li] ?? ''); t = lines.join('\n'); break;
      case 'del-line': lines.splice(li, 1); t = lines.join('\n'); break;
      case 'insert': t = t.slice(0, pos) + m.token + t.slice(pos); break;
      case 'truncate': t = t.slice(0, pos); break;
      case 'replace-char': t = t.slice(0, pos) + m.token + t.slice(pos + 1); break;
      case 'indent': lines[li] = `${m.token.includes('\t') ? '\t' : ' '}${lines[li] ?? ''}`; t = lines.join('\n'); break;
      case 'swap-lines': { const a = lines[li] ?? ''; const j = (li + 1) % lines.length; lines[li] = lines[j] ?? ''; lines[j] = a; t = lines.join('\n'); break; }
    }
  }
  return t;
}

/**
 * Documents built from the seeds: pick one, change up to four fields, render it, damage the
 * text up to twice; or damage a seed's own text. Shrinks towards the first seed, unchanged, in block YAML.
 */
export function mutatedDocument(seedTexts: readonly string[], opts: { renderings?: readonly Rendering[]; tokens?: readonly string[] } = {}): fc.Arbitrary<string> {
  const trees = readableTrees(seedTexts);
  const info = seedInfo(trees);
  const viaTree = fc.tuple(
    fc.nat({ max: Math.max(0, trees.length - 1) }),
    fc.array(treeMutationArb(info), { minLength: 0, maxLength: 4 }),
    fc.constantFrom(...(opts.renderings ?? ['block', 'flow', 'json'] as const)),
    fc.array(textMutationArb(opts.tokens), { maxLength: 2 }),
  ).map(([i, tm, how, xm]) => mutateText(render(mutateTree(trees[i] ?? null, tm, info), how), xm));
  // The seed's own text, damaged: keeps its comments, anchors, aliases and layout.
  const viaText = fc.tuple(fc.nat({ max: seedTexts.length - 1 }), fc.array(textMutationArb(opts.tokens), { minLength: 1, maxLength: 3 }))
    .map(([i, xm]) => mutateText(seedTexts[i] ?? '', xm));
  return trees.length === 0 ? viaText : fc.oneof({ weight: 4, arbitrary: viaTree }, { weight: 1, arbitrary: viaText });
}

/** The seeds that read as plain trees (an invalid seed, e.g. one with an undefined alias, is only damaged as text). */
export function readableTrees(seedTexts: readonly string[]): Json[] {
  return seedTexts.flatMap((t) => { try { return [treeOf(t)]; } catch { return []; } });
}

/** Mutated JSON values (API bodies): the same tree changes, without rendering. */
export function mutatedValue(seeds: readonly Json[]): fc.Arbitrary<Json> {
  const info = seedInfo(seeds);
  return fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(treeMutationArb(info), { minLength: 1, maxLength: 3 }))
    .map(([i, tm]) => mutateTree(seeds[i] ?? null, tm, info));
}

/** Random sequences of YAML's meaningful tokens and the format's own keys and values: text no seed would produce. */
export function tokenSoup(info: SeedInfo, tokens: readonly string[] = YAML_TOKENS): fc.Arbitrary<string> {
  const words = [...info.keys.map((k) => `${k}:`), ...info.keys, ...info.values.filter((v): v is string => typeof v === 'string').slice(0, 200)];
  return fc.array(fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...tokens) },
    { weight: 2, arbitrary: words.length > 0 ? fc.constantFrom(...words) : fc.constant('a') },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  ), { maxLength: 80 }).map((parts) => parts.join(''));
}

/** Every input family for a text parser: seeds mutated, token soup, arbitrary strings and JSON values, and the rare huge one. */
export function documentArb(seedTexts: readonly string[], o: { maxRepeat?: number } = {}): fc.Arbitrary<string> {
  const info = seedInfo(readableTrees(seedTexts));
  return fc.oneof(
    { weight: 10, arbitrary: mutatedDocument(seedTexts) },
    { weight: 3, arbitrary: tokenSoup(info) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => stringifyYaml(v)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...YAML_TOKENS, 'a: ', '- ', '[', '{"a":'), fc.integer({ min: 1000, max: Math.max(1000, o.maxRepeat ?? 400_000) })).map(([t, n]) => t.repeat(Math.ceil(n / Math.max(1, t.length)))) },
  );
}
