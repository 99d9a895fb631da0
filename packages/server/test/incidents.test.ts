import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from '@failsmall/agent';
import type { TriageInput } from '@failsmall/core';
import { alertmanager } from './alerts.ts';
import { call, DECLARATIONS, testServer, waitFor } from './fixtures.ts';
import { triageInputFor } from '../src/incidents/triage-input.ts';
import { runCli } from '../../../test/helpers/procs.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

describe('incidents', () => {
  let s: Server;
  before(async () => { s = await testServer({ incidentTickMs: 50 }); });
  after(async () => { await s.cleanup(); });
  const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });
  const incidents = async () => (await call(s.url, 'GET', '/v1/incidents')).body.incidents as { id: string; status: string; opened_by: string; rollout_id: string | null; resolved_at: number | null }[];

  it('refuses malformed Alertmanager and change payloads with a 4xx and a logged reason, and changes nothing', async () => {
    const bad: [unknown, RegExp][] = [
      [{ ...alertmanager([{ name: 'A', fingerprint: 'f1' }]), version: '3' }, /version/],
      [{ ...alertmanager([{ name: 'A', fingerprint: 'f1' }]), alerts: 'many' }, /alerts/],
      [{ ...alertmanager([{ name: 'A', fingerprint: '' }]) }, /fingerprint/],
      [{ ...alertmanager([{ name: 'A', fingerprint: 'f1', startsAt: 'soon' }]) }, /startsAt/],
    ];
    for (const [body, message] of bad) {
      const r = await post('/v1/ingest/alertmanager', body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error.message, message);
    }
    const notJson = await call(s.url, 'POST', '/v1/ingest/alertmanager', { token: s.admin, body: '{"version": "4",', type: 'application/json' });
    assert.equal(notJson.status, 400);
    const change = await post('/v1/ingest/change', { payload: { source: 'ci' } });
    assert.equal(change.status, 400);
    assert.match(change.body.error.message, /summary/);
    const noToken = await call(s.url, 'POST', '/v1/ingest/alertmanager', { json: alertmanager([{ name: 'A', fingerprint: 'f1' }]) });
    assert.equal(noToken.status, 401);
    assert.deepEqual(await incidents(), [], 'no incident from refused payloads');
    const rejected = (await call(s.url, 'GET', '/v1/events?limit=1000')).body.events.filter((e: { type: string }) => e.type === 'ingest.rejected');
    assert.equal(rejected.length, 6, 'every refusal is logged with its reason, except the unauthenticated one');
    assert.ok(rejected.every((e: { payload: { reason: string } }) => e.payload.reason.length > 0));
  });

  it('groups an alert storm of 10,000 alerts in a minute into one incident, deduplicated by fingerprint', async () => {
    const names = ['HighErrorRate', 'ProxyDown', 'LatencyHigh', 'BotScoreMissing'];
    const posts = [];
    for (let p = 0; p < 100; p++) {
      posts.push(alertmanager(Array.from({ length: 100 }, (_, i) => ({ name: names[(p + i) % names.length] as string, fingerprint: `fp-${p}-${i}` })), 'firing', { service: 'bot-management' }));
    }
    // 100 posts at once, then the first 20 again (Alertmanager re-sends on its repeat_interval).
    const results = await Promise.all([...posts, ...posts.slice(0, 20)].map((b) => post('/v1/ingest/alertmanager', b)));
    assert.ok(results.every((r) => r.status === 200), JSON.stringify(results.find((r) => r.status !== 200)?.body));
    const open = await incidents();
    assert.equal(open.length, 1, 'one incident, not 10,000');
    assert.equal(open[0]?.opened_by, 'alert');
    assert.equal(results.filter((r) => r.body.opened).length, 1);
    const detail = (await call(s.url, 'GET', `/v1/incidents/${open[0]?.id}`)).body;
    assert.equal(detail.alerts.total, 10_000);
    assert.equal(detail.alerts.by_name.reduce((n: number, g: { receipts: number }) => n + g.receipts, 0), 12_000);
    const alertEntries = detail.timeline.filter((e: { kind: string }) => e.kind === 'alert');
    assert.deepEqual(alertEntries.map((e: { data: { alertname: string } }) => e.data.alertname).sort(), [...names].sort(), 'one timeline entry per alert name');
    // Resolved: the timeline says so once per name.
    await post('/v1/ingest/alertmanager', alertmanager([{ name: 'ProxyDown', fingerprint: 'fp-0-1', status: 'resolved' }], 'resolved'));
    const after = (await call(s.url, 'GET', `/v1/incidents/${open[0]?.id}`)).body;
    assert.ok(after.timeline.some((e: { text: string }) => e.text === 'alert ProxyDown resolved'));
  });

  it('records change events (PagerDuty shape) once, on the timeline of the open incident about the service they touched', async () => {
    const body = { routing_key: 'x', payload: { summary: 'Deployed bot-management config v2', timestamp: '2026-11-26T11:18:00Z', source: 'config-pipeline', custom_details: { services: ['bot-management'], build: 4711 } }, links: [{ href: 'https://ci.example.com/4711', text: 'build' }] };
    const first = await post('/v1/ingest/change', body);
    assert.equal(first.status, 202);
    const again = await post('/v1/ingest/change', body);
    assert.equal(again.status, 200);
    assert.equal(again.body.recorded, false);
    // Another service's change at the same time is recorded for triage, but is no part of this incident.
    const billing = await post('/v1/ingest/change', { payload: { summary: 'Deployed billing v7', timestamp: '2026-11-26T11:19:00Z', source: 'ci' }, services: ['billing'] });
    assert.equal(billing.status, 202);
    const id = (await incidents())[0]?.id;
    const t = (await call(s.url, 'GET', `/v1/incidents/${id}`)).body.timeline.filter((e: { kind: string }) => e.kind === 'change');
    assert.equal(t.length, 1);
    assert.match(t[0].text, /Deployed bot-management config v2 \(bot-management\) from config-pipeline/);
  });

  it('keeps notes, status changes and resolution on the timeline; triage runs on demand', async () => {
    const id = (await incidents())[0]?.id as string;
    assert.equal((await post(`/v1/incidents/${id}/notes`, { text: 'looking at the proxy' })).status, 201);
    assert.equal((await post(`/v1/incidents/${id}/status`, { status: 'investigating' })).status, 200);
    const t = await post(`/v1/incidents/${id}/triage`, {});
    assert.equal(t.status, 200);
    assert.ok(Array.isArray(t.body.triage.hypotheses) && t.body.triage.hypotheses.length === 5);
    assert.ok(t.body.triage.hypotheses[0].missing_signals.length > 0, 'no source diversity recorded: triage says it is missing');
    const resolved = await post(`/v1/incidents/${id}/status`, { status: 'resolved', note: 'config reverted' });
    assert.equal(resolved.body.incident.status, 'resolved');
    assert.ok(resolved.body.incident.resolved_at >= resolved.body.incident.opened_at);
    assert.equal((await post(`/v1/incidents/${id}/status`, { status: 'resolved' })).status, 409);
    assert.equal((await post(`/v1/incidents/${id}/status`, { status: 'gone' })).status, 400);
    assert.equal((await post('/v1/incidents/nope/notes', { text: 'x' })).status, 404);
    const kinds = (await call(s.url, 'GET', `/v1/incidents/${id}`)).body.timeline.map((e: { kind: string }) => e.kind);
    for (const k of ['status', 'alert', 'change', 'note', 'triage']) assert.ok(kinds.includes(k), `timeline has ${k}`);
  });

  it('opens an incident when a gate fails, linked to the rollout, with the rollback on its timeline', async () => {
    await rollBackOne(s, async (id) => {
      const opened = await waitFor('an incident for the rollout', async () => (await incidents()).find((i) => i.rollout_id === id));
      assert.equal(opened.opened_by, 'gate');
      await waitFor('the rollback on its timeline', async () => {
        const tl = (await call(s.url, 'GET', `/v1/incidents/${opened.id}`)).body.timeline as { kind: string; data: { type?: string } }[];
        return tl.some((e) => e.data.type === 'rollout.rolling_back') && tl.some((e) => e.data.type === 'rollout.rolled_back') && tl.some((e) => e.kind === 'triage');
      });
    });
  });

  it('opens a failed rollout\'s incident at once, not at the recorder\'s next tick (here an hour away)', async () => {
    const slow = await testServer({ incidentTickMs: 3_600_000 });
    try {
      await rollBackOne(slow, async (id) => {
        const found = await waitFor('the incident, with the recorder\'s tick an hour away', async () => ((await call(slow.url, 'GET', '/v1/incidents', { token: slow.admin })).body.incidents as { rollout_id: string | null }[]).find((i) => i.rollout_id === id), 10_000);
        assert.equal(found.rollout_id, id);
      });
    } finally {
      await slow.cleanup();
    }
  });
});

/** Three agents, v1 completed, then v2 (300 entries, forced past its limit) rolled back at the canary; `then` gets its rollout id. */
async function rollBackOne(s: Server, then: (id: string) => Promise<void>): Promise<void> {
  const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });
  const token = (await post('/v1/tokens', { name: 'fleet', role: 'join' })).body.token as string;
  assert.equal((await post('/v1/apply', { text: DECLARATIONS })).status, 200);
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
  const tooMany = JSON.stringify(Array.from({ length: 300 }, (_, i) => `e${i}`));
  await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2&force=true', { token: s.admin, body: tooMany });
  const agents = ['g1', 'g2', 'g3'].map((id) => new Agent({ server: s.url, token, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: s.publicKey }));
  try {
    for (const a of agents) await a.start();
    await waitFor('3 nodes', async () => (await call(s.url, 'GET', '/v1/nodes', { token: s.admin })).body.nodes.length === 3);
    const r1 = await post('/v1/rollouts', { artifact: 'features', version: 'v1' });
    await waitFor('v1', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`, { token: s.admin })).body.rollout.status === 'completed');
    const r2 = await post('/v1/rollouts', { artifact: 'features', version: 'v2' });
    assert.equal(r2.status, 201, JSON.stringify(r2.body));
    const id = r2.body.rollout.id as string;
    await waitFor('v2 rolled back', async () => (await call(s.url, 'GET', `/v1/rollouts/${id}`, { token: s.admin })).body.rollout.status === 'rolled_back', 30_000);
    await then(id);
  } finally {
    for (const a of agents) await a.stop();
  }
}

describe('incident notices and vendor status pages, over real HTTP', () => {
  it('sends signed webhooks and Slack messages on open, triage, rollback and resolve; a dead target holds nothing up; status pages reach triage', async () => {
    const { createServer } = await import('node:http');
    const { verifyWebhookSignature } = await import('../src/notify/index.ts');
    const secret = 'a-webhook-secret-of-some-length';
    const webhook: { kind: string; ok: boolean; incident: string | null }[] = [];
    const slack: { text: string }[] = [];
    let page = { indicator: 'none', description: 'All Systems Operational' };
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        if (req.url === '/hook') {
          const check = verifyWebhookSignature(secret, String(req.headers['x-failsmall-timestamp']), body, String(req.headers['x-failsmall-signature']), Math.floor(Date.now() / 1000));
          webhook.push({ kind: String(req.headers['x-failsmall-event']), ok: check.ok, incident: (JSON.parse(body) as { incident: { id: string } | null }).incident?.id ?? null });
        } else if (req.url === '/slack') {
          slack.push(JSON.parse(body) as { text: string });
        } else if (req.url === '/api/v2/summary.json') {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ page: { id: 'x', name: 'CDN vendor', url: 'https://status.example.com', updated_at: new Date().toISOString() }, status: page, components: [{ id: 'c1', name: 'API', status: page.indicator === 'none' ? 'operational' : 'major_outage' }], incidents: [], scheduled_maintenances: [] }));
          return;
        }
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const port = (receiver.address() as { port: number }).port;
    const base = `http://127.0.0.1:${port}`;
    const s = await testServer({
      incidentTickMs: 50,
      notifyTargets: [{ type: 'webhook', url: `${base}/hook`, secret }, { type: 'slack', url: `${base}/slack` }, { type: 'webhook', url: 'http://127.0.0.1:1/down', secret }],
      statuspages: [{ name: 'cdn', url: base }], statuspageIntervalMs: 100,
    });
    const agents: Agent[] = [];
    try {
      const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });
      const token = (await post('/v1/tokens', { name: 'fleet', role: 'join' })).body.token as string;
      await post('/v1/apply', { text: DECLARATIONS });
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' });
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2&force=true', { token: s.admin, body: JSON.stringify(Array.from({ length: 300 }, (_, i) => i)) });
      for (const id of ['h1', 'h2']) {
        const a = new Agent({ server: s.url, token, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 100, pollWaitMs: 1000, publicKey: s.publicKey });
        agents.push(a);
        await a.start();
      }
      await waitFor('2 nodes', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 2);
      // bot-management calls the vendor's API: the vendor's status page is related to an incident about bot-management.
      for (const a of agents) a.meter('bot-management').dependency('edge-api', true, 12, { vendor: 'cdn' });
      const r1 = await post('/v1/rollouts', { artifact: 'features', version: 'v1' });
      await waitFor('v1', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`)).body.rollout.status === 'completed');
      const r2 = await post('/v1/rollouts', { artifact: 'features', version: 'v2' });
      // The third target refuses every connection: the rollback completes all the same.
      await waitFor('v2 rolled back', async () => (await call(s.url, 'GET', `/v1/rollouts/${r2.body.rollout.id}`)).body.rollout.status === 'rolled_back', 30_000);
      const incident = await waitFor('the incident', async () => (await call(s.url, 'GET', '/v1/incidents')).body.incidents[0]);
      page = { indicator: 'major', description: 'Major outage' }; // the vendor goes down during the incident
      await waitFor('the vendor outage on the timeline', async () => (await call(s.url, 'GET', `/v1/incidents/${incident.id}`)).body.timeline.some((e: { kind: string }) => e.kind === 'vendor'));
      const t = await post(`/v1/incidents/${incident.id}/triage`, {});
      assert.ok(!t.body.triage.hypotheses.some((h: { missing_signals: { signal: string }[] }) => h.missing_signals.some((m) => m.signal === 'vendor_status')), 'vendor status is not missing: it was polled');
      await post(`/v1/incidents/${incident.id}/status`, { status: 'resolved' });
      await waitFor('the notices', async () => ['incident.opened', 'incident.triaged', 'rollout.rolled_back', 'incident.resolved'].every((k) => webhook.some((w) => w.kind === k)) || undefined, 20_000);
      assert.ok(webhook.every((w) => w.ok), 'every webhook carries a valid HMAC signature');
      assert.deepEqual([...new Set(webhook.map((w) => w.incident))], [incident.id], 'every notice names the incident it belongs to');
      await waitFor('Slack too', async () => slack.length >= 4 || undefined);
      assert.ok(slack.every((m) => typeof m.text === 'string' && m.text.length > 0));
      // The rollback reads as a sentence built from the rollout and its failing gate, then its incident.
      const rollback = new RegExp(`^Rollout ${r2.body.rollout.id} of features v2 rolled back at stage canary: gate \\S+ failed \\([\\d.]+% vs 99\\.9% threshold\\)\\. Incident ${incident.id} \\(sev\\d, \\w+\\): `);
      assert.ok(slack.some((m) => rollback.test(m.text)), slack.map((m) => m.text).join('\n'));
      const opened = slack.filter((m) => m.text.startsWith(`Incident ${incident.id} (sev`));
      assert.equal(opened.length, 1, slack.map((m) => m.text).join('\n'));
      assert.match(opened[0]?.text ?? '', /\) opened by a failed gate: features v2: gate \S+ failed at stage canary\.$/, 'named once, not followed by itself');
    } finally {
      for (const a of agents) await a.stop();
      await s.cleanup();
      receiver.close();
    }
  });
});

describe('the postmortem of a recorded incident', () => {
  it('counts exactly what the agents recorded, by tier, and renders the internal, public and JSON drafts', async () => {
    const s = await testServer({ incidentTickMs: 50 });
    const agents: Agent[] = [];
    try {
      const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });
      const token = (await post('/v1/tokens', { name: 'fleet', role: 'join' })).body.token as string;
      const tiers = { p1: 'free', p2: 'free', p3: 'pro', p4: 'pro' } as const;
      for (const [id, tier] of Object.entries(tiers)) {
        const a = new Agent({ server: s.url, token, nodeId: id, labels: { customer_tier: tier }, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 50, pollWaitMs: 1000, publicKey: s.publicKey });
        agents.push(a);
        await a.start();
      }
      await waitFor('4 nodes', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 4);
      const opened = await post('/v1/incidents', { title: 'bot scores missing for free-tier customers', severity: 'sev2' });
      const id = opened.body.incident.id as string;
      // The truth: free-tier nodes fail 50 of 200 requests each, pro-tier nodes fail none.
      for (const a of agents) a.meter('bot-management').requests(200, tiers[a.nodeId as keyof typeof tiers] === 'free' ? 50 : 0, 5);
      await waitFor('the counters pushed', async () => {
        const pm = (await call(s.url, 'GET', `/v1/incidents/${id}/postmortem?format=json`)).body.postmortem;
        return pm?.impact?.requests === 800 || undefined;
      });
      await post(`/v1/incidents/${id}/status`, { status: 'resolved', note: 'bot-management restarted' });
      const json = (await call(s.url, 'GET', `/v1/incidents/${id}/postmortem?format=json`)).body.postmortem;
      assert.equal(json.impact.requests, 800);
      assert.equal(json.impact.failed_requests, 100);
      assert.equal(json.impact.failed_share, 100 / 800);
      assert.equal(json.impact.nodes_affected, 2);
      assert.equal(json.impact.nodes_total, 4);
      assert.equal(json.impact.customers_affected, null, 'customers are not recorded: no number is invented');
      const free = json.impact.by_tier.find((t: { tier: string }) => t.tier === 'free');
      const pro = json.impact.by_tier.find((t: { tier: string }) => t.tier === 'pro');
      assert.deepEqual([free.requests, free.failed_requests, pro.requests, pro.failed_requests], [400, 100, 400, 0]);
      assert.equal(json.incident.status, 'resolved');

      const md = await runCli(['postmortem', id, '--server', s.url, '--token', s.admin]);
      assert.equal(md.code, 0, md.stderr);
      assert.match(md.stdout, /bot scores missing for free-tier customers/);
      assert.match(md.stdout, /100/);
      assert.match(md.stdout, /rolled back|not recorded|bot-management restarted/);
      const pub = await runCli(['postmortem', id, '--server', s.url, '--public', '--token', s.admin]);
      assert.equal(pub.code, 0, pub.stderr);
      for (const secret of ['p1', 'p2', 'p3', 'p4', id, 'bot-management restarted']) assert.ok(!pub.stdout.includes(secret), `the public draft leaks ${secret}`);
      const asJson = await runCli(['postmortem', id, '--server', s.url, '--format', 'json', '--token', s.admin]);
      assert.equal(JSON.parse(asJson.stdout).postmortem.impact.failed_requests, 100);
      const missing = await runCli(['postmortem', 'inc-nope', '--server', s.url, '--token', s.admin]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /incident "inc-nope" not found/);
    } finally {
      for (const a of agents) await a.stop();
      await s.cleanup();
    }
  });
});

type Meter = import('@failsmall/agent').ModuleMeter;

describe('live triage reads what agents report: sources, request mix and dependencies', () => {
  /** The usual traffic of a node for one step: requests, sources from its usual prefixes, calls to auth. */
  function usualTraffic(m: Meter, n: number): void {
    m.requests(3000, 3, 20);
    for (let c = 0; c < 3000; c++) m.source(`198.51.${n * 16 + (c % 16)}.${c % 200}`);
    for (let c = 0; c < 300; c++) m.dependency('auth', true, 12);
  }

  /**
   * A fleet of 4 nodes reporting through the real metrics API on a controlled clock: 14 steps of
   * usual traffic, then the incident's traffic, then an alert. The counters are made by the
   * agent's own ModuleMeter (source prefixes, request mix, dependency calls). Returns the live
   * verdict and the triage input the control plane built for it.
   */
  async function replay(
    incident: (step: number, meter: Meter, node: number) => void,
    o: { usual?: (meter: Meter, node: number) => void; expensive?: string[] } = {},
  ): Promise<{ top: string; action: string; missing: string[]; input: TriageInput; alertAt: number }> {
    const { ModuleMeter } = await import('@failsmall/agent');
    let t = Math.floor(Date.now() / 30_000) * 30_000 - 30 * 60_000;
    const s = await testServer({ clock: { now: () => t }, incidentTickMs: 50 });
    try {
      const token = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token as string;
      for (let n = 0; n < 4; n++) await call(s.url, 'POST', '/v1/nodes/register', { token, json: { id: `n${n}`, labels: {}, modules: ['proxy'] } });
      const meters = [0, 1, 2, 3].map(() => new ModuleMeter(undefined, { warmupMs: 0 }, { expensive: o.expensive ?? [] }));
      const push = async () => {
        for (let n = 0; n < 4; n++) {
          const r = await call(s.url, 'POST', `/v1/nodes/n${n}/metrics`, { token, json: { modules: { proxy: meters[n]?.drain() } } });
          assert.equal(r.status, 200, JSON.stringify(r.body));
        }
      };
      for (let step = 0; step < 14; step++) {
        meters.forEach((m, n) => (o.usual ?? usualTraffic)(m, n));
        await push();
        t += 30_000;
      }
      const alertAt = t + 60_000;
      for (let step = 0; step < 6; step++) {
        meters.forEach((m, n) => incident(step, m, n));
        await push();
        t += 30_000;
      }
      const body = alertmanager([{ name: 'ProxyErrors', fingerprint: 'a1', startsAt: new Date(alertAt).toISOString() }]);
      const opened = await call(s.url, 'POST', '/v1/ingest/alertmanager', { token: s.admin, json: body });
      const r = await call(s.url, 'POST', `/v1/incidents/${opened.body.incident}/triage`, { token: s.admin, json: {} });
      const top = r.body.triage.hypotheses[0];
      const stored = await s.store.incidents.get(opened.body.incident);
      assert.ok(stored);
      return {
        top: top.class, action: top.first_action, missing: top.missing_signals.map((m: { signal: string }) => m.signal),
        input: await triageInputFor(s.store, stored, t), alertAt,
      };
    } finally {
      await s.cleanup();
    }
  }

  /** A replay's verdict, for an assertion's message (the input is too long to read there). */
  const verdict = (r: { top: string; action: string; missing: string[] }) => JSON.stringify({ top: r.top, action: r.action, missing: r.missing });

  it('an attack from never-seen prefixes is a DDoS', async () => {
    const r = await replay((step, m, n) => {
      m.requests(12_000, 2400, 20);
      for (let c = 0; c < 12_000; c++) m.source(`${10 + ((step * 7 + n * 13 + c) % 200)}.${(c * 31) % 250}.${(c * 17 + step) % 250}.9`);
      for (let c = 0; c < 300; c++) m.dependency('auth', true, 12);
    });
    assert.equal(r.top, 'ddos', verdict(r));
    assert.ok(!r.missing.includes('source_entropy') && !r.missing.includes('never_seen_sources'), 'the agents reported sources');
    assert.equal(r.input.request_mix, undefined, 'no agent reported a request mix: the family is left out, not zero');
  });

  it('the same surge from the usual prefixes is a flash crowd, not an attack', async () => {
    const r = await replay((_step, m, n) => {
      m.requests(12_000, 2400, 20);
      for (let c = 0; c < 12_000; c++) m.source(`198.51.${n * 16 + (c % 16)}.${c % 200}`);
      for (let c = 0; c < 300; c++) m.dependency('auth', true, 12);
    });
    assert.notEqual(r.top, 'ddos', verdict(r));
  });

  it('a slow, failing dependency of ours is an internal degradation, and the first action names it', async () => {
    const r = await replay((_step, m, n) => {
      m.requests(3000, 600, 20);
      for (let c = 0; c < 3000; c++) m.source(`198.51.${n * 16 + (c % 16)}.${c % 200}`);
      for (let c = 0; c < 300; c++) m.dependency('auth', c % 3 !== 0, 900);
    });
    assert.equal(r.top, 'internal-degradation', verdict(r));
    assert.match(r.action, /auth/);
  });

  it('an application-layer attack shows in the request mix: its entropies fall, its expensive share and cost rise', async () => {
    const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
    const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1';
    const GOOGLEBOT = 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/120.0.6099.129 Safari/537.36';
    // A node's usual step: [method, path class, user agent, ms, requests]; 3000 requests, /search is expensive.
    const usualMix: [string, string, string, number, number][] = [
      ['GET', '/', CHROME, 5, 900], ['GET', '/item/:id', FIREFOX, 12, 800], ['GET', '/item/:id', SAFARI, 12, 500],
      ['POST', '/cart', CHROME, 30, 300], ['GET', '/search', CHROME, 150, 200], ['GET', '/static/*', GOOGLEBOT, 2, 200], ['HEAD', '/', 'curl/8.5.0', 1, 100],
    ];
    const usual = (m: Meter, n: number, share = 1) => {
      for (const [method, path_class, user_agent, cost_ms, count] of usualMix) m.mix({ method, path_class, user_agent, cost_ms }, Math.round(count * share));
      if (share === 1) usualTraffic(m, n);
    };
    const r = await replay((_step, m, n) => {
      // The attack: 11,000 searches a step from one client library, slow to answer, on top of a third of the usual traffic.
      m.requests(12_000, 2400, 20);
      usual(m, n, 1 / 3);
      m.mix({ method: 'GET', path_class: '/search', user_agent: 'python-requests/2.31.0', cost_ms: 400 }, 11_000);
      for (let c = 0; c < 12_000; c++) m.source(`198.51.${n * 16 + (c % 16)}.${c % 200}`);
      for (let c = 0; c < 300; c++) m.dependency('auth', true, 12);
    }, { usual, expensive: ['/search'] });

    const mix = r.input.request_mix;
    assert.ok(mix, 'the control plane built the request mix from the agents\' counters');
    const { method_entropy_bits: method, path_entropy_bits: path, user_agent_entropy_bits: ua, expensive_share: expensive, cost_ms_per_request: cost } = mix;
    assert.ok(method && path && ua && expensive && cost, 'all five series');
    // The usual step's values, from the table. Paths: / 1000, /item/:id 1300, /cart 300, /search 200, /static/* 200 of 3000.
    const bits = (counts: number[]) => { const all = counts.reduce((a, b) => a + b, 0); return -counts.reduce((h, c) => h + (c / all) * Math.log2(c / all), 0); };
    assert.ok(Math.abs(path.baseline - bits([1000, 1300, 300, 200, 200])) < 0.001, `path entropy baseline ${path.baseline}`);
    assert.ok(Math.abs(method.baseline - bits([2600, 300, 100])) < 0.001, `method entropy baseline ${method.baseline}`);
    assert.ok(Math.abs(ua.baseline - bits([1400, 800, 500, 200, 100])) < 0.001, `user-agent entropy baseline ${ua.baseline}`);
    assert.ok(Math.abs(expensive.baseline - 200 / 3000) < 1e-9, `expensive share baseline ${expensive.baseline}`);
    assert.ok(Math.abs(cost.baseline - (900 * 5 + 1300 * 12 + 300 * 30 + 200 * 150 + 200 * 2 + 100) / 3000) < 0.01, `cost baseline ${cost.baseline}`);
    // Per 30 s step, fleet-wide: the steps before the attack and the six of the attack.
    assert.equal(path.samples.length, 20);
    assert.ok(path.samples.every((x) => x.at_ms % 30_000 === 0));
    const during = (s: { samples: readonly { at_ms: number; value: number }[] }) => s.samples.slice(-6).map((x) => x.value);
    for (const x of during(path)) assert.ok(x < path.baseline / 2, `path entropy ${x} fell from ${path.baseline}`);
    for (const x of during(ua)) assert.ok(x < ua.baseline / 2, `user-agent entropy ${x} fell from ${ua.baseline}`);
    for (const x of during(method)) assert.ok(x < method.baseline / 2, `method entropy ${x} fell from ${method.baseline}`);
    for (const x of during(expensive)) assert.ok(x > 0.9, `expensive share ${x} rose from ${expensive.baseline}`);
    for (const x of during(cost)) assert.ok(x > 10 * cost.baseline, `cost per request ${x} rose from ${cost.baseline}`);
    assert.ok(r.input.sources, 'the other families are built as before');
    // From the usual sources, so only the request mix tells it from a crowd: triage reads it.
    assert.equal(r.top, 'ddos', verdict(r));
    assert.match(r.action, /^turn on DDoS mitigation: rate-limit what the attack asks for .*92% of requests to expensive paths vs 6\.7%/);
  });
});
