import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FailsmallError } from '@failsmall/core';
import { parseTriageScenario, TRIAGE_SCENARIO_DEFAULTS, type DdosEvent, type ExternalChangeEvent, type RolloutEvent } from '../src/index.ts';
import { breakLine, onlyError } from './helpers.ts';
import { tinyText } from './triage-helpers.ts';

/**
 * The keys issue 13 added to the triage scenario language (docs/triage.md): they parse into
 * plain data, and each bad value is one typed error at its file, line and column, with a hint.
 */
export const EVERY_NEW_KEY = `name: every-new-key
label: { class: change-regression, target: r-1, also: [ { class: third-party-failure, target: fastly } ] }
seed: 7
duration: 30m
fleet: { nodes: 200 }
baseline: { rps: 50000, mix: { method_entropy: 1.2, cost_ms: 20 } }
modules: [proxy, api]
dependencies:
  orders-db: { latency_ms: 8, used_by: [api] }
  cdn: { vendor: fastly, latency_ms: 30, used_by: [proxy], in_request_path: true }
  edge: { latency_ms: 2, used_by: [proxy], in_request_path: true }
vendors:
  fastly: { components: [CDN] }
alerts:
  - { at: 4m, name: SyntheticCheckoutFailed, labels: { team: web } }
schedule:
  - { at: 2m, until: 20m, rate: 2, ramp: 2m }
events:
  - at: 5m
    rollout: { id: r-1, artifact: api-server, module: api, kind: code, version: v2, from: v1, touches: { dependencies: [orders-db], regions: [eu-west-1] }, recorded_after: 4m, clock_skew: -90s }
    stages: [ { after: 0s, share: 0.1 } ]
    ended: { after: 10m, state: rolled_back }
    errors: { modules: [api], ratio: 0.3 }
    retries: 2.5
  - at: 6m
    external_change: { id: flag-7, summary: "checkout: new flow for 20% of users", services: [api], touches: { services: [billing] } }
    stages: [ { after: 0s, share: 0.05 }, { after: 3m, share: 0.2 } ]
  - at: 8m
    vendor_outage: { vendor: fastly, errors: 0.4, status: { after: 3m, indicator: maintenance, components: { CDN: under_maintenance } } }
    bypass: { rate: 1.8 }
    drop: 0.2
  - at: 9m
    ddos: { rate: 4, source_entropy: 12, never_seen: 0.6, overlap: 0.5, mix: { path_entropy: 0.5, expensive_share: 0.9 } }
  - at: 10m
    flash_crowd: { rate: 1.5, mix: { cost_ms: 10 } }
  - at: 12m
    traffic_drop: { share: 0.3 }
    until: 15m
  - at: 13m
    vendor_incident: { vendor: fastly, indicator: maintenance }
  - at: 14m
    dependency_degradation: { dependency: edge, latency: 4, errors: 0.2 }
    bypass: { rate: 1.5, never_seen: 0.8, entropy_shift: 2 }
`;

const broken = (find: string, replace: string) => breakLine(EVERY_NEW_KEY, find, replace, (text) => parseTriageScenario(text, { file: 'bad.yaml' }));

/** The one error, of `code`, at the changed line, with a column and a hint matching `hint`. */
function only(find: string, replace: string, code: string, hint: RegExp, lineOffset = 0): FailsmallError {
  const { errors, line } = broken(find, replace);
  const e = onlyError(errors, code, 'bad.yaml');
  assert.equal(e.line, line + lineOffset, `${e.code} ${e.message}`);
  assert.ok(e.col !== undefined && e.col >= 1);
  assert.match(e.hint ?? '', hint, e.message);
  return e;
}

describe('the triage scenario language of issue 13', () => {
  it('parses every new key into plain data, with the defaults filled in', () => {
    const r = parseTriageScenario(EVERY_NEW_KEY, { file: 'ok.yaml' });
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
    const s = r.value;
    assert.deepEqual(s.label, { class: 'change-regression', target: 'r-1', also: [{ class: 'third-party-failure', target: 'fastly' }] });
    assert.deepEqual(s.baseline.mix, { ...TRIAGE_SCENARIO_DEFAULTS.baseline.mix, method_entropy_bits: 1.2, cost_ms: 20 });
    assert.deepEqual(s.dependencies.map((d) => [d.name, d.in_request_path]), [['orders-db', false], ['cdn', true], ['edge', true]]);
    assert.deepEqual(s.alerts, [{ at_ms: 240_000, name: 'SyntheticCheckoutFailed', labels: { team: 'web' } }]);
    assert.deepEqual(s.schedule, [{ at_ms: 120_000, until_ms: 1_200_000, ramp_ms: 120_000, rate: 2 }]);
    const [rollout, flag, outage, ddos, crowd, drop, incident, edge] = s.events;
    const r1 = rollout as RolloutEvent;
    assert.deepEqual(r1.touches, { dependencies: ['orders-db'], regions: ['eu-west-1'] });
    assert.equal(r1.recorded_after_ms, 240_000);
    assert.equal(r1.clock_skew_ms, -90_000);
    assert.deepEqual(r1.ended, { at_ms: 900_000, state: 'rolled_back' });
    assert.equal(r1.until_ms, 900_000, 'a rollback takes the version off the nodes, as until: does');
    assert.equal(r1.retries, 2.5);
    const f = flag as ExternalChangeEvent;
    assert.deepEqual(f.stages, [{ after_ms: 0, share: 0.05 }, { after_ms: 180_000, share: 0.2 }]);
    assert.deepEqual(f.touches, { services: ['billing'] });
    assert.equal(f.clock_skew_ms, 0);
    assert.equal(f.recorded_after_ms, null);
    assert.deepEqual([outage?.type, outage?.drop, outage?.bypass], ['vendor_outage', 0.2, { rate: 1.8, never_seen: 0.7, entropy_shift_bits: 3 }]);
    assert.equal(outage?.type === 'vendor_outage' ? outage.status?.indicator : null, 'maintenance');
    const d = ddos as DdosEvent;
    assert.equal(d.overlap, 0.5);
    assert.deepEqual(d.mix, { ...s.baseline.mix, path_entropy_bits: 0.5, expensive_share: 0.9 }, 'what the attack does not say is the usual mix');
    assert.deepEqual(crowd?.type === 'flash_crowd' ? crowd.mix : null, { ...s.baseline.mix, cost_ms: 10 });
    assert.deepEqual([drop?.type, drop?.type === 'traffic_drop' ? drop.share : null, drop?.until_ms], ['traffic_drop', 0.3, 900_000]);
    assert.equal(incident?.type === 'vendor_incident' ? incident.indicator : null, 'maintenance');
    assert.deepEqual(edge?.bypass, { rate: 1.5, never_seen: 0.8, entropy_shift_bits: 2 });
  });

  it('leaves the old keys as they were: no also, no mix given, nothing recorded late', () => {
    const r = parseTriageScenario(tinyText(`  - at: 1m
    rollout: { id: r-1, artifact: a, module: proxy, kind: code, version: v2 }
    until: 5m
  - at: 2m
    ddos: { rate: 5, source_entropy: 4, never_seen: 0.8 }`));
    assert.ok(r.ok);
    const [rollout, ddos] = r.value.events;
    assert.deepEqual(r.value.label.also, []);
    assert.deepEqual(r.value.baseline, { ...TRIAGE_SCENARIO_DEFAULTS.baseline, noise: 0 });
    assert.deepEqual([r.value.alerts, r.value.schedule], [[], []]);
    const r1 = rollout as RolloutEvent;
    assert.deepEqual([r1.touches, r1.recorded_after_ms, r1.clock_skew_ms, r1.until_ms, r1.drop, r1.retries, r1.bypass], [null, null, 0, 300_000, 0, null, null]);
    assert.deepEqual(r1.ended, { at_ms: 300_000, state: 'rolled_back' }, 'until: alone means rolled back');
    assert.deepEqual([(ddos as DdosEvent).overlap, (ddos as DdosEvent).mix], [0, TRIAGE_SCENARIO_DEFAULTS.baseline.mix]);
  });

  it('accepts benign labels and request_mix as an unmeasured family', () => {
    const r = parseTriageScenario(tinyText(`  - at: 2m
    vendor_incident: { vendor: fastly, indicator: maintenance }`, {
      label: '{ class: benign }', head: 'unmeasured: [request_mix]\nschedule: [ { at: 2m, rate: 3 } ]\nvendors:\n  fastly: { components: [CDN] }',
    }));
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('\n'));
    assert.deepEqual(r.value.label, { class: 'benign', target: null, also: [] });
    assert.deepEqual(r.value.unmeasured, ['request_mix']);
  });

  describe('bad values point at file:line:col with a hint', () => {
    it('a traffic_drop share above 1', () => {
      const e = only('traffic_drop: { share: 0.3 }', 'traffic_drop: { share: 1.5 }', 'BAD_VALUE', /share: 0\.4/);
      assert.match(e.message, /share must be greater than 0 and at most 1/);
      assert.equal(e.col, 28);
    });

    it('retries below 1', () => {
      const e = only('retries: 2.5', 'retries: 0.5', 'BAD_VALUE', /1 means no retries/);
      assert.match(e.message, /retries must be at least 1/);
    });

    it('an unknown ended.state', () => {
      const e = only('state: rolled_back', 'state: rolledback', 'BAD_ENUM', /did you mean "rolled_back"/);
      assert.match(e.message, /completed, rolled_back, aborted, paused/);
    });

    it('bypass on a dependency that is not in the request path', () => {
      const e = only('dependency_degradation: { dependency: edge', 'dependency_degradation: { dependency: orders-db', 'BAD_VALUE', /in_request_path: true/, 1);
      assert.match(e.message, /bypass: dependency "orders-db" is not in the request path/);
    });

    it('bypass on a vendor none of whose APIs is in the request path', () => {
      const { errors } = broken('cdn: { vendor: fastly, latency_ms: 30, used_by: [proxy], in_request_path: true }', 'cdn: { vendor: fastly, latency_ms: 30, used_by: [proxy] }');
      const e = onlyError(errors, 'BAD_VALUE', 'bad.yaml');
      assert.match(e.message, /no API of vendor "fastly" is in the request path/);
      assert.match(e.hint ?? '', /in_request_path: true/);
    });

    it('bypass on an event that is not a failing dependency', () => {
      const e = only('    flash_crowd: { rate: 1.5, mix: { cost_ms: 10 } }', '    flash_crowd: { rate: 1.5, mix: { cost_ms: 10 } }\n    bypass: { rate: 2 }', 'BAD_VALUE', /dependency_degradation or vendor_outage/, 1);
      assert.match(e.message, /not to a flash_crowd event/);
    });

    it('an also entry with an unknown class, or benign', () => {
      const e = only('also: [ { class: third-party-failure', 'also: [ { class: third-party-failur', 'BAD_ENUM', /did you mean "third-party-failure"/);
      assert.match(e.message, /class must be one of change-regression, ddos, internal-degradation, third-party-failure, got/);
      only('also: [ { class: third-party-failure, target: fastly }', 'also: [ { class: benign }', 'BAD_ENUM', /./);
    });

    it('an also target the scenario does not declare', () => {
      only('target: fastly } ]', 'target: fastlyy } ]', 'UNKNOWN_TARGET', /did you mean "fastly"/);
    });

    it('a benign label with a target', () => {
      only('label: { class: change-regression, target: r-1, also: [ { class: third-party-failure, target: fastly } ] }', 'label: { class: benign, target: r-1 }', 'UNKNOWN_TARGET', /a benign label has no target/);
    });

    it('a rollout with both until: and ended:', () => {
      only('    retries: 2.5', '    retries: 2.5\n    until: 20m', 'BAD_VALUE', /keep one/, -2);
    });

    it('a touched dependency that is not declared', () => {
      only('touches: { dependencies: [orders-db]', 'touches: { dependencies: [order-db]', 'UNKNOWN_DEPENDENCY', /did you mean "orders-db"/);
    });

    it('a clock skew without a unit', () => {
      only('clock_skew: -90s', 'clock_skew: -90', 'BAD_DURATION', /"-90s"/);
      only('clock_skew: -90s', 'clock_skew: -90x', 'BAD_DURATION', /-90s/);
    });

    it('a change-record key written beside the type, or an event key inside it', () => {
      only('    retries: 2.5', '    recorded_after: 4m', 'UNKNOWN_KEY', /belongs inside the type's mapping: rollout: \{ …, recorded_after: … \}/);
      only('services: [api], touches: { services: [billing] } }', 'services: [api], stages: [] }', 'UNKNOWN_KEY', /stages is a key of the event: write it beside external_change:/);
    });

    it('a mix key that does not exist', () => {
      only('mix: { path_entropy: 0.5', 'mix: { path_entrop: 0.5', 'UNKNOWN_KEY', /did you mean "path_entropy"/);
    });

    it('drop: on a traffic_drop', () => {
      only('    until: 15m', '    until: 15m\n    drop: 0.2', 'BAD_VALUE', /traffic_drop: \{ share \}/, 1);
    });

    it('a scheduled surge that does not raise the rate, and an alert after the end', () => {
      only('rate: 2, ramp: 2m', 'rate: 0.5, ramp: 2m', 'BAD_VALUE', /above 1/);
      only('{ at: 4m, name: SyntheticCheckoutFailed', '{ at: 40m, name: SyntheticCheckoutFailed', 'BAD_VALUE', /move it earlier/);
    });

    it('in_request_path that is not a boolean', () => {
      // (The outage's bypass then has no API of fastly in the request path either: a second error, further down.)
      const { errors, line } = broken('cdn: { vendor: fastly, latency_ms: 30, used_by: [proxy], in_request_path: true }', 'cdn: { vendor: fastly, latency_ms: 30, used_by: [proxy], in_request_path: yes }');
      assert.deepEqual([errors[0]?.code, errors[0]?.line, errors[0]?.col], ['WRONG_TYPE', line, 77]);
      assert.match(errors[0]?.hint ?? '', /true or false/);
    });
  });
});
