import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import type { BadRolloutScenario } from '../../sim/src/postmortem-facts.ts';
import { badRolloutFacts, NOV18_CANARY } from '../../sim/src/postmortem-facts.ts';
import type { FindingCode, PostmortemFacts } from '../src/postmortem/index.ts';
import { POSTMORTEM_JSON_SCHEMA, postmortemData, renderPostmortem } from '../src/postmortem/index.ts';
import { section } from './postmortem-helpers.ts';

/**
 * The truth of a simulated bad canary, from the scenario's parameters alone (not from the
 * facts): cohort node i is bad from start + load_after + i·stagger until
 * gate + rollback_after + i·stagger, and fails one request in fail_every while bad.
 */
function truth(s: BadRolloutScenario) {
  const tier = s.tiers.find((t) => t.name === s.canary.tier);
  assert.ok(tier);
  const k = s.canary.nodes;
  const badSecondsPerNode = (s.gate_after_ms + s.rollback_after_ms - s.load_after_ms) / 1000;
  const failed = k * badSecondsPerNode * (tier.requests_per_node_s / s.fail_every);
  const requests = s.tiers.reduce((n, t) => n + t.nodes * t.requests_per_node_s, 0) * (s.window_ms / 1000);
  const lastBadEnd = s.gate_after_ms + s.rollback_after_ms + (k - 1) * s.stagger_ms;
  const impactStart = Math.floor(s.load_after_ms / s.interval_ms) * s.interval_ms;
  const impactEnd = Math.ceil(lastBadEnd / s.interval_ms) * s.interval_ms;
  return {
    failed,
    requests,
    share: failed / requests,
    duration_s: (impactEnd - impactStart) / 1000,
    nodes_by_tier: Object.fromEntries(s.tiers.map((t) => [t.name, t.name === s.canary.tier ? k : 0])),
    customers: k * tier.customers_per_node,
    time_to_detect_s: s.gate_after_ms / 1000,
    time_to_mitigate_s: lastBadEnd / 1000,
  };
}

/** 50 → "50 s", 134 → "2 min 14 s". */
function minSec(s: number): string {
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min${s % 60 === 0 ? '' : ` ${s % 60} s`}`;
}

const VARIANT: BadRolloutScenario = {
  ...NOV18_CANARY,
  interval_ms: 15_000,
  window_ms: 300_000,
  canary: { tier: 'pro', nodes: 25, stage: 'one-percent', interval_ms: 15_000 },
  load_after_ms: 7_000,
  stagger_ms: 3_000,
  fail_every: 8,
  gate_after_ms: 50_000,
  rollback_after_ms: 12_000,
};

const validate = new Ajv({ allErrors: true, strict: true }).compile(POSTMORTEM_JSON_SCHEMA);

function assertValid(data: unknown): void {
  assert.ok(validate(data), JSON.stringify(validate.errors, null, 2));
}

/** The facts of the 18 November canary with some of them replaced. */
function nov18(change: (f: PostmortemFacts) => PostmortemFacts = (f) => f): PostmortemFacts {
  return change(badRolloutFacts(NOV18_CANARY));
}

function codes(facts: PostmortemFacts): FindingCode[] {
  return postmortemData(facts).findings.map((f) => f.code);
}

describe('postmortem numbers against a simulated incident whose truth is known', () => {
  for (const [name, scenario] of [['the 18 November canary', NOV18_CANARY], ['a 25-node pro canary on 15 s intervals', VARIANT]] as const) {
    it(`${name}: failed requests, share, duration, nodes and customers by tier, time to detect and to mitigate`, () => {
      const t = truth(scenario);
      const data = postmortemData(badRolloutFacts(scenario));
      assert.equal(data.impact.failed_requests, t.failed);
      assert.equal(data.impact.requests, t.requests);
      assert.equal(data.impact.failed_share, t.share);
      assert.equal(data.impact.duration_s, t.duration_s);
      assert.equal(data.impact.nodes_affected, scenario.canary.nodes);
      assert.deepEqual(Object.fromEntries(data.impact.by_tier.map((x) => [x.tier, x.nodes_affected])), t.nodes_by_tier);
      assert.equal(data.impact.customers_affected, t.customers);
      assert.equal(data.detection.time_to_detect_s, t.time_to_detect_s);
      assert.equal(data.detection.by, 'gate');
      assert.equal(data.response.time_to_mitigate_s, t.time_to_mitigate_s);
      assert.equal(data.response.mitigated_by, 'rollback');
    });

    it(`${name}: the Markdown draft shows the same numbers`, () => {
      const t = truth(scenario);
      const md = renderPostmortem(badRolloutFacts(scenario), { audience: 'internal' });
      const impact = section(md, 'Impact');
      const fmt = (n: number) => n.toLocaleString('en-US');
      assert.ok(impact.includes(`**All failed requests:** ${fmt(t.failed)} of ${fmt(t.requests)} (${Number((100 * t.share).toPrecision(3))}%)`), impact);
      assert.ok(impact.includes(`**Nodes with failed requests:** ${scenario.canary.nodes} of ${fmt(1000)}`), impact);
      // Nothing fails outside the canary here: every failed request is on the version's nodes, and all of it is excess.
      assert.ok(impact.includes(`**Nodes that received \`${scenario.artifact.to}\`:** ${scenario.canary.nodes} of ${fmt(1000)}`), impact);
      assert.ok(impact.includes(`**Failed because of the change (excess):** **${fmt(t.failed)}** (95% interval`), impact);
      assert.ok(section(md, 'Detection').includes(`${minSec(t.time_to_detect_s)} after the change started (time to detect)`));
      assert.ok(section(md, 'Response and recovery').includes(`${minSec(t.time_to_mitigate_s)} after the change started (time to mitigate)`));
    });
  }

  it('says when the canary held the bad version and for how long, as a prompt to confirm', () => {
    const md = renderPostmortem(nov18(), { audience: 'internal' });
    assert.ok(section(md, 'What went well').includes('Stage `canary` held the new version to 1% of nodes (10 of 1,000) for 33 s: confirm'));
  });

  it('counts the duration from intervals above the pre-change failed share when a baseline is recorded', () => {
    const facts = nov18((f) => {
      assert.ok(f.impact);
      // Every node fails 1 request in 10,000 in normal times: the background does not make the whole window "impact".
      const intervals = f.impact.intervals.map((i) => ({
        at: i.at,
        by_tier: Object.fromEntries(Object.entries(i.by_tier).map(([tier, c]) => [tier, { ...c, errors: c.errors + c.requests / 10_000 }])),
      }));
      return { ...f, impact: { ...f.impact, intervals, baseline: { from: 0, to: 1, requests: 1_000_000, errors: 100 } } };
    });
    const data = postmortemData(facts);
    assert.equal(data.impact.baseline_failed_share, 0.0001);
    assert.equal(data.impact.duration_s, truth(NOV18_CANARY).duration_s);
    assert.equal(data.impact.failed_requests, truth(NOV18_CANARY).failed + truth(NOV18_CANARY).requests / 10_000);
  });
});

describe('postmortem JSON export', () => {
  it('validates against POSTMORTEM_JSON_SCHEMA, with every fact recorded and with none', () => {
    assertValid(postmortemData(nov18()));
    assertValid(postmortemData(badRolloutFacts(VARIANT)));
    assertValid(postmortemData(bare()));
    assertValid(JSON.parse(JSON.stringify(postmortemData(withEverything()))));
  });

  it('gives every finding and action item the fact it came from', () => {
    const data = postmortemData(withEverything());
    assert.ok(data.findings.length >= 5);
    assert.deepEqual(data.action_items.map((a) => [a.code, a.source]), data.findings.map((f) => [f.code, f.source]));
    for (const f of data.findings) assert.match(f.source, /^(incident|rollouts|modules|alerts|triage|breakglass|changes)\b/);
  });

  it('writes times as ISO 8601 UTC in the timeline, in time order', () => {
    const { timeline } = postmortemData(nov18());
    assert.ok(timeline.length > 5);
    for (const e of timeline) assert.match(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(timeline.map((e) => e.at), [...timeline.map((e) => e.at)].sort());
  });

  it('keeps a recorded timeline entry instead of the derived one for the same event', () => {
    const { timeline } = postmortemData(nov18());
    const atGate = timeline.filter((e) => e.at === '2025-11-18T11:05:18.000Z' && e.kind === 'rollout');
    assert.deepEqual(atGate.map((e) => e.source), ['timeline[0]', 'rollouts[0].rollback_started_at']);
  });
});

/** An incident opened by hand, with nothing else recorded. */
function bare(): PostmortemFacts {
  return {
    incident: {
      id: 'inc-9', title: 'Checkout slow', severity: 'sev3', status: 'investigating', opened_by: 'manual',
      opened_at: Date.UTC(2026, 0, 5, 9, 0, 0), resolved_at: null, rollout_id: null,
    },
    timeline: [], rollouts: [], modules: [], impact: null, triage: [], breakglass: [], alerts: [], changes: [],
  };
}

describe('missing facts read "not recorded", never a default number', () => {
  it('an incident with nothing recorded has null numbers in JSON and no digits in its impact, detection or response', () => {
    const data = postmortemData(bare());
    assert.equal(data.trigger, null);
    for (const key of ['duration_s', 'requests', 'failed_requests', 'failed_share', 'nodes_affected', 'customers_affected'] as const) assert.equal(data.impact[key], null, key);
    assert.equal(data.detection.time_to_detect_s, null);
    assert.equal(data.response.time_to_mitigate_s, null);
    assert.equal(data.response.time_to_triage_s, null);
    const md = renderPostmortem(bare(), { audience: 'internal' });
    for (const title of ['Impact', 'Detection', 'Trigger and root cause']) {
      const s = section(md, title);
      assert.ok(s.includes('not recorded'), `${title}: ${s}`);
      assert.doesNotMatch(s, /\d/, `${title} shows a number: ${s}`);
    }
    const response = section(md, 'Response and recovery');
    assert.match(response, /\*\*Triage:\*\* not recorded/);
    assert.match(response, /\*\*Mitigated:\*\* not recorded/);
    assert.doesNotMatch(response, /\d/);
    const pub = renderPostmortem(bare(), { audience: 'public' });
    assert.ok(section(pub, 'Impact').includes('not recorded'));
    assert.doesNotMatch(section(pub, 'Impact'), /\d/);
  });

  it('a node total or customer count that was not recorded is not guessed', () => {
    const facts = nov18((f) => {
      assert.ok(f.impact);
      const intervals = f.impact.intervals.map((i) => ({
        at: i.at,
        by_tier: Object.fromEntries(Object.entries(i.by_tier).map(([tier, c]) => [tier, { requests: c.requests, errors: c.errors, nodes_with_errors: c.nodes_with_errors }])),
      }));
      return { ...f, impact: { ...f.impact, intervals, nodes_total_by_tier: null, customers_total_by_tier: null } };
    });
    const data = postmortemData(facts);
    assert.equal(data.impact.nodes_affected, 10);
    assert.equal(data.impact.nodes_total, null);
    assert.equal(data.impact.customers_affected, null);
    const impact = section(renderPostmortem(facts, { audience: 'internal' }), 'Impact');
    assert.ok(impact.includes('**Nodes with failed requests:** 10 (of a total not recorded)'), impact);
    assert.ok(impact.includes('**Customers with failed requests:** not recorded'), impact);
  });

  it('a rollout with no validation recorded says so and yields no validation finding', () => {
    const facts = nov18((f) => ({ ...f, rollouts: f.rollouts.map((r) => ({ ...r, validation: null })) }));
    assert.ok(!codes(facts).includes('no-validation'));
    assert.ok(renderPostmortem(facts, { audience: 'internal' }).includes('**Validation declared for `bot-management-features`:** not recorded.'));
  });
});

/** The 18 November canary with a late gate, an earlier alert, break-glass, silent nodes, slow triage and no validation. */
function withEverything(): PostmortemFacts {
  const facts = badRolloutFacts({
    ...NOV18_CANARY,
    gate_after_ms: 70_000,
    alerts: [{ name: 'ProxyErrorsHigh', after_ms: 50_000, count: 2 }],
    triage: [{ after_ms: 70_000 + 400_000, class: 'change-regression', confidence: 0.8, first_action: 'Roll back ro-7f3a9c' }],
    breakglass: [{ after_ms: 80_000, operator: 'ana.silva', action: 'lkg', target: 'bot-management-features', applied: true }],
    artifact: { ...NOV18_CANARY.artifact, validation: [] },
  });
  return { ...facts, rollouts: facts.rollouts.map((r) => ({ ...r, unreported_nodes: ['free-node-0007'] })) };
}

describe('findings and action items come from the facts', () => {
  it('the 18 November shape (a feature file, a fail-closed bot-management module) yields the fail-closed action item', () => {
    const data = postmortemData(nov18());
    const finding = data.findings.find((f) => f.code === 'fail-closed-widened');
    assert.ok(finding);
    assert.equal(finding.source, 'modules[0]');
    assert.match(finding.text, /bot-management is fail-closed .* on the 10 nodes where the new version failed to load, .* 2,000 requests failed/);
    const item = data.action_items.find((a) => a.code === 'fail-closed-widened');
    assert.match(item?.text ?? '', /serve-stale/);
    const md = renderPostmortem(nov18(), { audience: 'internal' });
    assert.match(section(md, 'Action items'), /\| 1 \| Review whether failing closed serves that goal for bot-management; .* \| `modules\[0\]` \|/);
  });

  it('a serve-stale module yields no fail-closed finding', () => {
    const facts = nov18((f) => ({ ...f, modules: f.modules.map((m) => ({ ...m, on_load_failure: 'serve-stale' as const, reason: null })) }));
    assert.ok(!codes(facts).includes('fail-closed-widened'));
  });

  it('an artifact with no validation declared yields the validator action item', () => {
    const facts = nov18((f) => ({ ...f, rollouts: f.rollouts.map((r) => ({ ...r, validation: [] })) }));
    const item = postmortemData(facts).action_items.find((a) => a.code === 'no-validation');
    assert.ok(item);
    assert.equal(item.source, 'rollouts[0].validation');
    assert.match(item.text, /Declare validation for bot-management-features/);
  });

  it('the 18 November canary finds exactly the fail-closed module and the triage that first said DDoS', () => {
    assert.deepEqual(codes(nov18()), ['fail-closed-widened', 'triage-wrong-first']);
  });

  it('a late gate, an earlier alert, break-glass, slow triage and silent nodes each yield their finding', () => {
    const data = postmortemData(withEverything());
    assert.deepEqual(data.findings.map((f) => f.code), [
      'fail-closed-widened', 'no-validation', 'alert-before-gate', 'gate-late', 'breakglass-needed', 'triage-slow', 'nodes-unreported',
    ]);
    const text = (code: FindingCode) => data.findings.find((f) => f.code === code)?.text ?? '';
    assert.equal(text('gate-late'), 'Gate proxy/error_rate on stage canary failed 1 min 10 s after the errors began (11:05:00 UTC): more than 2 evaluation intervals of 10 s.');
    assert.equal(text('alert-before-gate'), 'Alert ProxyErrorsHigh fired at 11:05:50 UTC, 20 s before a gate failed (11:06:10 UTC).');
    assert.equal(text('triage-slow'), 'The first triage result came 6 min 40 s after the incident opened, more than 5 min.');
    assert.match(text('breakglass-needed'), /ana\.silva ran lkg on bot-management-features at 11:06:20 UTC, applied on 10 of 10 nodes/);
    assert.match(text('nodes-unreported'), /^1 of 10 cohort nodes of rollout ro-7f3a9c never reported/);
  });

  it('an incident opened by an alert with no failed gate says the gates missed it', () => {
    const facts = nov18((f) => ({
      ...f,
      incident: { ...f.incident, opened_by: 'alert', opened_at: f.alerts[0]?.started_at ?? 0 },
      rollouts: f.rollouts.map((r) => ({ ...r, failed_gate: null, status: 'completed' as const, rollback_started_at: null, rolled_back_at: null })),
    }));
    const data = postmortemData(facts);
    assert.equal(data.detection.by, 'alert');
    assert.equal(data.detection.time_to_detect_s, 75);
    const finding = data.findings.find((f) => f.code === 'gates-missed');
    assert.equal(finding?.text, 'The incident was opened by an alert at 11:06:15 UTC, 1 min 15 s after the change started; no gate failed.');
  });

  it('a change outside failsmall is the trigger when there is no rollout, and yields the staging action item', () => {
    const facts = nov18((f) => ({ ...f, rollouts: [], incident: { ...f.incident, rollout_id: null, opened_by: 'alert' } }));
    const data = postmortemData(facts);
    assert.equal(data.trigger?.kind, 'change');
    assert.equal(data.trigger?.id, 'CHG-88213');
    assert.equal(data.detection.time_to_detect_s, 75 + 600);
    assert.deepEqual(data.findings.map((f) => f.code).slice(0, 2), ['fail-closed-widened', 'unstaged-change']);
  });
});

describe('postmortem rendering', () => {
  it('is deterministic: the same facts give the same bytes, in both variants and in JSON', () => {
    const a = withEverything();
    const b = JSON.parse(JSON.stringify(a)) as PostmortemFacts;
    for (const audience of ['internal', 'public'] as const) assert.equal(renderPostmortem(a, { audience }), renderPostmortem(b, { audience }));
    assert.equal(JSON.stringify(postmortemData(a)), JSON.stringify(postmortemData(b)));
  });

  it('follows the template: every section, in order', () => {
    const md = renderPostmortem(nov18(), { audience: 'internal' });
    const titles = md.split('\n').filter((l) => l.startsWith('## ')).map((l) => l.slice(3));
    assert.deepEqual(titles, [
      'Summary', 'Impact', 'Trigger and root cause', 'Detection', 'Response and recovery', 'Timeline (UTC)',
      'What went well', 'What went wrong', 'Where we got lucky', 'Action items',
    ]);
  });

  it('escapes pipes from recorded text in tables', () => {
    const facts = nov18((f) => ({ ...f, changes: [{ id: 'CHG-1', at: f.incident.opened_at - 1000, summary: 'a | b' }] }));
    assert.ok(section(renderPostmortem(facts, { audience: 'internal' }), 'Timeline (UTC)').includes('a \\| b'));
  });
});

/** Every string in the facts except enumerated values, which are vocabulary rather than names. */
function identifiers(value: unknown, key = ''): string[] {
  const ENUMS = new Set(['status', 'kind', 'severity', 'opened_by', 'on_load_failure', 'action', 'direction', 'basis', 'class']);
  if (typeof value === 'string') return ENUMS.has(key) || value === '' ? [] : [value];
  if (Array.isArray(value)) return value.flatMap((v) => identifiers(v, key));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => identifiers(v, k));
  return [];
}

describe('the public variant', () => {
  const cases: [string, PostmortemFacts][] = [
    ['the 18 November canary', nov18()],
    ['a run with break-glass, alerts and silent nodes', withEverything()],
    ['a change outside failsmall', nov18((f) => ({ ...f, rollouts: [], incident: { ...f.incident, rollout_id: null } }))],
  ];
  for (const [name, facts] of cases) {
    it(`${name}: names no identifier from the facts (nodes, artifact, module, rollout, gate, operator, versions, hosts, URLs)`, () => {
      const pub = renderPostmortem(facts, { audience: 'public' });
      const ids = [...new Set(identifiers(facts))];
      assert.ok(ids.length > 20);
      for (const id of ids) assert.ok(!pub.includes(id), `public text contains "${id}"`);
      assert.doesNotMatch(pub, /https?:|\.internal|`/);
    });
  }

  it('keeps the numbers: durations, shares, counts and tiers', () => {
    const t = truth(NOV18_CANARY);
    const pub = renderPostmortem(nov18(), { audience: 'public' });
    assert.match(pub, new RegExp(`About ${t.failed.toLocaleString('en-US')} requests failed because of it \\(between 1,9\\d\\d and 2,0\\d\\d\\), on the 10 of our 1,000 servers that received it\\.`), pub);
    assert.ok(pub.includes(`**Failed requests:** ${t.failed.toLocaleString('en-US')} of ${t.requests.toLocaleString('en-US')} (0.0163%)`), pub);
    assert.ok(pub.includes(`detected the problem ${t.time_to_detect_s} s after the change began`));
    assert.ok(pub.includes(`reverted automatically, ${t.time_to_mitigate_s} s after it began`));
    assert.ok(pub.includes('| free | 4,320,000 | 2,000 | 0.0463% | 10 of 600 (1.67%) |'));
  });

  it('turns findings into what we are doing, in neutral words', () => {
    const doing = section(renderPostmortem(withEverything(), { audience: 'public' }), 'What we are doing');
    assert.match(doing, /keep serving with its last known-good version/);
    assert.match(doing, /validation so that a malformed version is rejected/);
  });
});
