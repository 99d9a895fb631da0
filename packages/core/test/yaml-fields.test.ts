/**
 * The one field reader every YAML parser reads its fields with: each typed read, good and bad,
 * with the code, the line and the column it reports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMap } from 'yaml';
import { FieldReader, sortErrors, YamlSource, type FailsmallError, type SourceEntry } from '../src/index.ts';

type Read = (f: FieldReader, e: SourceEntry) => unknown;

/** The source, the top-level entries and a field reader for `text`, which must load. */
function open(text: string): { src: YamlSource; entries: SourceEntry[]; f: FieldReader } {
  const loaded = YamlSource.load(text, 'f.yaml');
  assert.ok(loaded.ok);
  const src = loaded.source;
  const top = src.deref(loaded.root);
  assert.ok(isMap(top));
  return { src, entries: src.entries(top, ''), f: new FieldReader(src) };
}

/** Reads `key` of a one-line document `key: value` (the value starts at column 4 for key `k`). */
function readOne(value: string, read: Read): { value: unknown; errors: string[]; hints: (string | undefined)[] } {
  const { src, entries, f } = open(`k: ${value}\n`);
  const e = f.get(entries, 'k');
  assert.ok(e);
  const out = read(f, e);
  const errors = sortErrors(src.errors);
  return { value: out, errors: errors.map((x: FailsmallError) => `${x.file}:${x.line}:${x.col} ${x.code}`), hints: errors.map((x) => x.hint) };
}

const CASES: Array<{ read: string; fn: Read; good: Array<[string, unknown]>; bad: Array<[string, string]> }> = [
  { read: 'string', fn: (f, e) => f.string(e), good: [['hello', 'hello'], ['"60"', '60']], bad: [['60', 'WRONG_TYPE'], ['[a]', 'WRONG_TYPE']] },
  { read: 'scalarText', fn: (f, e) => f.scalarText(e), good: [['fl2', 'fl2'], ['42', '42'], ['true', 'true']], bad: [['{ a: 1 }', 'WRONG_TYPE']] },
  { read: 'scalarText nonEmpty', fn: (f, e) => f.scalarText(e, { nonEmpty: true, trim: true }), good: [['" x "', 'x']], bad: [['""', 'WRONG_TYPE']] },
  { read: 'strings', fn: (f, e) => f.strings(e, 'e.g. [ a ]'), good: [['[ a, b ]', ['a', 'b']], ['[]', []]], bad: [['a', 'WRONG_TYPE'], ['{ a: 1 }', 'WRONG_TYPE']] },
  { read: 'number', fn: (f, e) => f.number(e, { min: 0, max: 1 }), good: [['0.5', 0.5], ['0', 0], ['1', 1]], bad: [['"50%"', 'WRONG_TYPE'], ['1.5', 'BAD_VALUE'], ['-1', 'BAD_VALUE'], ['.inf', 'BAD_VALUE']] },
  { read: 'number integer', fn: (f, e) => f.number(e, { min: 1, integer: true }), good: [['3', 3]], bad: [['0', 'BAD_VALUE'], ['2.5', 'BAD_VALUE'], ['three', 'WRONG_TYPE']] },
  { read: 'number rangeCode', fn: (f, e) => f.number(e, { rangeCode: 'BAD_THRESHOLD' }), good: [['-3', -3]], bad: [['.nan', 'BAD_THRESHOLD']] },
  { read: 'ratio (percent)', fn: (f, e) => f.ratio(e), good: [['0.3', 0.3], ['"30%"', 0.3], ['0', 0]], bad: [['"130%"', 'BAD_VALUE'], ['x', 'WRONG_TYPE']] },
  { read: 'ratio exclusiveMin', fn: (f, e) => f.ratio(e, { exclusiveMin: true, rangeCode: 'BAD_DISTRIBUTION' }), good: [['1', 1]], bad: [['0', 'BAD_DISTRIBUTION']] },
  { read: 'boolean', fn: (f, e) => f.boolean(e), good: [['true', true], ['false', false]], bad: [['yes', 'WRONG_TYPE'], ['1', 'WRONG_TYPE']] },
  { read: 'duration', fn: (f, e) => f.duration(e), good: [['60s', 60_000], ['1h30m', 5_400_000], ['500ms', 500]], bad: [['60', 'BAD_DURATION'], ['soon', 'BAD_DURATION'], ['[1]', 'BAD_DURATION'], ['0s', 'BAD_DURATION']] },
  { read: 'duration zeroOk', fn: (f, e) => f.duration(e, { zeroOk: true }), good: [['0', 0], ['0s', 0], ['5m', 300_000]], bad: [['5', 'BAD_DURATION']] },
  { read: 'oneOf (enum)', fn: (f, e) => f.oneOf(e, ['pause', 'rollback']), good: [['pause', 'pause']], bad: [['rollbak', 'BAD_ENUM'], ['[a]', 'BAD_ENUM']] },
  { read: 'map', fn: (f, e) => (f.map(e) ? 'map' : undefined), good: [['{ a: 1 }', 'map']], bad: [['a', 'WRONG_TYPE'], ['[a]', 'WRONG_TYPE']] },
];

describe('FieldReader: one typed read per kind of field', () => {
  for (const c of CASES) {
    it(`${c.read}: returns good values and reports bad ones at the value's line and column`, () => {
      for (const [text, want] of c.good) {
        const r = readOne(text, c.fn);
        assert.deepEqual(r.errors, [], `${c.read} ${text}`);
        assert.deepEqual(r.value, want, `${c.read} ${text}`);
      }
      for (const [text, code] of c.bad) {
        const r = readOne(text, c.fn);
        assert.equal(r.value, undefined, `${c.read} ${text}`);
        assert.deepEqual(r.errors, [`f.yaml:1:4 ${code}`], `${c.read} ${text}`);
      }
    });
  }

  it('points at the key when the value is empty, and hints at the fix', () => {
    const r = readOne('', (f, e) => f.duration(e));
    assert.deepEqual(r.errors, ['f.yaml:1:1 BAD_DURATION']);
    assert.equal(readOne('60', (f, e) => f.duration(e)).hints[0], 'write "60s" or "60ms": a bare number could mean either');
    assert.equal(readOne('rollbak', (f, e) => f.oneOf(e, ['pause', 'rollback'])).hints[0], 'did you mean "rollback"?');
    assert.equal(readOne('yes', (f, e) => f.boolean(e)).hints[0], 'write true or false (YAML 1.2: yes/no are strings)');
    assert.equal(readOne('"99.9%"', (f, e) => f.number(e)).hints[0], 'write a ratio: 0.9990000000000001 for 99.9%');
  });

  it('reports a missing key at its owner, and an unresolved alias only once (at load)', () => {
    const { src, entries, f } = open('a: { b: 1 }\nc: *nope\n');
    const a = f.get(entries, 'a');
    const map = a ? f.map(a) : undefined;
    assert.ok(a && map);
    const inner = src.entries(map, 'a');
    assert.equal(f.require(inner, 'x', a.keyNode, 'a', 'e.g. x: 1'), undefined);
    const c = f.get(entries, 'c');
    assert.ok(c);
    assert.equal(f.string(c), undefined);
    assert.deepEqual(sortErrors(src.errors).map((e) => `${e.line}:${e.col} ${e.code} ${e.path ?? ''}`), ['1:1 MISSING_KEY a', '2:4 ALIAS_UNDEFINED ']);
  });
});

describe('sortErrors', () => {
  it('orders by line then column, positionless first, and drops exact repeats unless asked to keep them', () => {
    const e = (code: string, line?: number, col?: number, message = 'm'): FailsmallError => ({ code, message, ...(line !== undefined ? { line } : {}), ...(col !== undefined ? { col } : {}) });
    const errors = [e('B', 2, 5), e('A', 2, 1), e('C'), e('B', 2, 5), e('B', 2, 5, 'other'), e('D', 1, 9)];
    assert.deepEqual(sortErrors(errors).map((x) => `${x.code}@${x.line ?? '-'}:${x.col ?? '-'} ${x.message}`), ['C@-:- m', 'D@1:9 m', 'A@2:1 m', 'B@2:5 m', 'B@2:5 other']);
    assert.equal(sortErrors(errors, true).length, 5);
  });
});
