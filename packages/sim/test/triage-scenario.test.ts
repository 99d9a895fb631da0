import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import type { FailsmallError, Result } from '@failsmall/core';
import { generateTriageInput, parseTriageScenario, TRIAGE_SCENARIO_ERROR_CODES, type TriageScenario } from '../src/index.ts';
import { breakLine, onlyError } from './helpers.ts';

const BASE = `name: small-bad-canary
label: { class: change-regression, target: r-1 }
seed: 7
duration: 20m
fleet: { nodes: 200 }
modules: [proxy, api]
dependencies:
  orders-db: { latency_ms: 8, used_by: [api] }
  stripe-api: { vendor: stripe, latency_ms: 200, used_by: [api] }
vendors:
  stripe: { components: [API] }
events:
  - at: 5m
    rollout: { id: r-1, artifact: api-server, module: api, kind: code, version: v2, from: v1 }
    stages: [ { after: 0s, share: 0.1 } ]
    errors: { modules: [api], ratio: 0.3 }
  - at: 6m
    status_page_down: { vendor: stripe }
`;

/** BASE with one line changed: the errors and the line's number. */
const broken = (find: string, replace: string) => breakLine(BASE, find, replace, (text) => parseTriageScenario(text, { file: 'bad.yaml' }));

function only(errors: readonly FailsmallError[], code: string): FailsmallError {
  const e = onlyError(errors, code, 'bad.yaml');
  assert.ok(e.line !== undefined && e.col !== undefined, 'has a position');
  return e;
}

describe('triage scenario files', () => {
  it('parse into plain data with the defaults filled in', () => {
    const r = parseTriageScenario(BASE, { file: 'ok.yaml' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
    const s = r.value;
    assert.deepEqual(s.label, { class: 'change-regression', target: 'r-1', also: [] });
    assert.equal(s.duration_ms, 20 * 60_000);
    assert.equal(s.step_ms, 10_000);
    assert.equal(s.start_ms, Date.parse('2026-01-01T00:00:00Z'));
    assert.deepEqual(s.events.map((e) => [e.type, e.at_ms]), [['rollout', 300_000], ['status_page_down', 360_000]]);
  });

  describe('errors point at file:line:col with a hint', () => {
    it('an unknown top-level key, with a did-you-mean', () => {
      const { errors, line } = broken('fleet:', 'flet:');
      assert.deepEqual(errors.map((e) => e.code).sort(), ['MISSING_KEY', 'UNKNOWN_KEY']);
      const e = errors.find((x) => x.code === 'UNKNOWN_KEY');
      assert.equal(e?.line, line);
      assert.equal(e?.col, 1);
      assert.match(e?.hint ?? '', /did you mean "fleet"/);
    });

    it('a class that does not exist', () => {
      const { errors, line } = broken('class: change-regression', 'class: dos');
      const e = only(errors, 'BAD_ENUM');
      assert.equal(e.line, line);
      assert.equal(e.col, 17);
      assert.match(e.hint ?? '', /did you mean "ddos"/);
    });

    it('a duration without a unit', () => {
      const { errors, line } = broken('duration: 20m', 'duration: 20');
      const e = only(errors, 'BAD_DURATION');
      assert.equal(e.line, line);
      assert.equal(e.col, 11);
    });

    it('an event with two types at once', () => {
      const { errors, line } = broken('    status_page_down: { vendor: stripe }', '    status_page_down: { vendor: stripe }\n    ddos: { rate: 5, source_entropy: 4, never_seen: 0.8 }');
      const e = only(errors, 'EVENT_TYPE');
      assert.equal(e.line, line + 1);
      assert.match(e.hint ?? '', /two things at once are two events/);
    });

    it('errors on a module that is not declared', () => {
      const { errors, line } = broken('errors: { modules: [api]', 'errors: { modules: [apl]');
      const e = only(errors, 'UNKNOWN_MODULE');
      assert.equal(e.line, line);
      assert.match(e.hint ?? '', /did you mean "api"/);
    });

    it('a label target the scenario does not declare', () => {
      const { errors, line } = broken('target: r-1', 'target: r-2');
      const e = only(errors, 'UNKNOWN_TARGET');
      assert.equal(e.line, line);
      assert.match(e.message, /not a rollout or change id/);
    });

    it('a vendor API degraded as if it were ours', () => {
      const { errors } = broken('    status_page_down: { vendor: stripe }', '    dependency_degradation: { dependency: stripe-api, latency: 3 }');
      const e = only(errors, 'UNKNOWN_DEPENDENCY');
      assert.match(e.hint ?? '', /use a vendor_outage event/);
    });

    it('two events with one id', () => {
      const { errors } = broken('    status_page_down: { vendor: stripe }', '    rollout: { id: r-1, artifact: waf, module: proxy, kind: config, version: w2 }');
      only(errors, 'DUPLICATE_NAME');
    });

    it('broken YAML', () => {
      const { errors, line } = broken('fleet: { nodes: 200 }', 'fleet: { nodes: 200');
      assert.ok(errors.length >= 1);
      assert.equal(errors[0]?.code, 'YAML_SYNTAX');
      assert.ok((errors[0]?.line ?? 0) >= line);
    });
  });

  it('never throws and reports only documented codes, whatever the text', () => {
    const known = new Set<string>(TRIAGE_SCENARIO_ERROR_CODES);
    const wellFormed = (r: Result<TriageScenario>) => {
      if (r.ok) return;
      assert.ok(r.errors.length > 0);
      for (const e of r.errors) {
        assert.ok(known.has(e.code) && e.code !== 'INTERNAL_ERROR', `undocumented code ${e.code}: ${e.message}`);
        if (e.line !== undefined) assert.ok(e.line >= 1 && (e.col ?? 0) >= 1);
      }
    };
    const lines = BASE.split('\n');
    // Drop or garble a few lines of a valid scenario, or replace a value with anything.
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(lines.length - 1), fc.oneof(fc.constant(''), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }).map((v) => `x: ${stringify(v).trim()}`))), { maxLength: 4 }), (edits) => {
      const copy = [...lines];
      for (const [i, text] of edits) copy[i] = text;
      wellFormed(parseTriageScenario(copy.join('\n'), { file: 'fuzz.yaml' }));
    }), { numRuns: 300 });
  });

  it('generate the same signals for the same seed, and others for another', () => {
    const r = parseTriageScenario(BASE);
    assert.ok(r.ok);
    const a = generateTriageInput(r.value);
    assert.deepEqual(generateTriageInput(r.value), a);
    assert.notDeepEqual(generateTriageInput(r.value, { seed: 8 }).requests, a.requests);
    assert.equal(a.requests?.samples.length, 120);
    // The rollout's cohort carries its errors; the status page stops answering at minute 6.
    const c = a.errors?.by_cohort?.find((x) => x.rollout === 'r-1');
    const last = c?.samples.at(-1);
    assert.ok(last && last.with_version.errors / last.with_version.requests > 0.2 && last.without_version.errors / last.without_version.requests < 0.01);
    assert.deepEqual(a.vendors?.[0]?.polls.find((p) => !p.reachable)?.at_ms, r.value.start_ms + 6 * 60_000);
    assert.ok((a.alerts ?? []).some((x) => x.name === 'HighErrorRate'));
  });
});
