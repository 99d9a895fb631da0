/**
 * Every YAML parser reports codes from the one list (YAML_ERROR_CODES), and only codes its own
 * documented list names: checked on a seeded slice of the parser fuzzer's documents (mutated
 * examples, token soup, hostile text) for each parser.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isYamlErrorCode, YAML_ERROR_CODES } from '@failsmall/core';
import { PARSERS } from './fuzz/parsers.ts';
import { documentArb } from './fuzz/mutate.ts';

const root = new URL('../', import.meta.url);
const RUNS = 150;

describe('YAML error codes: one list for every parser', () => {
  it('has each code once', () => {
    assert.equal(new Set(YAML_ERROR_CODES).size, YAML_ERROR_CODES.length);
  });

  for (const [i, spec] of PARSERS.entries()) {
    it(`${spec.name}: its documented codes are in the one list, and every code it reports is in its own list`, () => {
      const listed = spec.errorCodes ?? [];
      assert.ok(listed.length > 0, `${spec.name} has no list of error codes`);
      for (const code of listed) assert.ok(isYamlErrorCode(code), `${spec.name} lists ${code}, which is not in YAML_ERROR_CODES`);
      const seeds = [...spec.valid, ...(spec.extraSeeds ?? [])].map((f) => readFileSync(new URL(f, root), 'utf8'));
      const seen = new Set<string>();
      fc.assert(fc.property(documentArb(seeds, { maxRepeat: 5000 }), (text) => {
        const r = spec.parse(text, { file: 'f.yaml' });
        if (r.ok) return;
        for (const e of r.errors) {
          seen.add(e.code);
          assert.ok(isYamlErrorCode(e.code), `${spec.name} reported ${e.code}, which is not in YAML_ERROR_CODES: ${e.message}`);
          assert.ok(listed.includes(e.code), `${spec.name} reported ${e.code}, which its list does not name: ${e.message}`);
        }
      }), { seed: 1207 + i, numRuns: RUNS });
      assert.ok(seen.size >= 2, `${spec.name}: the documents reached only ${[...seen].join(', ')}`);
    });
  }
});
