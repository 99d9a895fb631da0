import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateTriageInput, loadTriageScenarios } from '../src/index.ts';
import { root } from './helpers.ts';
import { oldFamiliesHash } from './triage-helpers.ts';

/**
 * The scenario language grew (issue 13) without moving the shipped set: every scenario of
 * examples/triage/ generates, for its own seed and seed + 1000, the same input for the
 * families it had before, to the bit. The digests were computed by the generator of commit
 * 2ead28f (before the new keys) and are never regenerated from the current code.
 */
const expected = JSON.parse(readFileSync(new URL('packages/sim/test/fixtures/triage-input-hashes.json', root), 'utf8')) as Record<string, string>;
const loaded = loadTriageScenarios(fileURLToPath(new URL('examples/triage/', root)));

describe('the shipped triage scenarios generate what they generated before the language grew', () => {
  // Scenarios added later are not pinned: only those that existed at 2ead28f are.
  const names = [...new Set(Object.keys(expected).map((k) => k.split('#')[0] ?? ''))];
  assert.ok(names.length >= 50);
  for (const name of names) {
    it(name, () => {
      const parsed = loaded.find((l) => basename(l.file, '.yaml') === name)?.parsed;
      assert.ok(parsed?.ok, `${name} is missing or does not parse`);
      for (const seed of [parsed.value.seed, parsed.value.seed + 1000]) {
        assert.equal(oldFamiliesHash(generateTriageInput(parsed.value, { seed })), expected[`${name}#${seed}`], `${name}#${seed}`);
      }
    });
  }
});
