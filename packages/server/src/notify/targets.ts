import type { FailsmallError } from '@failsmall/core';
import { keyBytes, standardSecretProblem } from './secret.ts';

/** A generic webhook: a signed JSON POST. */
export interface WebhookTarget {
  readonly type: 'webhook';
  readonly url: string;
  /**
   * Shared with the receiver, which checks `webhook-signature` with it (Standard Webhooks:
   * `whsec_<base64>`, or any 16+ character string, whose `whsec_` form is `standardSecret`).
   */
  readonly secret: string;
  /** How logs and `stats()` name it (default: the URL without its query). */
  readonly name?: string;
}

/** A Slack incoming webhook (or anything that accepts its `{ text, blocks }` payload). */
export interface SlackTarget {
  readonly type: 'slack';
  /** The URL is the credential: logs and `stats()` show only its host. */
  readonly url: string;
  readonly name?: string;
}

export type NotifyTarget = WebhookTarget | SlackTarget;

export type NotifyConfigErrorCode = 'BAD_NOTIFY_URL' | 'MISSING_WEBHOOK_SECRET' | 'SHORT_WEBHOOK_SECRET' | 'BAD_WEBHOOK_SECRET';

export interface NotifyConfigError extends FailsmallError {
  readonly code: NotifyConfigErrorCode;
  /** Which input: `webhook[1]`, `webhookSecret`, `slack[0]`. */
  readonly path: string;
}

export type NotifyTargetsParse =
  | { readonly ok: true; readonly targets: readonly NotifyTarget[] }
  | { readonly ok: false; readonly errors: readonly NotifyConfigError[] };

/** An HMAC key shorter than this is guessable offline from one signed delivery. */
export const MIN_SECRET_LENGTH = 16;

/**
 * Turns the CLI's notification options into targets, or every error found in them.
 *
 * Examples
 * ```ts
 * const r = parseNotifyTargets({ webhook: ['https://ops.example.com/failsmall'], webhookSecret: process.env.FAILSMALL_WEBHOOK_SECRET, slack: [slackUrl] });
 * if (!r.ok) for (const e of r.errors) console.error(`${e.path}: ${e.message} (${e.hint})`);
 * ```
 */
export function parseNotifyTargets(o: { readonly webhook?: readonly string[]; readonly webhookSecret?: string; readonly slack?: readonly string[] }): NotifyTargetsParse {
  const errors: NotifyConfigError[] = [];
  const targets: NotifyTarget[] = [];
  const webhooks = o.webhook ?? [];
  const secret = o.webhookSecret;
  if (webhooks.length > 0) {
    if (secret === undefined || secret === '') {
      errors.push({ code: 'MISSING_WEBHOOK_SECRET', path: 'webhookSecret', message: `${webhooks.length} webhook(s) given but no secret to sign them with`, hint: `set a random secret of at least ${MIN_SECRET_LENGTH} characters, e.g. \`openssl rand -hex 32\`, and give the same one to the receiver` });
    } else if (standardSecretProblem(secret)) {
      errors.push({ code: 'BAD_WEBHOOK_SECRET', path: 'webhookSecret', message: standardSecretProblem(secret) ?? '', hint: 'give whsec_ followed by base64, e.g. `echo whsec_$(openssl rand -base64 32)`, or a plain random string' });
    } else if (secret.startsWith('whsec_') && keyBytes(secret) < MIN_SECRET_LENGTH) {
      errors.push({ code: 'SHORT_WEBHOOK_SECRET', path: 'webhookSecret', message: `the whsec_ secret's key has ${keyBytes(secret)} bytes; at least ${MIN_SECRET_LENGTH} are needed`, hint: 'use `echo whsec_$(openssl rand -base64 32)`' });
    } else if (secret.length < MIN_SECRET_LENGTH) {
      errors.push({ code: 'SHORT_WEBHOOK_SECRET', path: 'webhookSecret', message: `the webhook secret has ${secret.length} characters; at least ${MIN_SECRET_LENGTH} are needed`, hint: 'use `openssl rand -hex 32`' });
    }
  }
  webhooks.forEach((url, i) => {
    const bad = urlProblem(url);
    if (bad) errors.push({ code: 'BAD_NOTIFY_URL', path: `webhook[${i}]`, message: bad, hint: 'give an http(s) URL, e.g. https://ops.example.com/failsmall' });
    else if (secret !== undefined) targets.push({ type: 'webhook', url, secret });
  });
  (o.slack ?? []).forEach((url, i) => {
    const bad = urlProblem(url);
    if (bad) errors.push({ code: 'BAD_NOTIFY_URL', path: `slack[${i}]`, message: bad, hint: 'give the incoming-webhook URL Slack shows, https://hooks.slack.com/services/…' });
    else targets.push({ type: 'slack', url });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, targets };
}

/** How a target is named in logs and stats, without credentials. */
export function targetLabel(t: NotifyTarget): string {
  if (t.name) return t.name;
  let u: URL;
  try { u = new URL(t.url); } catch { return `${t.type} (bad URL)`; }
  return t.type === 'slack' ? `slack ${u.host}` : `webhook ${u.origin}${u.pathname}`;
}

function urlProblem(url: string): string | undefined {
  let u: URL;
  try { u = new URL(url); } catch { return `${JSON.stringify(url)} is not a URL`; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${JSON.stringify(url)} is not an http(s) URL`;
  return undefined;
}
