/**
 * Outgoing webhooks in the Standard Webhooks shape, checked the way a receiver in the
 * ecosystem would: a real HTTP receiver, and the `standardwebhooks` library's own
 * `Webhook.verify` on what arrived, not our signer checking itself.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { waitFor } from '../../../test/helpers/procs.ts';
import { listen } from './http-receiver.ts';
import { Notifier, parseNotifyTargets, standardSecret, verifyWebhookSignature, type NotificationEvent, type WebhookTarget } from '../src/notify/index.ts';

const event = (id: string): NotificationEvent => ({
  kind: 'incident.opened', id, at: Date.UTC(2026, 11, 6, 3), summary: 'sev2 incident opened: checkout 5xx',
  incident: { id: 'inc-4', title: 'checkout 5xx', severity: 'sev2', status: 'open' }, details: { alertname: 'CheckoutErrors' },
});

const closers: (() => Promise<void>)[] = [];
after(async () => { for (const c of closers.reverse()) await c(); });

/** Delivers one event to a real receiver and returns what arrived, headers flattened to strings. */
async function deliver(target: Omit<WebhookTarget, 'url' | 'type'>, id: string): Promise<{ body: string; headers: Record<string, string> }> {
  const hook = await listen();
  const n = new Notifier([{ type: 'webhook', url: hook.url, ...target }], { log: { info() {}, warn() {} }, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 });
  closers.push(() => hook.close(), () => n.close());
  n.notify(event(id));
  const got = await waitFor('the webhook delivery', () => hook.got[0]);
  const headers = Object.fromEntries(Object.entries(got.headers).map(([k, v]) => [k, String(v)]));
  return { body: got.body, headers };
}

describe('outgoing webhooks per Standard Webhooks', () => {
  it('verify with the library under a whsec_ secret, and a tampered body does not', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const { body, headers } = await deliver({ secret }, 'evt-std-1');
    assert.equal(headers['webhook-id'], 'evt-std-1');
    assert.match(headers['webhook-timestamp'] ?? '', /^\d{10}$/);
    assert.match(headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]{43}=$/);

    const payload = new Webhook(secret).verify(body, headers) as { id: string; kind: string; incident: { id: string } };
    assert.equal(payload.id, 'evt-std-1');
    assert.equal(payload.incident.id, 'inc-4');

    const tampered = body.replace('"inc-4"', '"inc-5"');
    assert.notEqual(tampered, body);
    assert.throws(() => new Webhook(secret).verify(tampered, headers), WebhookVerificationError);
    assert.throws(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, headers), WebhookVerificationError, 'another secret does not verify');
  });

  it('verify under an older plain secret through its whsec_ form, and still carry the deprecated x-failsmall-signature', async () => {
    const secret = 'plain-secret-0123456789abcdef';
    const { body, headers } = await deliver({ secret }, 'evt-std-2');
    assert.equal(standardSecret(secret), `whsec_${Buffer.from(secret).toString('base64')}`);
    assert.equal((new Webhook(standardSecret(secret)).verify(body, headers) as { id: string }).id, 'evt-std-2');
    const legacy = verifyWebhookSignature(secret, headers['x-failsmall-timestamp'], body, headers['x-failsmall-signature'], Math.floor(Date.now() / 1000));
    assert.deepEqual(legacy, { ok: true }, 'receivers of the old headers keep working for one release');
    assert.equal(headers['x-failsmall-timestamp'], headers['webhook-timestamp']);
  });

  it('refuses a whsec_ secret that is not base64, or too short a key, with a hint', () => {
    const bad = parseNotifyTargets({ webhook: ['https://ops.example.com/hook'], webhookSecret: 'whsec_not base64!' });
    assert.ok(!bad.ok);
    assert.deepEqual(bad.errors.map((e) => e.code), ['BAD_WEBHOOK_SECRET']);
    assert.match(bad.errors[0]?.hint ?? '', /openssl rand -base64 32/);
    const short = parseNotifyTargets({ webhook: ['https://ops.example.com/hook'], webhookSecret: `whsec_${randomBytes(8).toString('base64')}` });
    assert.ok(!short.ok);
    assert.deepEqual(short.errors.map((e) => e.code), ['SHORT_WEBHOOK_SECRET']);
    assert.match(short.errors[0]?.message ?? '', /8 bytes; at least 16/);
  });
});
