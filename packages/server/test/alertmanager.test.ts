/**
 * Alertmanager's webhook, from a REAL Alertmanager (Debian's 0.25) to a real control plane:
 * alerts pushed into Alertmanager's API are grouped by it and posted to the ingest route with
 * the bearer token of an `ingest` token, firing and then resolved. The body is whatever
 * Alertmanager 0.25 sends, not a fixture of ours, so a change in its shape fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireAlertmanager, TestAlertmanager, type PostableAlert } from '../../../test/helpers/alertmanager.ts';
import { waitFor } from '../../../test/helpers/procs.ts';
import { call, testServer } from './fixtures.ts';

type Detail = {
  incident: { id: string; title: string; severity: string; opened_by: string };
  timeline: { kind: string; text: string }[];
  alerts: { total: number; by_name: { name: string; firing: number; resolved: number; receipts: number }[] };
};

describe('Alertmanager 0.25 posting to the ingest route', () => {
  let s: Awaited<ReturnType<typeof testServer>> | undefined;
  let am: TestAlertmanager | undefined;
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  const alert = (instance: string, endsAt?: string): PostableAlert => ({
    labels: { alertname: 'CheckoutErrors', service: 'checkout', severity: 'critical', instance },
    annotations: { summary: 'Checkout is failing requests' },
    startsAt,
    ...(endsAt ? { endsAt } : {}),
  });

  before(async () => {
    requireAlertmanager(); // fail before starting anything else
    s = await testServer({ incidentTickMs: 50 });
    const ingest = await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'alertmanager', role: 'ingest' } });
    assert.equal(ingest.status, 201, JSON.stringify(ingest.body));
    am = await TestAlertmanager.start({ webhookUrl: `${s.url}/v1/ingest/alertmanager`, bearer: ingest.body.token as string });
  });

  after(async () => {
    await am?.cleanup();
    await s?.cleanup();
  });

  const incidents = async () => (await call(s!.url, 'GET', '/v1/incidents')).body.incidents as { id: string }[];
  const detail = async (id: string) => (await call(s!.url, 'GET', `/v1/incidents/${id}`)).body as Detail;
  const rejected = async () => (await call(s!.url, 'GET', '/v1/events?limit=1000')).body.events.filter((e: { type: string }) => e.type === 'ingest.rejected');
  const describeAll = () => `${am?.describe()}`;

  it('opens one incident for a firing alert, keeps a repeat in it, and records the resolution', async () => {
    await am!.push([alert('web-1')]);
    const [opened] = await waitFor('an incident opened by Alertmanager', async () => { const l = await incidents(); return l.length > 0 && l; }, { timeoutMs: 30_000, last: describeAll });
    assert.ok(opened);
    const first = await detail(opened.id);
    assert.equal(first.incident.opened_by, 'alert');
    assert.equal(first.incident.title, 'Checkout is failing requests', 'the title is the alert\'s summary annotation');
    assert.equal(first.incident.severity, 'sev1', 'severity=critical maps to sev1');
    assert.deepEqual(first.alerts.by_name.map((g) => [g.name, g.firing]), [['CheckoutErrors', 1]]);

    // The same alert again, and a second instance: Alertmanager re-sends the whole group,
    // web-1 included, which must join the open incident by its fingerprint, not open another.
    await am!.push([alert('web-1'), alert('web-2')]);
    const grown = await waitFor('the second instance to arrive', async () => { const d = await detail(opened.id); return d.alerts.total === 2 && d; }, { timeoutMs: 30_000, last: describeAll });
    assert.equal((await incidents()).length, 1, 'a repeat opens no second incident');
    const group = grown.alerts.by_name[0];
    assert.equal(group?.firing, 2);
    assert.ok((group?.receipts ?? 0) >= 3, `web-1 was received twice and web-2 once: ${JSON.stringify(group)}`);

    // Resolved: an endsAt in the past; Alertmanager sends it because send_resolved is true.
    const endsAt = new Date().toISOString();
    await am!.push([alert('web-1', endsAt), alert('web-2', endsAt)]);
    const resolved = await waitFor('the resolved notification', async () => { const d = await detail(opened.id); return d.alerts.by_name[0]?.resolved === 2 && d; }, { timeoutMs: 30_000, last: describeAll });
    assert.ok(resolved.timeline.some((e) => e.kind === 'alert' && e.text === 'alert CheckoutErrors resolved'), JSON.stringify(resolved.timeline));
    assert.equal((await incidents()).length, 1);
    assert.deepEqual(await rejected(), [], 'every post Alertmanager made was authenticated and accepted');
  });
});
