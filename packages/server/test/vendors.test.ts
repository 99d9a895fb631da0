/**
 * Vendor status pages: Atlassian Statuspage `/api/v2/summary.json`, served by a REAL local
 * HTTP server (node:http on 127.0.0.1) that changes its answer between polls.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { freePort, waitFor } from '../../../test/helpers/procs.ts';
import { parseStatuspageSummary, StatuspagePoller, statuspageSummaryUrl, type VendorPoll } from '../src/vendors/index.ts';

/** Shaped like www.githubstatus.com/api/v2/summary.json, with the fields failsmall does not read. */
function summary(o: { indicator?: string; description?: string; actions?: string; incidents?: unknown[] } = {}) {
  const component = (id: string, name: string, status: string, position: number, extra: object = {}) => ({
    id, name, status, created_at: '2017-01-31T20:05:05.370Z', updated_at: '2025-11-18T11:40:01.000Z', position,
    description: `${name} for everyone`, showcase: false, start_date: null, group_id: null, page_id: 'kctbh9vrtdwd',
    group: false, only_show_if_degraded: false, ...extra,
  });
  return {
    page: { id: 'kctbh9vrtdwd', name: 'GitHub', url: 'https://www.githubstatus.com', time_zone: 'Etc/UTC', updated_at: '2025-11-18T11:40:01.000Z' },
    components: [
      component('8l4ygp009s5s', 'Git Operations', 'operational', 1),
      component('brv1bkgrwx7q', 'API Requests', 'operational', 2),
      component('4230lsnqdsld', 'Actions', o.actions ?? 'operational', 3),
      component('0l2p9nhqnxpd', 'Visit www.githubstatus.com for more information', 'operational', 4, { group: true, components: ['8l4ygp009s5s'] }),
    ],
    incidents: o.incidents ?? [],
    scheduled_maintenances: [],
    status: { indicator: o.indicator ?? 'none', description: o.description ?? 'All Systems Operational' },
  };
}

const ACTIONS_INCIDENT = {
  id: 'x2y4z6', name: 'Incident with Actions', status: 'investigating', impact: 'major',
  created_at: '2025-11-18T11:31:00.000Z', updated_at: '2025-11-18T11:40:01.000Z', monitoring_at: null, resolved_at: null,
  shortlink: 'https://stspg.io/abc123', started_at: '2025-11-18T11:31:00.000Z', page_id: 'kctbh9vrtdwd',
  incident_updates: [{ id: 'u1', status: 'investigating', body: 'We are investigating reports of degraded performance for Actions', created_at: '2025-11-18T11:31:00.000Z' }],
  components: [{ id: '4230lsnqdsld', name: 'Actions', status: 'major_outage' }],
};

/** What the page answers next: set between polls. */
let answer: (res: ServerResponse) => void = (res) => json(res, 200, summary());
let requested: string[] = [];
function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
}

let server: Server;
let root = '';
before(async () => {
  server = createServer((req, res) => { requested.push(req.url ?? ''); answer(res); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function poller(vendors: { name: string; url: string }[], o: { timeoutMs?: number; intervalMs?: number } = {}) {
  const polls: VendorPoll[] = [];
  const warnings: string[] = [];
  let t = 1_763_465_000_000;
  const p = new StatuspagePoller(vendors, { log: { warn: (m) => { warnings.push(m); } }, onPoll: (poll) => { polls.push(poll); }, now: () => (t += 1000), ...o });
  return { p, polls, warnings };
}

describe('parseStatuspageSummary', () => {
  it("reads the indicator, components and unresolved incidents, and ignores the page's other fields", () => {
    const r = parseStatuspageSummary(summary({ indicator: 'major', description: 'Partial System Outage', actions: 'major_outage', incidents: [ACTIONS_INCIDENT] }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.value, {
      page: { name: 'GitHub', url: 'https://www.githubstatus.com', updated_at: '2025-11-18T11:40:01.000Z' },
      indicator: 'major',
      description: 'Partial System Outage',
      components: [
        { name: 'Git Operations', status: 'operational', group: false },
        { name: 'API Requests', status: 'operational', group: false },
        { name: 'Actions', status: 'major_outage', group: false },
        { name: 'Visit www.githubstatus.com for more information', status: 'operational', group: true },
      ],
      incidents: [{ name: 'Incident with Actions', status: 'investigating', impact: 'major', created_at: '2025-11-18T11:31:00.000Z', updated_at: '2025-11-18T11:40:01.000Z', shortlink: 'https://stspg.io/abc123' }],
    });
  });

  it('accepts the minimal page, and the undocumented maintenance indicator real pages send', () => {
    const minimal = parseStatuspageSummary({ page: { name: 'Tiny' }, status: { indicator: 'none', description: 'ok' }, components: [], incidents: [] });
    assert.deepEqual(minimal, { ok: true, value: { page: { name: 'Tiny' }, indicator: 'none', description: 'ok', components: [], incidents: [] } });
    const maintenance = parseStatuspageSummary(summary({ indicator: 'maintenance', description: 'Service Under Maintenance', actions: 'under_maintenance' }));
    assert.ok(maintenance.ok && maintenance.value.indicator === 'maintenance');
  });

  it('refuses wrong types and unknown values, naming the path', () => {
    const cases: [unknown, string][] = [
      [summary({ indicator: 'catastrophic' }), 'status.indicator'],
      [summary({ actions: 'on fire' }), 'components[2].status'],
      [{ ...summary(), components: 'all good' }, 'components'],
      [{ ...summary(), incidents: [{ ...ACTIONS_INCIDENT, impact: 7 }] }, 'incidents[0].impact'],
      [{ ...summary(), page: { name: 42 } }, 'page.name'],
      [{ page: { name: 'x' }, components: [], incidents: [] }, 'status'],
      [[], ''],
      [null, ''],
    ];
    for (const [doc, path] of cases) {
      const r = parseStatuspageSummary(doc);
      assert.ok(!r.ok, `accepted ${JSON.stringify(doc).slice(0, 80)}`);
      assert.equal(r.error.code, 'BAD_STATUSPAGE');
      assert.equal(r.error.path, path);
      assert.match(r.error.message, /^not a Statuspage summary: /);
    }
  });

  it('never throws, and extra fields anywhere never change the result (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), (doc) => {
      const r = parseStatuspageSummary(doc);
      return r.ok || r.error.code === 'BAD_STATUSPAGE';
    }));
    const base = parseStatuspageSummary(summary({ incidents: [ACTIONS_INCIDENT] }));
    const extra = fc.dictionary(fc.string().filter((k) => !['name', 'status', 'impact', 'created_at', 'updated_at', 'shortlink', 'group', 'url', 'page', 'components', 'incidents', 'indicator', 'description', '__proto__'].includes(k)), fc.jsonValue(), { maxKeys: 4 });
    fc.assert(fc.property(extra, extra, extra, (top, comp, inc) => {
      const doc = summary({ incidents: [{ ...ACTIONS_INCIDENT, ...inc }] });
      const withExtra = { ...doc, ...top, components: doc.components.map((c) => ({ ...c, ...comp })) };
      assert.deepEqual(parseStatuspageSummary(withExtra), base);
    }), { numRuns: 200 });
  });
});

describe('statuspageSummaryUrl', () => {
  it('appends /api/v2/summary.json to a page root, and keeps a full summary URL', () => {
    assert.deepEqual(statuspageSummaryUrl('https://www.githubstatus.com'), { ok: true, url: 'https://www.githubstatus.com/api/v2/summary.json' });
    assert.deepEqual(statuspageSummaryUrl('https://status.example.com/'), { ok: true, url: 'https://status.example.com/api/v2/summary.json' });
    assert.deepEqual(statuspageSummaryUrl('https://example.com/status'), { ok: true, url: 'https://example.com/status/api/v2/summary.json' });
    assert.deepEqual(statuspageSummaryUrl('https://status.example.com/api/v2/summary.json'), { ok: true, url: 'https://status.example.com/api/v2/summary.json' });
    assert.ok(!statuspageSummaryUrl('status.example.com').ok);
    assert.ok(!statuspageSummaryUrl('file:///etc/passwd').ok);
  });
});

describe('StatuspagePoller, against a real status page', () => {
  it('reports each answer of the page: operational, major outage, 500, malformed JSON, a wrong-type body', async () => {
    requested = [];
    const { p, polls, warnings } = poller([{ name: 'github', url: root }]);

    answer = (res) => json(res, 200, summary());
    const [ok] = await p.pollOnce();
    assert.deepEqual(ok, {
      vendor: 'github', at_ms: 1_763_465_001_000, reachable: true, indicator: 'none',
      components: [
        { name: 'Git Operations', status: 'operational', group: false },
        { name: 'API Requests', status: 'operational', group: false },
        { name: 'Actions', status: 'operational', group: false },
        { name: 'Visit www.githubstatus.com for more information', status: 'operational', group: true },
      ],
      incidents: [],
    });

    answer = (res) => json(res, 200, summary({ indicator: 'major', description: 'Partial System Outage', actions: 'major_outage', incidents: [ACTIONS_INCIDENT] }));
    const [outage] = await p.pollOnce();
    assert.equal(outage?.reachable, true);
    assert.equal(outage?.indicator, 'major');
    assert.deepEqual(outage?.components?.filter((c) => c.status !== 'operational'), [{ name: 'Actions', status: 'major_outage', group: false }]);
    assert.deepEqual(outage?.incidents?.map((i) => [i.name, i.status, i.impact, i.shortlink]), [['Incident with Actions', 'investigating', 'major', 'https://stspg.io/abc123']]);

    answer = (res) => json(res, 500, { error: 'internal' });
    const [status500] = await p.pollOnce();
    assert.deepEqual(status500, { vendor: 'github', at_ms: 1_763_465_003_000, reachable: false, error: { code: 'HTTP_STATUS', message: `${root}/api/v2/summary.json answered HTTP 500` } });

    answer = (res) => json(res, 200, '{"page": {"name": "GitHub"}, "status": ');
    const [malformed] = await p.pollOnce();
    assert.equal(malformed?.reachable, false);
    assert.equal(malformed?.error?.code, 'BAD_JSON');
    assert.equal(malformed?.indicator, undefined, 'no indicator is made up for a page that gave none');

    answer = (res) => json(res, 200, { ...summary(), components: [{ name: 'Git Operations', status: 1 }] });
    const [wrongType] = await p.pollOnce();
    assert.equal(wrongType?.reachable, false);
    assert.equal(wrongType?.error?.code, 'BAD_STATUSPAGE');
    assert.match(wrongType?.error?.message ?? '', /components\[0\]\.status/);

    assert.deepEqual(polls.map((q) => [q.reachable, q.indicator ?? q.error?.code]), [[true, 'none'], [true, 'major'], [false, 'HTTP_STATUS'], [false, 'BAD_JSON'], [false, 'BAD_STATUSPAGE']]);
    assert.deepEqual(new Set(requested), new Set(['/api/v2/summary.json']), 'the page root got /api/v2/summary.json');
    assert.equal(warnings.length, 3, 'each unusable answer is logged once');
  });

  it('uses a full summary URL as given, and hands triage the maintenance indicator as maintenance (planned work, not an outage)', async () => {
    requested = [];
    answer = (res) => json(res, 200, summary({ indicator: 'maintenance', description: 'Service Under Maintenance', actions: 'under_maintenance' }));
    const { p } = poller([{ name: 'custom', url: `${root}/status/v2/summary.json?x=1` }]);
    const [poll] = await p.pollOnce();
    assert.deepEqual(requested, ['/status/v2/summary.json?x=1']);
    assert.equal(poll?.reachable, true);
    assert.equal(poll?.indicator, 'maintenance');
    assert.ok(poll?.components?.some((c) => c.name === 'Actions' && c.status === 'under_maintenance'));
  });

  it('reports a page that refuses connections or does not answer in time as unreachable', async () => {
    const closedPort = await freePort();
    answer = () => { /* never answers */ };
    const { p } = poller([{ name: 'down', url: `http://127.0.0.1:${closedPort}` }, { name: 'slow', url: root }, { name: 'typo', url: 'githubstatus.com' }], { timeoutMs: 100 });
    const polls = await p.pollOnce();
    assert.deepEqual(polls.map((q) => [q.vendor, q.reachable, q.error?.code]), [['down', false, 'UNREACHABLE'], ['slow', false, 'TIMEOUT'], ['typo', false, 'BAD_URL']]);
    assert.match(polls[0]?.error?.message ?? '', /ECONNREFUSED/);
    assert.match(polls[1]?.error?.message ?? '', /did not answer within 100 ms/);
  });

  it('polls on start and on every interval until stopped; a failing onPoll does not stop it', async () => {
    answer = (res) => json(res, 200, summary());
    const polls: VendorPoll[] = [];
    const warnings: string[] = [];
    const p = new StatuspagePoller([{ name: 'github', url: root }], {
      intervalMs: 10, log: { warn: (m) => { warnings.push(m); } },
      onPoll: (poll) => { polls.push(poll); if (polls.length === 1) throw new Error('recorder is busy'); },
    });
    p.start();
    await waitFor('three polls', () => polls.length >= 3);
    await p.stop();
    const seen = polls.length;
    assert.ok(polls.every((q) => q.reachable && q.indicator === 'none'));
    assert.ok(warnings.some((w) => w.includes('onPoll failed for github: recorder is busy')));
    await new Promise((resolve) => setTimeout(resolve, 100)); // ten intervals: a live timer would have polled
    assert.equal(polls.length, seen, 'no poll after stop()');
  });

  it('gives polls that fit the triage input (StatusPoll: at_ms, reachable, indicator?, components?)', async () => {
    answer = (res) => json(res, 200, summary({ indicator: 'minor', actions: 'degraded_performance' }));
    const { p } = poller([{ name: 'github', url: root }]);
    const [poll] = await p.pollOnce();
    // The same shape as packages/core/src/triage/input.ts StatusPoll, written out here.
    type StatusPoll = {
      readonly at_ms: number; readonly reachable: boolean; readonly indicator?: 'none' | 'minor' | 'major' | 'critical' | 'maintenance';
      readonly components?: readonly { readonly name: string; readonly status: 'operational' | 'degraded_performance' | 'partial_outage' | 'major_outage' | 'under_maintenance' }[];
    };
    assert.ok(poll);
    const forTriage: StatusPoll = poll;
    assert.equal(forTriage.indicator, 'minor');
  });
});
