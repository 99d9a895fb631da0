/**
 * Outbound notifications against REAL local HTTP receivers (node:http on 127.0.0.1): no HTTP
 * test doubles. Nothing asserts on time; waits have deadlines and name what never happened.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { freePort, REPO_ROOT, sleep, waitFor } from '../../../test/helpers/procs.ts';
import {
  backoffDelayMs, Notifier, outcomeOf, parseNotifyTargets, retryAfterMs, signWebhook, slackPayload, verifyWebhookSignature,
  webhookRequest, type DeliveryResult, type NotificationEvent, type NotifierOptions, type NotifyTarget,
} from '../src/notify/index.ts';

const SECRET = 'test-secret-0123456789abcdef';

function event(n: number, over: Partial<NotificationEvent> = {}): NotificationEvent {
  return {
    kind: 'incident.opened',
    id: `evt-${n}`,
    at: Date.UTC(2025, 10, 18, 11, 28, n),
    incident: { id: 'inc-42', title: '5xx on the proxy', severity: 'sev1', status: 'open' },
    summary: `gate load_success_rate failed on stage canary (event ${n})`,
    details: { rollout: 'bot-features-r17', stage: 'canary', value: 0.412 },
    url: 'http://127.0.0.1:7070/incidents/inc-42',
    ...over,
  };
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real HTTP server; `answer` decides each response (it may keep `res` to answer later). */
class Receiver {
  readonly received: Received[] = [];
  readonly #server: Server;
  url = '';

  constructor(answer: (r: Received, res: ServerResponse, n: number) => void = (_r, res) => { res.end('ok'); }) {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.received.push(r);
        answer(r, res, this.received.length);
      });
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

const receivers: Receiver[] = [];
const notifiers: Notifier[] = [];
async function receiver(answer?: ConstructorParameters<typeof Receiver>[0], port?: number): Promise<Receiver> {
  const r = await new Receiver(answer).listen(port);
  receivers.push(r);
  return r;
}

function capture() {
  const lines: string[] = [];
  return { lines, log: { info: (m: string) => { lines.push(m); }, warn: (m: string) => { lines.push(m); } } };
}

/** Small delays so retries happen in milliseconds. */
function notifier(targets: NotifyTarget[], o: Partial<NotifierOptions> = {}) {
  const { lines, log } = capture();
  const results: DeliveryResult[] = [];
  const n = new Notifier(targets, { log, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000, onResult: (r) => results.push(r), ...o });
  notifiers.push(n);
  return { n, lines, results };
}

after(async () => {
  await Promise.all(notifiers.map((n) => n.close()));
  await Promise.all(receivers.map((r) => r.close()));
});

const nowSec = () => Math.floor(Date.now() / 1000);

describe('webhook signatures', () => {
  const body = '{"id":"evt-1"}';

  it('accepts what it signed, and only within the tolerance of the receiver clock', () => {
    const sig = signWebhook(SECRET, 1_000_000, body);
    assert.match(sig, /^sha256=[0-9a-f]{64}$/);
    assert.deepEqual(verifyWebhookSignature(SECRET, '1000000', body, sig, 1_000_000), { ok: true });
    assert.deepEqual(verifyWebhookSignature(SECRET, 1_000_000, Buffer.from(body), sig, 1_000_300), { ok: true }, 'raw bytes and the edge of 300 s pass');
    const stale = verifyWebhookSignature(SECRET, '1000000', body, sig, 1_000_301);
    assert.equal(stale.ok ? 'ok' : stale.code, 'STALE_TIMESTAMP');
    const early = verifyWebhookSignature(SECRET, '1000000', body, sig, 999_000);
    assert.equal(early.ok ? 'ok' : early.code, 'STALE_TIMESTAMP', 'a timestamp far in the future is refused too');
  });

  it('refuses another body, another secret, a moved timestamp and malformed headers', () => {
    const sig = signWebhook(SECRET, 1_000_000, body);
    const code = (c: ReturnType<typeof verifyWebhookSignature>) => (c.ok ? 'ok' : c.code);
    assert.equal(code(verifyWebhookSignature(SECRET, '1000000', '{"id":"evt-2"}', sig, 1_000_000)), 'SIGNATURE_MISMATCH');
    assert.equal(code(verifyWebhookSignature('another-secret-0123456789', '1000000', body, sig, 1_000_000)), 'SIGNATURE_MISMATCH');
    // The replay the timestamp in the MAC prevents: the old body and signature under a fresh timestamp.
    assert.equal(code(verifyWebhookSignature(SECRET, '1000200', body, sig, 1_000_200)), 'SIGNATURE_MISMATCH');
    assert.equal(code(verifyWebhookSignature(SECRET, '1000000', body, sig.replace('sha256=', 'sha1='), 1_000_000)), 'BAD_SIGNATURE_HEADER');
    assert.equal(code(verifyWebhookSignature(SECRET, '1000000', body, undefined, 1_000_000)), 'BAD_SIGNATURE_HEADER');
    assert.equal(code(verifyWebhookSignature(SECRET, '1e6', body, sig, 1_000_000)), 'BAD_TIMESTAMP');
    assert.equal(code(verifyWebhookSignature(SECRET, undefined, body, sig, 1_000_000)), 'BAD_TIMESTAMP');
  });

  it('verifies any body it signed, and no other body (property)', () => {
    fc.assert(fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 4_000_000_000 }), (a, b, ts) => {
      const sig = signWebhook(SECRET, ts, a);
      assert.ok(verifyWebhookSignature(SECRET, ts, a, sig, ts).ok);
      if (a !== b) assert.ok(!verifyWebhookSignature(SECRET, ts, b, sig, ts).ok);
    }));
  });

  it('sends the documented body and headers, and signs exactly the bytes it sends', () => {
    const { body: sent, headers } = webhookRequest(event(1), SECRET, 1_763_465_288);
    assert.deepEqual(JSON.parse(sent), {
      id: 'evt-1', kind: 'incident.opened', at: '2025-11-18T11:28:01.000Z', summary: 'gate load_success_rate failed on stage canary (event 1)',
      incident: { id: 'inc-42', title: '5xx on the proxy', severity: 'sev1', status: 'open' },
      details: { rollout: 'bot-features-r17', stage: 'canary', value: 0.412 }, url: 'http://127.0.0.1:7070/incidents/inc-42',
    });
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['x-failsmall-event'], 'incident.opened');
    assert.equal(headers['x-failsmall-delivery'], 'evt-1');
    assert.equal(headers['x-failsmall-timestamp'], '1763465288');
    assert.deepEqual(verifyWebhookSignature(SECRET, headers['x-failsmall-timestamp'], sent, headers['x-failsmall-signature'], 1_763_465_288), { ok: true });
    const { body: noIncident } = webhookRequest(event(2, { incident: undefined, url: undefined }), SECRET, 0);
    assert.equal(JSON.parse(noIncident).incident, null, 'an event about no incident says so');
  });
});

describe('the signature example in docs/incidents.md', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/incidents.md'), 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(.+)$`, 'm').exec(doc);
    assert.ok(m?.[1], `docs/incidents.md has no "${name}:" line in its example`);
    return m[1];
  };
  const example = { secret: field('secret'), timestamp: field('timestamp'), body: field('body'), signature: field('signature'), standard: field('webhook-signature') };

  it('holds: webhook-signature is what the standardwebhooks library signs and verifies', () => {
    const id = JSON.parse(example.body).id as string;
    const wh = new Webhook(example.secret);
    assert.equal(wh.sign(id, new Date(Number(example.timestamp) * 1000), example.body), example.standard);
    const sent = webhookRequest(event(1), example.secret, nowSec());
    assert.equal((wh.verify(sent.body, sent.headers) as { id: string }).id, 'evt-1', 'failsmall signs under the example secret as the library reads it');
    assert.ok(doc.includes(`webhook-id: ${id}`) && doc.includes(`webhook-timestamp: ${example.timestamp}`));
  });

  it('holds: the signature is the HMAC of the example timestamp and body', () => {
    assert.equal(signWebhook(example.secret, example.timestamp, example.body), example.signature);
    assert.deepEqual(verifyWebhookSignature(example.secret, example.timestamp, example.body, example.signature, Number(example.timestamp) + 60), { ok: true });
    assert.ok(doc.includes(`x-failsmall-signature: ${example.signature}`), 'the example request carries the same signature');
  });

  it("runs the doc's receiver snippet as written, and it agrees with verifyWebhookSignature", async () => {
    const m = /```js\n([\s\S]*?)```/.exec(doc);
    assert.ok(m?.[1], 'docs/incidents.md has a ```js snippet');
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-doc-'));
    try {
      const file = join(dir, 'verify.mjs');
      writeFileSync(file, m[1]);
      const mod: unknown = await import(pathToFileURL(file).href);
      const verify = z.object({ verifyFailsmall: z.function() }).parse(mod).verifyFailsmall as
        (secret: string, headers: Record<string, string>, body: string | Buffer, nowSec?: number) => boolean;
      const headers = { 'x-failsmall-timestamp': example.timestamp, 'x-failsmall-signature': example.signature };
      const at = Number(example.timestamp);
      assert.equal(verify(example.secret, headers, example.body, at + 60), true);
      assert.equal(verify(example.secret, headers, Buffer.from(example.body), at), true, 'a raw Buffer body');
      assert.equal(verify(example.secret, headers, example.body.replace('sev1', 'sev2'), at), false, 'a changed body');
      assert.equal(verify(example.secret, headers, example.body, at + 301), false, 'a replay after 5 minutes');
      assert.equal(verify('whsec_another_secret_000000', headers, example.body, at), false, 'another secret');
      const fresh = webhookRequest(event(3), SECRET, nowSec());
      assert.equal(verify(SECRET, fresh.headers, fresh.body), true, 'a request failsmall builds, at the current time');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Block Kit's rules for the blocks failsmall uses (https://api.slack.com/reference/block-kit/blocks).
const PlainText = z.object({ type: z.literal('plain_text'), text: z.string().min(1).max(150) }).strict();
const Mrkdwn = (max: number) => z.object({ type: z.literal('mrkdwn'), text: z.string().min(1).max(max) }).strict();
const Block = z.union([
  z.object({ type: z.literal('header'), text: PlainText }).strict(),
  z.object({ type: z.literal('section'), text: Mrkdwn(3000) }).strict(),
  z.object({ type: z.literal('section'), fields: z.array(Mrkdwn(2000)).min(1).max(10) }).strict(),
  z.object({ type: z.literal('context'), elements: z.array(Mrkdwn(3000)).min(1).max(10) }).strict(),
]);
const SlackMessage = z.object({ text: z.string().min(1), blocks: z.array(Block).min(1).max(50) }).strict();
const EMOJI = /\p{Extended_Pictographic}|:[a-z_]+:/u;

describe('the Slack payload', () => {
  it('is a valid Block Kit message with a plain-text fallback', () => {
    const p = SlackMessage.parse(slackPayload(event(1)));
    assert.equal(p.text, 'Gate load_success_rate failed on stage canary (event 1). Incident inc-42 (sev1, open): 5xx on the proxy.');
    assert.doesNotMatch(p.text, EMOJI);
    assert.deepEqual(p.blocks.map((b) => b.type), ['header', 'section', 'section', 'context']);
    const text = JSON.stringify(p.blocks);
    assert.ok(text.includes('Incident opened: 5xx on the proxy'));
    assert.ok(text.includes('<http://127.0.0.1:7070/incidents/inc-42|Open in failsmall>'));
    assert.ok(text.includes('*Severity*\\nsev1') && text.includes('*Rollout*\\nbot-features-r17') && text.includes('*Value*\\n0.412'));
    assert.ok(text.includes('<!date^1763465281^{date_short_pretty} {time_secs}|2025-11-18T11:28:01.000Z>'), 'the time, in the reader\'s zone');
  });

  it('stays valid for every kind, without an incident, with huge or markup-laden text (property)', () => {
    const kinds = ['incident.opened', 'incident.triaged', 'rollout.rolled_back', 'breakglass.used', 'incident.resolved'] as const;
    fc.assert(fc.property(
      fc.constantFrom(...kinds), fc.string({ minLength: 1, maxLength: 5000 }), fc.option(fc.string({ minLength: 1, maxLength: 400 }), { nil: undefined }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), fc.jsonValue(), { maxKeys: 15 }),
      (kind, summary, title, details) => {
        const e = event(1, { kind, summary, details, incident: title === undefined ? undefined : { id: 'i', title, severity: 'sev2', status: 'open' } });
        const r = SlackMessage.safeParse(slackPayload(e));
        assert.ok(r.success, JSON.stringify(r.error?.issues[0]));
      },
    ), { numRuns: 200 });
  });

  it('says what happened when the summary is blank (a counterexample the property found)', () => {
    const p = SlackMessage.parse(slackPayload(event(1, { kind: 'incident.opened', summary: ' ', details: {}, incident: undefined })));
    assert.equal(p.text, 'Incident opened.');
  });

  it("escapes Slack's markup, so a title cannot ping a channel or forge a link", () => {
    const p = slackPayload(event(1, { summary: '<!channel> & <https://evil.example|click>', details: { '<b>': 'x > y' } }));
    const text = JSON.stringify(p.blocks);
    assert.ok(text.includes('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;'));
    assert.ok(text.includes('*&lt;b&gt;*\\nx &gt; y'));
    assert.ok(!text.includes('<!channel>'));
  });
});

describe('parseNotifyTargets', () => {
  it('turns URLs and a secret into targets', () => {
    const r = parseNotifyTargets({ webhook: ['https://ops.example.com/failsmall'], webhookSecret: SECRET, slack: ['https://hooks.slack.com/services/T/B/X'] });
    assert.deepEqual(r, { ok: true, targets: [{ type: 'webhook', url: 'https://ops.example.com/failsmall', secret: SECRET }, { type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }] });
    assert.deepEqual(parseNotifyTargets({}), { ok: true, targets: [] });
  });

  it('names every bad input: a bad URL, a missing secret, a short secret', () => {
    const missing = parseNotifyTargets({ webhook: ['https://ok.example.com', 'not a url'], slack: ['ftp://x.example.com'] });
    assert.ok(!missing.ok);
    assert.deepEqual(missing.errors.map((e) => [e.code, e.path]), [
      ['MISSING_WEBHOOK_SECRET', 'webhookSecret'], ['BAD_NOTIFY_URL', 'webhook[1]'], ['BAD_NOTIFY_URL', 'slack[0]'],
    ]);
    assert.ok(missing.errors.every((e) => e.message.length > 0 && (e.hint ?? '').length > 0));
    const short = parseNotifyTargets({ webhook: ['https://ok.example.com'], webhookSecret: 'fifteen-chars!!' });
    assert.ok(!short.ok);
    assert.deepEqual(short.errors.map((e) => e.code), ['SHORT_WEBHOOK_SECRET']);
    assert.match(short.errors[0]?.message ?? '', /15 characters; at least 16/);
  });
});

describe('retries', () => {
  it('backs off exponentially with full jitter, up to the ceiling', () => {
    assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelayMs(a, 1000, 300_000, () => 0.999_999)), [999, 1999, 3999, 7999]);
    assert.equal(backoffDelayMs(30, 1000, 300_000, () => 0.5), 150_000, 'capped at maxDelayMs before the jitter');
    assert.equal(backoffDelayMs(3, 1000, 300_000, () => 0), 0);
    fc.assert(fc.property(fc.integer({ min: 1, max: 2000 }), fc.double({ min: 0, max: 0.999_999, noNaN: true }), (attempt, r) => {
      const d = backoffDelayMs(attempt, 1000, 300_000, () => r);
      return d >= 0 && d <= 300_000 && Number.isInteger(d);
    }));
  });

  it('retries network-like answers and honours Retry-After; takes any other answer as final', () => {
    const now = Date.UTC(2025, 10, 18, 12);
    assert.deepEqual(outcomeOf(204, undefined, '', now), { type: 'delivered', status: 204 });
    assert.deepEqual(outcomeOf(503, undefined, 'down', now), { type: 'retry', reason: 'HTTP 503: down' });
    assert.deepEqual(outcomeOf(429, '7', '', now), { type: 'retry', reason: 'HTTP 429', retryAfterMs: 7000 });
    assert.equal(outcomeOf(408, undefined, '', now).type, 'retry');
    assert.deepEqual(outcomeOf(400, undefined, 'invalid_blocks', now), { type: 'rejected', reason: 'HTTP 400: invalid_blocks' });
    assert.equal(outcomeOf(404, undefined, '', now).type, 'rejected');
    assert.equal(outcomeOf(301, undefined, '', now).type, 'rejected');
    assert.equal(retryAfterMs('Tue, 18 Nov 2025 12:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs('Tue, 18 Nov 2025 11:00:00 GMT', now), 0, 'a date in the past means now');
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
});

describe('Notifier, against real HTTP receivers', () => {
  it('delivers each event exactly once to a webhook, in order, with a valid signature and its delivery id', async () => {
    const hook = await receiver();
    const { n, results } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }]);
    for (const i of [1, 2, 3]) n.notify(event(i, { kind: i === 3 ? 'incident.resolved' : 'incident.opened' }));
    await waitFor('three deliveries', () => n.stats()[0]?.delivered === 3, { last: () => JSON.stringify(n.stats()) });
    assert.deepEqual(hook.received.map((r) => r.headers['x-failsmall-delivery']), ['evt-1', 'evt-2', 'evt-3']);
    for (const r of hook.received) {
      const check = verifyWebhookSignature(SECRET, String(r.headers['x-failsmall-timestamp']), r.body, String(r.headers['x-failsmall-signature']), nowSec());
      assert.deepEqual(check, { ok: true });
      const body = JSON.parse(r.body) as { id: string; kind: string };
      assert.equal(body.id, r.headers['x-failsmall-delivery']);
      assert.equal(body.kind, r.headers['x-failsmall-event']);
      assert.equal(r.headers['content-type'], 'application/json');
    }
    assert.deepEqual(n.stats(), [{ target: `webhook ${new URL(hook.url).origin}/hook`, type: 'webhook', delivered: 3, failed: 0, dropped: 0, pending: 0 }]);
    assert.deepEqual(results.map((r) => [r.event, r.result, r.attempts]), [['evt-1', 'delivered', 1], ['evt-2', 'delivered', 1], ['evt-3', 'delivered', 1]]);
  });

  it('posts a valid { text, blocks } message to a Slack incoming webhook', async () => {
    const slack = await receiver();
    const { n } = notifier([{ type: 'slack', url: slack.url }]);
    n.notify(event(1, { kind: 'rollout.rolled_back', summary: 'bot-features rolled back: gate load_success_rate failed on stage canary: 0.412 < 0.999' }));
    await waitFor('the Slack message', () => slack.received.length === 1);
    const got = slack.received[0];
    assert.ok(got);
    assert.equal(got.headers['content-type'], 'application/json');
    const msg = SlackMessage.parse(JSON.parse(got.body));
    assert.equal(msg.text, 'bot-features rolled back: gate load_success_rate failed on stage canary: 0.412 < 0.999. Incident inc-42 (sev1, open): 5xx on the proxy.');
    assert.equal(n.stats()[0]?.target, 'slack 127.0.0.1:' + new URL(slack.url).port, 'the Slack URL (a credential) is not shown whole');
  });

  it('returns from notify() before the target has even received the request, and keeps queueing while it hangs', async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((_r, res) => { held.push(res); });
    const { n } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }]);
    const returned = n.notify(event(1));
    assert.equal(hook.received.length, 0, 'notify() returned before the request arrived');
    // What it returns (the outbox write, when there is one) never waits on the target: it settles while the target hangs.
    assert.equal(await returned, undefined);
    assert.equal(n.stats()[0]?.pending, 1);
    await waitFor('the request to arrive', () => held.length === 1);
    n.notify(event(2));
    assert.deepEqual(n.stats()[0], { ...n.stats()[0], delivered: 0, pending: 2 }, 'the target still holds the first answer');
    held.shift()?.end('ok');
    await waitFor('the second request', () => held.length === 1);
    held.shift()?.end('ok');
    await waitFor('both delivered', () => n.stats()[0]?.delivered === 2);
    assert.deepEqual(hook.received.map((r) => r.headers['x-failsmall-delivery']), ['evt-1', 'evt-2']);
  });

  it('delivers to a target that was down once it comes up, while another target is not held back', async () => {
    const port = await freePort();
    const up = await receiver();
    const { n, lines } = notifier([{ type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secret: SECRET }, { type: 'slack', url: up.url }], { maxAttempts: 1000 });
    n.notify(event(1));
    await waitFor('the healthy target to get it', () => up.received.length === 1);
    await waitFor('two refused connections', () => (n.stats()[0]?.failed ?? 0) >= 2, { last: () => JSON.stringify(n.stats()) });
    assert.equal(n.stats()[0]?.delivered, 0);
    assert.ok(lines.some((l) => l.includes('ECONNREFUSED')), lines.join('\n'));
    const late = await receiver(undefined, port);
    await waitFor('delivery after the target came up', () => n.stats()[0]?.delivered === 1, { last: () => JSON.stringify(n.stats()) });
    assert.equal(late.received.length, 1);
    assert.equal(late.received[0]?.headers['x-failsmall-delivery'], 'evt-1');
    assert.equal(up.received.length, 1, 'the healthy target got it once, not once per retry elsewhere');
  });

  it('retries a 500 twice, then delivers on the 200, with the same delivery id and a fresh valid signature', async () => {
    const hook = await receiver((_r, res, i) => { res.statusCode = i <= 2 ? 500 : 200; res.end(i <= 2 ? 'boom' : 'ok'); });
    const { n, results, lines } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }]);
    n.notify(event(1));
    await waitFor('delivery', () => results.length === 1);
    assert.deepEqual(results.map((r) => [r.result, r.attempts]), [['delivered', 3]]);
    assert.equal(hook.received.length, 3);
    assert.deepEqual(new Set(hook.received.map((r) => r.headers['x-failsmall-delivery'])), new Set(['evt-1']));
    for (const r of hook.received) {
      assert.ok(verifyWebhookSignature(SECRET, String(r.headers['x-failsmall-timestamp']), r.body, String(r.headers['x-failsmall-signature']), nowSec()).ok);
    }
    assert.deepEqual(n.stats()[0], { ...n.stats()[0], delivered: 1, failed: 2, dropped: 0, pending: 0 });
    assert.equal(lines.filter((l) => l.includes('HTTP 500: boom')).length, 2);
  });

  it('retries a 429 after its Retry-After, and a target that did not answer in time', async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((_r, res, i) => {
      if (i === 1) { res.writeHead(429, { 'retry-after': '0' }).end('slow down'); return; }
      if (i === 2) { held.push(res); return; } // never answered: the attempt times out
      res.end('ok');
    });
    // 1 s: attempts 1 and 3 are answered and must not time out even on a loaded box, or the script shifts.
    const { n, results, lines } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }], { timeoutMs: 1000 });
    n.notify(event(1));
    await waitFor('delivery', () => results.length === 1, { last: () => lines.join('\n') });
    assert.deepEqual(results.map((r) => [r.result, r.attempts]), [['delivered', 3]]);
    assert.ok(lines.some((l) => l.includes('HTTP 429: slow down') && l.includes('next in 0 ms')), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('no answer within 1000 ms')), lines.join('\n'));
    for (const res of held) res.end();
  });

  it('does not retry a 400, and logs why it dropped the event', async () => {
    const hook = await receiver((_r, res) => { res.statusCode = 400; res.end('invalid_payload'); });
    const { n, results, lines } = notifier([{ type: 'slack', url: hook.url }]);
    n.notify(event(1));
    await waitFor('the drop', () => results.length === 1);
    assert.deepEqual(results.map((r) => [r.result, r.attempts]), [['dropped', 1]]);
    assert.match(results[0]?.reason ?? '', /refused \(HTTP 400: invalid_payload\); not retrying/);
    assert.ok(lines.some((l) => l.includes('dropped incident.opened evt-1') && l.includes('HTTP 400: invalid_payload')));
    n.notify(event(2));
    await waitFor('the next event to be tried', () => results.length === 2);
    assert.equal(hook.received.length, 2, 'one request per event: the 400 was never retried');
    assert.deepEqual(n.stats()[0], { ...n.stats()[0], delivered: 0, failed: 2, dropped: 2, pending: 0 });
  });

  it('drops an event after maxAttempts, then goes on with the next one', async () => {
    const hook = await receiver((_r, res, i) => { res.statusCode = i <= 3 ? 503 : 200; res.end(); });
    const { n, results, lines } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }], { maxAttempts: 3 });
    n.notify(event(1));
    n.notify(event(2));
    await waitFor('both settled', () => results.length === 2);
    assert.deepEqual(results.map((r) => [r.event, r.result, r.attempts]), [['evt-1', 'dropped', 3], ['evt-2', 'delivered', 1]]);
    assert.ok(lines.some((l) => l.includes('gave up after 3 attempts; the last: HTTP 503')));
    assert.deepEqual(n.stats()[0], { ...n.stats()[0], delivered: 1, failed: 3, dropped: 1, pending: 0 });
  });

  it('bounds the queue: past maxQueue the oldest waiting event is dropped, logged and counted', async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((_r, res) => { held.push(res); });
    const { n, lines, results } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }], { maxQueue: 2 });
    for (const i of [1, 2, 3, 4]) n.notify(event(i)); // evt-1 in flight; evt-2 and evt-3 wait; evt-4 pushes evt-2 out
    assert.deepEqual(n.stats()[0], { ...n.stats()[0], dropped: 1, pending: 3 });
    assert.deepEqual(results.map((r) => [r.event, r.result]), [['evt-2', 'dropped']]);
    assert.ok(lines.some((l) => l.includes('dropped incident.opened evt-2: the queue is full (2 waiting)')));
    for (let i = 0; i < 3; i++) {
      await waitFor(`request ${i + 1}`, () => held.length === 1);
      held.shift()?.end('ok');
    }
    await waitFor('the rest delivered', () => n.stats()[0]?.delivered === 3);
    assert.deepEqual(hook.received.map((r) => r.headers['x-failsmall-delivery']), ['evt-1', 'evt-3', 'evt-4']);
  });

  it('stops retrying at close(), and drops what it could not send', async () => {
    const hook = await receiver((_r, res) => { res.statusCode = 500; res.end(); });
    const { n, results } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }], { maxAttempts: 1000 });
    n.notify(event(1));
    n.notify(event(2));
    await waitFor('a few failed attempts', () => hook.received.length >= 3);
    await n.close();
    assert.deepEqual(n.stats()[0], { ...n.stats()[0], delivered: 0, dropped: 2, pending: 0 });
    // Order is not part of the contract: evt-1 may be in flight (aborted last) or waiting for its retry (dropped first).
    assert.deepEqual(results.map((r) => [r.event, r.result]).sort(), [['evt-1', 'dropped'], ['evt-2', 'dropped']]);
    n.notify(event(3));
    assert.equal(n.stats()[0]?.dropped, 3, 'an event after close is dropped at once');
    // A request sent just before close() may reach the receiver a moment after it: let it land, then count.
    await sleep(200);
    const seen = hook.received.length;
    await sleep(200); // ten times the longest backoff (maxDelayMs 20): a live retry loop would have fired several times
    assert.equal(hook.received.length, seen, 'no request after close');
  });

  it('lets a delivery in flight finish during close({ drainMs })', async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((_r, res) => { held.push(res); });
    const { n } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }]);
    n.notify(event(1));
    n.notify(event(2));
    await waitFor('the first request', () => held.length === 1);
    const closed = n.close({ drainMs: 30_000 });
    held.shift()?.end('ok');
    await waitFor('the queued event, sent during the drain', () => held.length === 1);
    held.shift()?.end('ok');
    await closed;
    assert.deepEqual(n.stats()[0], { ...n.stats()[0], delivered: 2, dropped: 0, pending: 0 });
  });

  it('aborts a delivery still in flight when the drain ends', async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((_r, res) => { held.push(res); });
    const { n, results } = notifier([{ type: 'webhook', url: hook.url, secret: SECRET }]);
    n.notify(event(1));
    await waitFor('the request', () => held.length === 1);
    await n.close({ drainMs: 50 });
    assert.deepEqual(results.map((r) => [r.event, r.result]), [['evt-1', 'dropped']]);
    assert.deepEqual(n.stats()[0], { ...n.stats()[0], delivered: 0, dropped: 1, pending: 0 });
    for (const res of held) res.end();
  });
});
