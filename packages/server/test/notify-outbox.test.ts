/**
 * The notifier's outbox, on a real SQLite file and a real PostgreSQL database, against real HTTP
 * receivers (node:http on 127.0.0.1). A "restart" is one Notifier closed and a new one resumed
 * over the same store. Nothing asserts on time; waits have deadlines and name what never happened.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { freePort, waitFor } from '../../../test/helpers/procs.ts';
import {
  Notifier, targetLabel, verifyWebhookSignature,
  type DeliveryResult, type NotificationEvent, type NotifierOptions, type NotifyTarget,
} from '../src/notify/index.ts';
import { openStore, type SqlStore, type StoreConfig } from '../src/store/index.ts';
import { freshPostgres } from './fixtures.ts';
import { ids, listen } from './http-receiver.ts';

const SECRET = 'outbox-test-secret-0123456789';
const DAY = 24 * 3600 * 1000;

function event(n: number): NotificationEvent {
  return {
    kind: 'rollout.rolled_back', id: `evt-${n}`, at: Date.UTC(2025, 10, 18, 11, 28, n),
    incident: { id: 'inc-7', title: 'load_success_rate failed', severity: 'sev2', status: 'open' },
    summary: `rollout bot-features-r${n} rolled back: gate load_success_rate failed on stage canary`,
    details: { rollout: `bot-features-r${n}`, stage: 'canary', value: 0.41 },
  };
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`the notifier's outbox (${engine} store)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-outbox-'));
    let config: StoreConfig;
    let store: SqlStore;
    let pgdb: Awaited<ReturnType<typeof freshPostgres>> | undefined;
    const open: { close(): Promise<void> }[] = [];

    /** A notifier over `store`'s outbox, with small delays so retries happen in milliseconds. */
    function notifier(targets: NotifyTarget[], o: Partial<NotifierOptions> = {}) {
      const lines: string[] = [];
      const results: DeliveryResult[] = [];
      const log = { info: (m: string) => { lines.push(m); }, warn: (m: string) => { lines.push(m); } };
      const n = new Notifier(targets, { log, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000, outbox: store.outbox, onResult: (r) => results.push(r), ...o });
      open.push(n);
      return { n, lines, results };
    }

    async function receiver(port?: number) {
      const r = await listen(port);
      open.push(r);
      return r;
    }

    before(async () => {
      if (engine === 'postgres') pgdb = await freshPostgres();
      config = pgdb ? { engine: 'postgres', url: pgdb.url } : { engine: 'sqlite', path: join(dir, 'fs.db') };
      store = await openStore(config);
    });
    beforeEach(async () => { await store.db.deleteFrom('notification_outbox').execute(); });
    afterEach(async () => { for (const o of open.splice(0)) await o.close(); });
    after(async () => {
      await store.close();
      await pgdb?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps what a stopped notifier could not send, and the next one delivers it exactly once, in order, with the same delivery id', async () => {
      const port = await freePort();
      const target: NotifyTarget = { type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secret: SECRET };
      const label = targetLabel(target);
      const first = notifier([target], { maxAttempts: 1000 });
      first.n.notify(event(1));
      first.n.notify(event(2));
      await waitFor('a failed attempt recorded in the outbox', async () => ((await store.outbox.pending())[0]?.attempts ?? 0) >= 1 || undefined,
        { last: () => first.lines.join('\n') });
      await first.n.close(); // the control plane stops
      assert.deepEqual(first.results, [], 'nothing was dropped at close');
      assert.deepEqual(first.n.stats()[0], { ...first.n.stats()[0], delivered: 0, dropped: 0, pending: 2 });
      assert.ok(first.lines.some((l) => l.includes('2 event(s) not sent before close; left pending in the outbox')), first.lines.join('\n'));
      const kept = await store.outbox.list({ target: label });
      assert.deepEqual(kept.map((r) => [r.event_id, r.state]), [['evt-1', 'pending'], ['evt-2', 'pending']]);
      assert.match(kept[0]?.last_error ?? '', /ECONNREFUSED/);

      const hook = await receiver(port); // the target comes back
      const second = notifier([target]);
      await second.n.resume();
      await waitFor('both delivered after the restart', async () => (await store.outbox.list({ state: 'delivered' })).length === 2 || undefined,
        { last: () => `${JSON.stringify(ids(hook.got))} ${second.lines.join('\n')}` });
      assert.deepEqual(ids(hook.got), ['evt-1', 'evt-2'], 'each once, in the order they were notified');
      for (const r of hook.got) {
        assert.ok(verifyWebhookSignature(SECRET, String(r.headers['x-failsmall-timestamp']), r.body, String(r.headers['x-failsmall-signature']), Math.floor(Date.now() / 1000)).ok);
      }
      assert.equal(JSON.parse(hook.got[0]?.body ?? '{}').summary, event(1).summary, 'the event as it was notified');
      assert.deepEqual(second.results.map((r) => [r.event, r.result]), [['evt-1', 'delivered'], ['evt-2', 'delivered']]);
      assert.ok((second.results[0]?.attempts ?? 0) >= 2, 'the attempts before the restart count');
      assert.ok(second.lines.some((l) => l.includes('2 pending event(s) from before the restart')), second.lines.join('\n'));
    });

    it('delivers an event notified twice once: in one process, and again after a restart', async () => {
      const hook = await receiver();
      const target: NotifyTarget = { type: 'webhook', url: hook.url, secret: SECRET };
      const first = notifier([target]);
      first.n.notify(event(1));
      first.n.notify(event(1)); // e.g. the recorder read the same event twice
      first.n.notify(event(2));
      // One queue per target, in order: once evt-2 is there, both copies of evt-1 were dealt with.
      await waitFor('evt-2', () => ids(hook.got).includes('evt-2') || undefined, { last: () => first.lines.join('\n') });
      assert.deepEqual(ids(hook.got), ['evt-1', 'evt-2']);
      await waitFor('both rows delivered', async () => (await store.outbox.list({ state: 'delivered' })).length === 2 || undefined);
      await first.n.close();

      const second = notifier([target]);
      await second.n.resume();
      second.n.notify(event(2)); // re-read after a crash, before the recorder's cursor moved on
      second.n.notify(event(3));
      await waitFor('evt-3', () => ids(hook.got).includes('evt-3') || undefined, { last: () => second.lines.join('\n') });
      assert.deepEqual(ids(hook.got), ['evt-1', 'evt-2', 'evt-3']);
      assert.ok(second.lines.some((l) => l.includes('evt-2 was notified before; not sent again')), second.lines.join('\n'));
      const rows = await store.outbox.list();
      assert.deepEqual(rows.map((r) => r.event_id), ['evt-1', 'evt-2', 'evt-3'], 'one row per target and event');
    });

    it('keeps a notice raised while it is closing (an alert during shutdown) for the next start', async () => {
      const hook = await receiver();
      const target: NotifyTarget = { type: 'webhook', url: hook.url, secret: SECRET };
      const first = notifier([target]);
      const closing = first.n.close();
      first.n.notify(event(5));
      await closing;
      assert.deepEqual(first.results, [], 'not dropped');
      assert.deepEqual((await store.outbox.list()).map((r) => [r.event_id, r.state]), [['evt-5', 'pending']]);
      const second = notifier([target]);
      await second.n.resume();
      await waitFor('evt-5 delivered after the restart', () => ids(hook.got).includes('evt-5') || undefined, { last: () => second.lines.join('\n') });
      assert.deepEqual(ids(hook.got), ['evt-5']);
    });

    it('keeps delivering from memory, and logs, when the outbox cannot be written', async () => {
      const broken = await openStore(config);
      await broken.close(); // every write now fails
      const hook = await receiver();
      const { n, lines, results } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }], { outbox: broken.outbox });
      await n.resume(); // cannot read the outbox: logged, not thrown
      n.notify(event(1));
      n.notify(event(2));
      await waitFor('both delivered', () => results.length === 2 || undefined, { last: () => lines.join('\n') });
      assert.deepEqual(results.map((r) => [r.event, r.result]), [['evt-1', 'delivered'], ['evt-2', 'delivered']]);
      assert.deepEqual(ids(hook.got), ['evt-1', 'evt-2']);
      assert.ok(lines.some((l) => /could not (delete old rows|read pending events|store an event) in the outbox/.test(l)), lines.join('\n'));
      await n.close();
    });

    it('leaves the rows of a target no longer configured alone, logged once; deletes old delivered rows; keeps targets that share a label apart', async () => {
      const gone = 'webhook http://gone.example/hook';
      const slackA = await receiver();
      const slackB = await receiver();
      // Two Slack channels on one host share the label "slack 127.0.0.1:…"; one here has the port of the other.
      const a: NotifyTarget = { type: 'slack', url: `${slackA.url}?channel=a` };
      const b: NotifyTarget = { type: 'slack', url: `${slackB.url}?channel=b`, name: targetLabel(a) };
      await store.outbox.add([{ target: gone, event: event(7) }, { target: gone, event: event(8) }], Date.now());
      const old = Date.now() - 8 * DAY;
      await store.outbox.add([{ target: targetLabel(a), event: event(9) }], old);
      await store.outbox.update(targetLabel(a), 'evt-9', { attempts: 1, state: 'delivered' }, old);
      const { n, lines } = notifier([a, b]);
      await n.resume();
      assert.equal(lines.filter((l) => l.includes(gone)).length, 1, lines.join('\n'));
      assert.deepEqual((await store.outbox.list({ target: gone })).map((r) => [r.event_id, r.state]), [['evt-7', 'pending'], ['evt-8', 'pending']]);
      assert.deepEqual(await store.outbox.list({ target: targetLabel(a) }), [], 'a week-old delivered row is deleted at start');
      n.notify(event(1));
      await waitFor('both channels', () => (slackA.got.length === 1 && slackB.got.length === 1) || undefined, { last: () => lines.join('\n') });
      // The rows are marked delivered a moment after the receivers answer.
      const targets = await waitFor('both rows marked delivered', async () => {
        const t = new Set((await store.outbox.list({ state: 'delivered' })).map((r) => r.target));
        return t.size === 2 ? t : undefined;
      });
      assert.equal(targets.size, 2, `two rows, one per channel: ${[...targets].join(', ')}`);
    });
  });
}
