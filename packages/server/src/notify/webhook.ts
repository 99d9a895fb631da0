import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { NotificationEvent } from './event.ts';
import { standardKey } from './secret.ts';

/** A request ready to send: the exact body bytes that were signed, and the headers. */
export interface OutboundRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** A signature older or newer than this (seconds) is refused by default: it bounds replays. */
export const DEFAULT_TOLERANCE_SEC = 300;

/**
 * The webhook request for one event, signed at `nowSec` (unix seconds). The body is
 * `{ id, kind, at, summary, incident, details, url? }`. It is signed per the Standard Webhooks
 * specification (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`), so a
 * receiver can check it with any Standard Webhooks library given `standardSecret(secret)`.
 * The older `x-failsmall-*` headers (`sha256=hex(HMAC-SHA256(secret, "<timestamp>.<body>"))`)
 * are still sent for one release, for receivers written against them; they are deprecated.
 * A retry is signed afresh, so it stays inside the receiver's tolerance; its `id` does not change.
 *
 * Examples
 * ```ts
 * const { body, headers } = webhookRequest(event, 'a-secret-of-16+-chars', Math.floor(Date.now() / 1000));
 * ```
 */
export function webhookRequest(event: NotificationEvent, secret: string, nowSec: number): OutboundRequest {
  const body = JSON.stringify({
    id: event.id,
    kind: event.kind,
    at: new Date(event.at).toISOString(),
    summary: event.summary,
    incident: event.incident ?? null,
    details: event.details,
    ...(event.url !== undefined ? { url: event.url } : {}),
  });
  const timestamp = String(Math.floor(nowSec));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'failsmall-notify',
      'webhook-id': event.id,
      'webhook-timestamp': timestamp,
      'webhook-signature': new Webhook(standardKey(secret), { format: 'raw' }).sign(event.id, new Date(Number(timestamp) * 1000), body),
      'x-failsmall-event': event.kind,
      'x-failsmall-delivery': event.id,
      'x-failsmall-timestamp': timestamp,
      'x-failsmall-signature': signWebhook(secret, timestamp, body),
    },
  };
}

/**
 * `sha256=<hex>` over `"<timestamp>.<body>"`: the timestamp is inside the MAC, so it cannot be
 * changed to replay an old body. Deprecated with the `x-failsmall-signature` header it fills.
 */
export function signWebhook(secret: string, timestamp: string | number, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export type SignatureCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'BAD_SIGNATURE_HEADER' | 'BAD_TIMESTAMP' | 'STALE_TIMESTAMP' | 'SIGNATURE_MISMATCH'; readonly message: string };

/**
 * Checks the deprecated `x-failsmall-signature`; new receivers check `webhook-signature` with a
 * Standard Webhooks library instead. Checks a delivery the way a receiver should: on the raw body bytes (before any JSON
 * parsing), in constant time, and only within `toleranceSec` of the receiver's clock, so a
 * captured request cannot be replayed later. Drop duplicates by `x-failsmall-delivery`.
 *
 * Examples
 * ```ts
 * const check = verifyWebhookSignature(secret, req.headers['x-failsmall-timestamp'], rawBody,
 *   req.headers['x-failsmall-signature'], Math.floor(Date.now() / 1000));
 * if (!check.ok) return reply.code(401).send(check.message);
 * ```
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string | number | undefined,
  body: string | Uint8Array,
  header: string | undefined,
  nowSec: number,
  toleranceSec = DEFAULT_TOLERANCE_SEC,
): SignatureCheck {
  const ts = String(timestamp ?? '');
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, code: 'BAD_TIMESTAMP', message: `x-failsmall-timestamp ${JSON.stringify(ts)} is not unix seconds` };
  const sig = /^sha256=([0-9a-fA-F]{64})$/.exec(header ?? '');
  if (!sig?.[1]) return { ok: false, code: 'BAD_SIGNATURE_HEADER', message: 'x-failsmall-signature is not sha256=<64 hex digits>' };
  const skew = Math.abs(nowSec - Number(ts));
  if (skew > toleranceSec) return { ok: false, code: 'STALE_TIMESTAMP', message: `signed ${skew} s away from now; the tolerance is ${toleranceSec} s` };
  const expected = Buffer.from(signWebhook(secret, ts, body).slice('sha256='.length), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig[1], 'hex'))) return { ok: false, code: 'SIGNATURE_MISMATCH', message: 'the signature does not match the body and timestamp under this secret' };
  return { ok: true };
}
