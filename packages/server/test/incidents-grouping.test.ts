import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Agent } from '@failsmall/agent';
import { alertmanager } from './alerts.ts';
import { featureFleet } from './feature-fleet.ts';
import { call, testServer, waitFor } from './fixtures.ts';

type Server = Awaited<ReturnType<typeof testServer>>;
interface Notice { kind: string; id: string; incident: { id: string; title: string } | null; details: Record<string, unknown> }
interface IncidentRow { id: string; title: string; status: string; opened_by: string; rollout_id: string | null }

/**
 * The grouping rule (docs/incidents.md), clause by clause, through the HTTP API: real agents
 * refuse bad versions, their gates fail, rollbacks happen; alerts, change events and hand-opened
 * incidents arrive as a user sends them; every notice is caught by a webhook receiver.
 */
describe('incidents tell the truth: one per failed rollout, related signals only', () => {
  let s: Server;
  let receiver: ReturnType<typeof createServer>;
  const notices: Notice[] = [];
  const agents: Agent[] = [];
  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => { notices.push(JSON.parse(body) as Notice); res.end('ok'); });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const port = (receiver.address() as { port: number }).port;
    s = await testServer({ incidentTickMs: 50, notifyTargets: [{ type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secret: 'a-webhook-secret-of-some-length' }] });
    agents.push(...await featureFleet(s, { bad: ['v2', 'v3', 'v4', 'v5'], nodes: ['g1', 'g2', 'g3'] }));
    const r1 = await post('/v1/rollouts', { artifact: 'features', version: 'v1' });
    await waitFor('v1', async () => (await call(s.url, 'GET', `/v1/rollouts/${r1.body.rollout.id}`)).body.rollout.status === 'completed', 30_000);
  });
  // Each clause starts with no incident open: what one test left open must not be related to the next one's signals.
  beforeEach(async () => { await resolveAll(); });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.cleanup();
    receiver.close();
  });

  const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });
  const incidents = async () => (await call(s.url, 'GET', '/v1/incidents')).body.incidents as IncidentRow[];
  const detail = async (id: string) => (await call(s.url, 'GET', `/v1/incidents/${id}`)).body as { incident: IncidentRow; timeline: { kind: string; text: string; data: Record<string, unknown> }[] };
  const failRollout = async (version: string): Promise<string> => {
    const r = await post('/v1/rollouts', { artifact: 'features', version });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.rollout.id as string;
    await waitFor(`${version} rolled back`, async () => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout.status === 'rolled_back', 30_000);
    return id;
  };
  const incidentOf = (rollout: string) => waitFor(`the incident of ${rollout}`, async () => (await incidents()).find((i) => i.rollout_id === rollout));
  const noticeOf = (kind: string, match: (n: Notice) => boolean) => waitFor(`a ${kind} notice`, async () => notices.find((n) => n.kind === kind && match(n)), 30_000);
  const resolveAll = async () => {
    for (const i of await incidents()) if (i.status !== 'resolved') await post(`/v1/incidents/${i.id}/status`, { status: 'resolved' });
  };

  it('gives each failed rollout an incident of its own, titled with its own version, never an unrelated hand-opened one', async () => {
    const hand = await post('/v1/incidents', { title: 'login errors in EU', severity: 'sev2' });
    assert.equal(hand.status, 201);
    assert.equal(hand.body.opened, true);
    const r2 = await failRollout('v2');
    const i2 = await incidentOf(r2);
    const r3 = await failRollout('v3');
    const i3 = await incidentOf(r3);
    assert.notEqual(i2.id, i3.id, 'two failed rollouts, two incidents');
    assert.notEqual(i2.id, hand.body.incident.id);
    assert.deepEqual([i2.opened_by, i3.opened_by], ['gate', 'gate']);
    assert.match(i2.title, /^features v2: gate .* failed at stage canary$/);
    assert.match(i3.title, /^features v3: gate .* failed at stage canary$/);
    assert.doesNotMatch(i3.title, /v2/, 'the title never takes another rollout\'s version');
    const handAfter = await detail(hand.body.incident.id);
    assert.deepEqual([handAfter.incident.title, handAfter.incident.rollout_id], ['login errors in EU', null]);
    assert.deepEqual(handAfter.timeline.filter((e) => e.kind === 'rollout'), [], 'no rollout events on the unrelated incident');
    // The recorder files events as it reads the log: wait for the rollback to reach the timeline, then check them all.
    const own = await waitFor('r3\'s rollout events on its incident', async () => {
      const events = (await detail(i3.id)).timeline.filter((e) => e.kind === 'rollout').map((e) => e.data.rollout);
      return events.length >= 2 ? events : undefined;
    }, 30_000);
    assert.ok(own.every((r) => r === r3), `only r3's events on its incident: ${JSON.stringify(own)}`);

    // The notices: one incident.opened per incident (the hand-opened one too); each rollback names its own incident.
    const rolledBack2 = await noticeOf('rollout.rolled_back', (n) => n.details.rollout === r2);
    const rolledBack3 = await noticeOf('rollout.rolled_back', (n) => n.details.rollout === r3);
    assert.deepEqual([rolledBack2.incident?.id, rolledBack3.incident?.id], [i2.id, i3.id]);
    for (const id of [hand.body.incident.id as string, i2.id, i3.id]) await noticeOf('incident.opened', (n) => n.incident?.id === id);
  });

  it('lets a related hand-opened incident adopt the next failed rollout (its title follows), and opens a new one for the rollout after', async () => {
    const first = await post('/v1/incidents', { title: 'bot scores missing', severity: 'sev2', modules: ['bot-management'] });
    assert.equal(first.status, 201);
    // A second person opening one about the same module, minutes later, joins the first.
    const second = await post('/v1/incidents', { title: 'bot-management is broken', artifacts: ['features'], note: 'seen from the dashboard' });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.deepEqual([second.body.opened, second.body.incident.id], [false, first.body.incident.id]);
    assert.match(second.body.joined_because, /names (bot-management|features)/);
    const r4 = await failRollout('v4');
    const adopted = await incidentOf(r4);
    assert.equal(adopted.id, first.body.incident.id, 'the related incident with no rollout adopted r4');
    assert.match(adopted.title, /^features v4: gate .* failed at stage canary$/, 'the title follows what the incident is about now');
    const entries = (await detail(adopted.id)).timeline;
    assert.ok(entries.some((e) => e.kind === 'status' && e.data.title_was === 'bot scores missing' && e.data.joined === r4), 'the timeline says the rollout joined, and what the title was');
    assert.ok(entries.some((e) => e.kind === 'note' && e.text === 'seen from the dashboard'), 'the joined request\'s note is kept');
    const r5 = await failRollout('v5');
    const i5 = await incidentOf(r5);
    assert.notEqual(i5.id, adopted.id, 'an incident holds one failed rollout: r5 opens its own');
    assert.match(i5.title, /v5/);
    const rolledBack4 = await noticeOf('rollout.rolled_back', (n) => n.details.rollout === r4);
    assert.equal(rolledBack4.incident?.id, adopted.id);
  });

  it('joins an alert or a change to an open incident only when it is related and recent; otherwise an alert opens its own', async () => {
    const r = await post('/v1/incidents', { title: 'feature file suspect', artifacts: ['features'] });
    assert.equal(r.status, 201);
    const about = r.body.incident.id as string;
    const now = Date.now();
    const at = (ms: number) => new Date(now + ms).toISOString();
    const ingest = async (name: string, fingerprint: string, startsAt: string, labels: Record<string, string>) => {
      const body = alertmanager([{ name, fingerprint, startsAt }], 'firing', labels);
      const res = await post('/v1/ingest/alertmanager', { ...body, groupKey: `{}:{alertname="${name}"}` });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { incident: string; opened: boolean };
    };
    const same = await ingest('BotScoreMissing', 'a1', at(-60_000), { module: 'bot-management' });
    assert.deepEqual([same.incident, same.opened], [about, false], 'an alert about the incident\'s module joins it (features belongs to bot-management)');
    const other = await ingest('BillingErrors', 'a2', at(-60_000), { service: 'billing' });
    assert.equal(other.opened, true, 'an alert about another service opens its own');
    const old = await ingest('BotScoreLow', 'a3', at(-2 * 3600_000), { module: 'bot-management' });
    assert.equal(old.opened, true, 'the same module two hours earlier is not the same incident');
    const again = await ingest('BillingErrors', 'a4', at(-30_000), {});
    assert.deepEqual([again.incident, again.opened], [other.incident, false], 'the same alert name, minutes later, joins the incident it fired in');

    const change = async (summary: string, services: string[]) => {
      const res = await post('/v1/ingest/change', { payload: { summary, timestamp: at(-10_000), source: 'ci' }, services });
      assert.equal(res.status, 202);
    };
    await change('billing v8 deployed', ['billing']);
    await change('bot-management rules reloaded', ['bot-management']);
    const changes = async (id: string) => (await detail(id)).timeline.filter((e) => e.kind === 'change').map((e) => e.text);
    assert.deepEqual(await changes(other.incident), ['change: billing v8 deployed (billing) from ci']);
    assert.deepEqual(await changes(about), ['change: bot-management rules reloaded (bot-management) from ci']);
    assert.deepEqual(await changes(old.incident), [], 'the change is recent: it does not join the incident whose signals are two hours old');

    // Every incident was announced once, and every notice so far names its incident.
    const opened = await waitFor('an opened notice per incident', async () => {
      const ids = (await incidents()).map((i) => i.id);
      const announced = notices.filter((n) => n.kind === 'incident.opened').map((n) => n.incident?.id);
      return ids.every((id) => announced.includes(id)) ? announced : undefined;
    });
    assert.equal(opened.length, new Set(opened).size, 'one incident.opened per incident');
    assert.deepEqual(notices.filter((n) => n.incident === null || n.incident.id === undefined), [], 'no notice without its incident');
  });
});
