import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MeasuredSeries, Sample, TriageInput } from '@failsmall/core';
import { generateTriageInput, TRIAGE_MODEL } from '../src/index.ts';
import { tiny } from './triage-helpers.ts';

/**
 * Each key issue 13 added shows in the generated input: what it moves, and that it moves it
 * (compared with the same scenario without it, same seed). The tiny scenario has no noise on
 * the request rate, so rates compare exactly.
 */
const NOTHING = '  - at: 19m\n    vendor_incident: { vendor: quiet }';
const QUIET = 'vendors:\n  quiet: { components: [API] }';
const MIN = 60_000;

/** Mean of a series' samples from `from` to `to` minutes. */
function mean(series: { samples: readonly Sample[] } | undefined, from: number, to: number, start = Date.parse('2026-01-01T00:00:00Z')): number {
  const xs = (series?.samples ?? []).filter((x) => x.at_ms > start + from * MIN && x.at_ms <= start + to * MIN).map((x) => x.value);
  assert.ok(xs.length > 0, 'no samples in the window');
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function alert(input: TriageInput, name: string): number | undefined {
  return input.alerts?.find((a) => a.name === name)?.started_at_ms;
}

/** A module's error counts from `from` to `to` minutes. */
function counts(input: TriageInput, module: string, from: number, to: number): { requests: number; errors: number }[] {
  const start = Date.parse('2026-01-01T00:00:00Z');
  return (input.errors?.by_module.find((m) => m.module === module)?.samples ?? []).filter((x) => x.at_ms > start + from * MIN && x.at_ms <= start + to * MIN);
}

function errors(input: TriageInput, module: string, from: number, to = 20): number {
  return counts(input, module, from, to).reduce((a, x) => a + x.errors, 0);
}

function errorRatio(input: TriageInput, module: string, from: number, to = 20): number {
  const xs = counts(input, module, from, to);
  return xs.reduce((a, x) => a + x.errors, 0) / xs.reduce((a, x) => a + x.requests, 0);
}

const gen = (events: string, head = QUIET, label?: string) => generateTriageInput(tiny(events, label !== undefined ? { head, label } : { head }));

describe('generating the input for the issue 13 keys', () => {
  const calm = gen(NOTHING);

  it('traffic_drop lowers the requests, raises a TrafficDrop alert, and no 5xx of ours', () => {
    const input = gen('  - at: 5m\n    traffic_drop: { share: 0.5 }\n    until: 12m');
    assert.ok(Math.abs(mean(input.requests, 6, 11) / mean(calm.requests, 6, 11) - 0.5) < 0.01);
    assert.ok(Math.abs(mean(input.requests, 13, 20) / mean(calm.requests, 13, 20) - 1) < 0.01, 'back when it ends');
    const at = alert(input, 'TrafficDrop');
    assert.ok(at !== undefined && at >= Date.parse('2026-01-01T00:06:00Z'), `TrafficDrop at ${at}`);
    assert.equal(alert(calm, 'TrafficDrop'), undefined);
    assert.equal(input.alerts?.some((a) => a.name === 'HighErrorRate'), false);
    // Fewer requests at the same error ratio: about half the errors while it lasts.
    assert.ok(errors(input, 'api', 6, 11) < 0.6 * errors(calm, 'api', 6, 11));
  });

  it('drop: on a vendor outage removes that share of requests too', () => {
    const head = `${QUIET}\ndependencies:\n  dns: { vendor: dnsco, latency_ms: 5, used_by: [proxy] }`;
    const outage = gen('  - at: 5m\n    vendor_outage: { vendor: dnsco, errors: 0.5 }', head);
    const dropping = gen('  - at: 5m\n    vendor_outage: { vendor: dnsco, errors: 0.5 }\n    drop: 0.3', head);
    assert.ok(Math.abs(mean(dropping.requests, 6, 20) / mean(outage.requests, 6, 20) - 0.7) < 0.01);
  });

  it('drop: on a change that neither errs nor strains still removes its share (a command that withdraws routes)', () => {
    const dropping = gen('  - at: 5m\n    external_change: { id: chg-routes, summary: "backbone command", services: [proxy] }\n    drop: 0.8');
    assert.ok(Math.abs(mean(dropping.requests, 6, 20) / mean(calm.requests, 6, 20) - 0.2) < 0.01);
  });

  it('schedule raises the samples and the expected series alike, and no TrafficDrop fires when it ends', () => {
    const input = gen(NOTHING, `${QUIET}\nschedule: [ { at: 5m, until: 15m, rate: 3, ramp: 1m } ]`);
    assert.ok(Math.abs(mean(input.requests, 7, 14) / mean(calm.requests, 7, 14) - 3) < 0.02);
    const expected = input.requests?.expected ?? [];
    assert.ok(expected.length > 0);
    const at = (min: number) => [...expected].reverse().find((x) => x.at_ms <= Date.parse('2026-01-01T00:00:00Z') + min * MIN)?.value;
    assert.equal(at(10), 3 * 100_000);
    assert.equal(at(16), 100_000, 'and falls back with it');
    assert.equal(calm.requests?.expected, undefined, 'a scenario without a schedule has no expected series');
    assert.equal(alert(input, 'TrafficDrop'), undefined);
    // The sale's requests come from the usual clients: sources as usual.
    assert.ok(Math.abs(mean(input.sources?.never_seen_share, 7, 14) - mean(calm.sources?.never_seen_share, 7, 14)) < 0.005);
  });

  it('recorded_after puts recorded_at_ms on the change, and clock_skew moves its recorded start; what happens does not move', () => {
    const rollout = '    rollout: { id: r-1, artifact: api, module: api, kind: code, version: v2, touches: { regions: [eu-west-1] }, recorded_after: 4m, clock_skew: -90s }\n    errors: { modules: [api], ratio: 0.3 }';
    const input = gen(`  - at: 5m\n${rollout}`, QUIET, '{ class: change-regression, target: r-1 }');
    const plain = gen(`  - at: 5m\n    rollout: { id: r-1, artifact: api, module: api, kind: code, version: v2 }\n    errors: { modules: [api], ratio: 0.3 }`, QUIET, '{ class: change-regression, target: r-1 }');
    const r = input.changes?.rollouts[0];
    const start = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(r?.started_at_ms, start + 5 * MIN - 90_000);
    assert.equal(r?.recorded_at_ms, start + 9 * MIN);
    assert.deepEqual(r?.touches, { regions: ['eu-west-1'] });
    assert.equal(plain.changes?.rollouts[0]?.recorded_at_ms, undefined);
    assert.deepEqual(input.errors, plain.errors, 'the errors start when the rollout does, whatever its record says');
  });

  it('ended sets the rollout\'s state and end; rolled back takes the version off the nodes, paused freezes its share, completed takes it everywhere', () => {
    const rollout = (ended: string) => gen(`  - at: 5m
    rollout: { id: r-1, artifact: api, module: api, kind: code, version: v2 }
    stages: [ { after: 0s, share: 0.2 }, { after: 6m, share: 0.5 } ]
    errors: { modules: [api], ratio: 0.3 }
    ${ended}`, QUIET, '{ class: change-regression, target: r-1 }');
    const start = Date.parse('2026-01-01T00:00:00Z');
    const share = (input: TriageInput, min: number) => {
      const x = input.errors?.by_cohort?.[0]?.samples.find((c) => c.at_ms === start + min * MIN);
      return x ? x.with_version.nodes / (x.with_version.nodes + x.without_version.nodes) : null;
    };
    const back = rollout('ended: { after: 3m, state: rolled_back }');
    assert.deepEqual([back.changes?.rollouts[0]?.state, back.changes?.rollouts[0]?.ended_at_ms], ['rolled_back', start + 8 * MIN]);
    assert.ok(errorRatio(back, 'api', 9) < 0.001, 'no more errors once rolled back');
    assert.ok(errorRatio(rollout(''), 'api', 9) > 0.05);
    const until = rollout('until: 8m');
    assert.deepEqual([until.changes?.rollouts[0]?.state, until.errors], ['rolled_back', back.errors], 'until: alone is a rollback');
    const paused = rollout('ended: { after: 3m, state: paused }');
    assert.deepEqual([paused.changes?.rollouts[0]?.state, share(paused, 7), share(paused, 18)], ['paused', 0.2, 0.2]);
    const done = rollout('ended: { after: 3m, state: completed }');
    assert.deepEqual([done.changes?.rollouts[0]?.state, share(done, 18)], ['completed', 1]);
    const running = rollout('');
    assert.deepEqual([running.changes?.rollouts[0]?.state, share(running, 18)], [undefined, 0.5]);
  });

  it('a staged external change errs only on its share, and reports the share it reached', () => {
    const change = (stages: string) => gen(`  - at: 5m
    external_change: { id: flag-1, summary: "new checkout", services: [api] }
    errors: { modules: [api], ratio: 0.4 }
    ${stages}`, QUIET, '{ class: change-regression, target: flag-1 }');
    const staged = change('stages: [ { after: 0s, share: 0.1 }, { after: 5m, share: 0.25 } ]');
    const everyone = change('');
    assert.equal(staged.changes?.external[0]?.share, 0.25);
    assert.equal(everyone.changes?.external[0]?.share, undefined);
    const ratio = errorRatio(staged, 'api', 11) / errorRatio(everyone, 'api', 11);
    assert.ok(Math.abs(ratio - 0.25) < 0.03, `${ratio}`);
  });

  it('ddos mix moves request_mix; a pure flood (the usual mix) leaves it as it was', () => {
    const attack = (mix: string) => gen(`  - at: 5m\n    ddos: { rate: 3, source_entropy: 8, never_seen: 0.8${mix} }`);
    const l7 = attack(', mix: { path_entropy: 0.2, expensive_share: 0.9, cost_ms: 200 }');
    const flood = attack('');
    const mix = (i: TriageInput, k: keyof NonNullable<TriageInput['request_mix']>) => mean(i.request_mix?.[k], 7, 20);
    assert.ok(mix(l7, 'expensive_share') > 0.5, `${mix(l7, 'expensive_share')}`);
    assert.ok(mix(l7, 'cost_ms_per_request') > 100);
    assert.ok(mix(l7, 'path_entropy_bits') < mix(calm, 'path_entropy_bits') - 1);
    for (const k of ['method_entropy_bits', 'path_entropy_bits', 'user_agent_entropy_bits', 'expensive_share', 'cost_ms_per_request'] as const) {
      assert.ok(Math.abs(mix(flood, k) - mix(calm, k)) < 0.05 * Math.max(1, mix(calm, k)), k);
    }
    assert.equal(calm.request_mix?.path_entropy_bits?.baseline, 4);
  });

  it('a flash crowd with its own mix moves it too', () => {
    const crowd = gen('  - at: 5m\n    flash_crowd: { rate: 3, mix: { cost_ms: 45 } }');
    assert.ok(Math.abs(mean(crowd.request_mix?.cost_ms_per_request, 7, 20) - (15 + 2 * 45) / 3) < 2);
  });

  it('overlap lowers the never-seen share', () => {
    const attack = (overlap: string) => gen(`  - at: 5m\n    ddos: { rate: 4, source_entropy: 12, never_seen: 0.9${overlap} }`);
    const apart = mean(attack('').sources?.never_seen_share, 7, 20);
    const blended = mean(attack(', overlap: 0.8').sources?.never_seen_share, 7, 20);
    assert.ok(blended < apart - 0.3, `${blended} vs ${apart}`);
    assert.ok(Math.abs(mean(attack(', overlap: 0.8').requests, 7, 20) / mean(attack('').requests, 7, 20) - 1) < 0.01, 'as many requests either way');
  });

  it('bypass raises the never-seen share, the rate and the source entropy while the CDN fails', () => {
    const head = `${QUIET}\ndependencies:\n  cdn: { vendor: fastly, latency_ms: 20, used_by: [proxy], in_request_path: true }`;
    const outage = gen('  - at: 5m\n    vendor_outage: { vendor: fastly, errors: 0.6 }\n    until: 15m', head);
    const bypass = gen('  - at: 5m\n    vendor_outage: { vendor: fastly, errors: 0.6 }\n    until: 15m\n    bypass: { rate: 2 }', head);
    assert.ok(Math.abs(mean(bypass.requests, 6, 14) / mean(outage.requests, 6, 14) - 2) < 0.02);
    assert.ok(mean(bypass.sources?.never_seen_share, 6, 14) > mean(outage.sources?.never_seen_share, 6, 14) + 0.25);
    assert.ok(mean(bypass.sources?.entropy_bits, 6, 14) > mean(outage.sources?.entropy_bits, 6, 14) + 1);
    assert.ok(Math.abs(mean(bypass.requests, 16, 20) / mean(outage.requests, 16, 20) - 1) < 0.01, 'over when the CDN is back');
    assert.equal(bypass.dependencies?.find((d) => d.name === 'cdn')?.in_request_path, true);
  });

  it('retries multiplies the rate by the failed requests × (factor − 1), instead of the usual retries', () => {
    const storm = (retries: string) => gen(`  - at: 5m\n    dependency_degradation: { dependency: db, latency: 3 }\n    errors: { modules: [api], ratio: 0.4 }${retries}`,
      `${QUIET}\ndependencies:\n  db: { latency_ms: 5, used_by: [api] }`);
    const usual = mean(storm('').requests, 6, 20);
    const tripled = mean(storm('\n    retries: 3').requests, 6, 20);
    const background = 2 * 0.0005;
    const want = (1 + 0.4 * 2 + TRIAGE_MODEL.retry * background) / (1 + TRIAGE_MODEL.retry * (0.4 + background));
    assert.ok(Math.abs(tripled / usual - want) < 0.01, `${tripled / usual} vs ${want}`);
  });

  it('alerts: fire at their time, with their labels, whether or not anything is wrong', () => {
    const input = gen(NOTHING, `${QUIET}\nalerts: [ { at: 3m, name: SyntheticCheckoutFailed, labels: { source: probe } } ]`, '{ class: benign }');
    assert.deepEqual(input.alerts?.[0], { name: 'SyntheticCheckoutFailed', started_at_ms: Date.parse('2026-01-01T00:03:00Z'), labels: { source: 'probe' } });
  });

  it('a status page in maintenance says so, and an outage\'s indicator overrides it', () => {
    const input = gen('  - at: 2m\n    vendor_incident: { vendor: quiet, indicator: maintenance, components: { API: under_maintenance } }\n  - at: 10m\n    vendor_incident: { vendor: quiet, indicator: major }');
    const polls = input.vendors?.[0]?.polls ?? [];
    assert.equal(polls.find((p) => p.at_ms === Date.parse('2026-01-01T00:05:00Z'))?.indicator, 'maintenance');
    assert.deepEqual(polls.find((p) => p.at_ms === Date.parse('2026-01-01T00:05:00Z'))?.components, [{ name: 'API', status: 'under_maintenance' }]);
    assert.equal(polls.at(-1)?.indicator, 'major');
  });

  it('request_mix is measured unless the scenario says otherwise', () => {
    assert.ok(calm.request_mix?.expensive_share);
    assert.equal(gen(NOTHING, `${QUIET}\nunmeasured: [request_mix]`).request_mix, undefined);
  });

  it('a surge the schedule expected still raises the usual static TrafficSurge rule', () => {
    const input = gen(NOTHING, `${QUIET}\nschedule: [ { at: 5m, rate: 3 } ]`);
    const series: MeasuredSeries | undefined = input.requests;
    assert.ok(series && alert(input, 'TrafficSurge') !== undefined);
  });
});
