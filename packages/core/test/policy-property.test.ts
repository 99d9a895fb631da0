import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { BUILTIN_METRICS, parseDeclarations, POLICY_ERROR_CODES } from '../src/policy/index.ts';
import type { Result } from '../src/errors/index.ts';
import type { Declarations } from '../src/policy/index.ts';
import { KNOWN } from './policy-helpers.ts';

const KNOWN_CODES = new Set<string>(POLICY_ERROR_CODES.filter((c) => c !== 'INTERNAL_ERROR'));

/** The contract for any input: a result, never an exception, and only documented error codes. */
function assertWellFormed(r: Result<Declarations>): void {
  if (r.ok) return;
  assert.ok(r.errors.length > 0, 'a failed parse names at least one error');
  for (const e of r.errors) {
    assert.ok(KNOWN_CODES.has(e.code), `undocumented code ${e.code}: ${e.message}`);
    assert.equal(typeof e.message, 'string');
    if (e.line !== undefined) assert.ok(e.line >= 1 && (e.col ?? 0) >= 1);
  }
}

const VOCABULARY = ['modules', 'artifacts', 'policies', 'deployment', 'stages', 'name', 'scope', 'health_gates', 'module', 'metric', 'threshold',
  'min', 'max', 'window', 'bake', 'interval', 'kind', 'on_load_failure', 'reason', 'validation', 'max_entries', 'artifact', 'policy', 'nodes', 'where',
  'rollback_on_failure', 'approval', 'x-any', 'proxy', 'bot-management', 'p'];

const yamlishValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('1% nodes', '100%', 'all', '60s', 'fail-closed', 'serve-stale', 'feature-file', 'error_rate', 'load_success_rate', 'custom:x', 'proxy', 'manual', ''),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.string(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...VOCABULARY), fc.string()), tie('value'), { maxKeys: 5 }),
  ),
})).value;

const yamlishTokens = fc.array(fc.constantFrom(
  'modules:', 'policies:', 'stages:', '\n', '  ', '    ', '- ', '&a ', '*a', '*b', '&b ', '<<: ', '{', '}', '[', ']', ', ', ': ',
  'scope: 1%', 'name: x', 'health_gates: ', 'module: proxy', 'metric: error_rate', 'threshold: 0.5', '"', "'", '#', '? ', '!!str ', '---\n', '|\n', 'x-a: ',
), { maxLength: 60 }).map((t) => t.join(''));

describe('parseDeclarations on arbitrary input', () => {
  it('never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => assertWellFormed(parseDeclarations(text))), { numRuns: 500 });
  });

  it('never throws on YAML-shaped token soup', () => {
    fc.assert(fc.property(yamlishTokens, (text) => assertWellFormed(parseDeclarations(text, { known: KNOWN }))), { numRuns: 1000 });
  });

  it('never throws on arbitrary JSON-like values written as YAML', () => {
    fc.assert(fc.property(yamlishValue, (value) => assertWellFormed(parseDeclarations(stringify(value), { known: KNOWN }))), { numRuns: 500 });
  });

  it('never throws on arbitrary values under every top-level key', () => {
    const top = fc.record({ modules: yamlishValue, artifacts: yamlishValue, policies: yamlishValue, deployment: yamlishValue }, { requiredKeys: [] });
    fc.assert(fc.property(top, (value) => assertWellFormed(parseDeclarations(stringify(value), { known: KNOWN }))), { numRuns: 500 });
  });

  it('never throws on single-character edits of a valid file', () => {
    const text = readFileSync(new URL('../../../examples/failsmall.yaml', import.meta.url), 'utf8');
    const edit = fc.tuple(fc.nat({ max: text.length - 1 }), fc.nat({ max: 8 }), fc.constantFrom('', ' ', ':', '-', '*', '&', '{', '[', '\n', 'x', '%', '"'));
    fc.assert(fc.property(edit, ([at, cut, insert]) => assertWellFormed(parseDeclarations(text.slice(0, at) + insert + text.slice(at + cut)))), { numRuns: 500 });
  });
});

interface GeneratedGate { module: string; metric: string; threshold: number; windowS: number }
interface GeneratedStage { percent: number; bakeS: number; gates: GeneratedGate[] }

const gateArb: fc.Arbitrary<GeneratedGate> = fc.record({
  module: fc.constantFrom('bot-management', 'proxy'),
  metric: fc.constantFrom(...BUILTIN_METRICS.map((m) => m.name)),
  threshold: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
  windowS: fc.integer({ min: 1, max: 600 }),
});

const policyArb = fc.array(
  fc.record({
    percent: fc.integer({ min: 1, max: 1000 }).map((n) => n / 10),
    bakeS: fc.integer({ min: 10, max: 3600 }),
    gates: fc.uniqueArray(gateArb, { maxLength: 4, selector: (g) => `${g.module}/${g.metric}` }),
  }),
  { minLength: 1, maxLength: 5 },
).map((stages) => {
  // Stages must not shrink: sort by size, as a careful author would.
  const sorted = [...stages].sort((a, b) => a.percent - b.percent);
  return sorted;
});

describe('parseDeclarations on generated valid policies', () => {
  it('parses every well-formed policy and keeps its stages, scopes, gates and timings', () => {
    fc.assert(fc.property(policyArb, (stages: GeneratedStage[]) => {
      const doc = {
        policies: {
          generated: {
            interval: '10s',
            stages: stages.map((s, i) => ({
              name: `stage-${i}`,
              scope: `${s.percent}% nodes`,
              bake: `${s.bakeS}s`,
              health_gates: s.gates.map((g) => ({ module: g.module, metric: g.metric, threshold: g.threshold, window: `${g.windowS}s` })),
            })),
          },
        },
      };
      const r = parseDeclarations(stringify(doc), { known: KNOWN });
      assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
      const parsed = r.value.policies[0]?.stages ?? [];
      assert.deepEqual(parsed.map((s) => [s.name, s.scope.type === 'percent' ? s.scope.percent : -1, s.bake_ms, s.max_extension_ms]),
        stages.map((s, i) => [`stage-${i}`, s.percent, s.bakeS * 1000, s.bakeS * 2000]));
      assert.deepEqual(parsed.map((s) => s.health_gates.map((g) => [g.module, g.metric, g.threshold, g.window_ms])),
        stages.map((s) => s.gates.map((g) => [g.module, g.metric, g.threshold, g.windowS * 1000])));
    }), { numRuns: 300 });
  });
});
