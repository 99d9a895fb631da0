import { KIND_TITLES, type NotificationEvent } from './event.ts';
import type { OutboundRequest } from './webhook.ts';

/** The Block Kit blocks failsmall sends. */
export type SlackBlock =
  | { readonly type: 'header'; readonly text: PlainText }
  | { readonly type: 'section'; readonly text: Mrkdwn }
  | { readonly type: 'section'; readonly fields: readonly Mrkdwn[] }
  | { readonly type: 'context'; readonly elements: readonly Mrkdwn[] };

export interface PlainText { readonly type: 'plain_text'; readonly text: string }
export interface Mrkdwn { readonly type: 'mrkdwn'; readonly text: string }

/** A Slack incoming-webhook payload: `text` is what notifications and old clients show. */
export interface SlackPayload {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

// Block Kit's limits: past them Slack refuses the whole message with invalid_blocks.
const HEADER_MAX = 150;
const SECTION_TEXT_MAX = 3000;
const FIELDS_MAX = 10;
const FIELD_TEXT_MAX = 2000;

/**
 * The Slack message for one event, written to be read: the summary as a sentence, then the
 * incident it belongs to ("Incident inc-4 (sev1, open): 5xx on the proxy."), with a link.
 * The fields under it carry labels in words ("To version", not `to_version`) and only the
 * details that read as a value: lists of names joined, objects by their `reason` sentence,
 * the rest left to the webhook, which carries every detail.
 *
 * Examples
 * ```ts
 * const { text, blocks } = slackPayload(event);
 * ```
 */
export function slackPayload(event: NotificationEvent): SlackPayload {
  const title = KIND_TITLES[event.kind];
  const inc = event.incident;
  // A summary that already names its incident ("Incident inc-4 … opened") is not followed by it again.
  const named = inc !== undefined && new RegExp(`\\b${escapeRegExp(inc.id)}\\b`).test(event.summary);
  // A blank summary still says what happened: Slack refuses an empty `text`.
  const said = sentence(event.summary) || sentence(title);
  const text = `${said}${inc && !named ? ` ${incidentSentence(inc)}` : ''}`;
  const link = event.url ? `\n<${linkUrl(event.url)}|Open in failsmall>` : '';

  const fields: Mrkdwn[] = [];
  if (inc) fields.push(field('Incident', inc.id), field('Severity', inc.severity), field('Status', inc.status));
  for (const [key, value] of Object.entries(event.details)) {
    if (fields.length >= FIELDS_MAX) break;
    const shown = readable(value);
    if (shown !== undefined) fields.push(field(label(key), shown));
  }

  const sec = Math.floor(event.at / 1000);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${title}${inc ? `: ${inc.title}` : ''}`, HEADER_MAX) } },
    { type: 'section', text: { type: 'mrkdwn', text: escaped(text, SECTION_TEXT_MAX - link.length) + link } },
    ...(fields.length > 0 ? [{ type: 'section' as const, fields }] : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `failsmall · ${event.kind} · ${escaped(event.id, 200)} · <!date^${sec}^{date_short_pretty} {time_secs}|${new Date(event.at).toISOString()}>` }] },
  ];
  return { text, blocks };
}

/** The POST to a Slack incoming webhook: Slack signs nothing; the URL itself is the secret. */
export function slackRequest(event: NotificationEvent): OutboundRequest {
  return { body: JSON.stringify(slackPayload(event)), headers: { 'content-type': 'application/json', 'user-agent': 'failsmall-notify' } };
}

/** "Incident inc-4 (sev1, open): 5xx on the proxy." */
function incidentSentence(inc: NonNullable<NotificationEvent['incident']>): string {
  return `Incident ${inc.id} (${inc.severity}, ${inc.status}): ${sentence(inc.title)}`;
}

/** A capital first letter and a closing full stop, so machine-built summaries read as sentences. */
export function sentence(s: string): string {
  const t = s.trim();
  if (t === '') return t;
  // Only a plain lowercase word is capitalised: "bot-features" or "sev2" are names, and keep their case.
  const first = /^[a-z]+(?=[\s:,])/.test(t) ? t.charAt(0).toUpperCase() + t.slice(1) : t;
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/** `to_version` → "To version", `durationMs` → "Duration ms". */
function label(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_\-.]+/g, ' ').trim().toLowerCase();
  return words === '' ? key : words.charAt(0).toUpperCase() + words.slice(1);
}

/** A detail as a person reads it, or undefined for one that only reads as JSON (the webhook has it). */
function readable(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) {
    const names = value.filter((v): v is string | number => typeof v === 'string' || typeof v === 'number');
    return names.length === value.length && names.length > 0 ? names.join(', ') : undefined;
  }
  if (value !== null && typeof value === 'object' && typeof (value as { reason?: unknown }).reason === 'string') return (value as { reason: string }).reason;
  return undefined;
}

function field(label: string, value: string): Mrkdwn {
  const head = `*${escaped(label, 100)}*\n`;
  return { type: 'mrkdwn', text: head + escaped(value, FIELD_TEXT_MAX - head.length) };
}

/** Slack's mrkdwn reads `<`, `>` and `&` as markup: they are the three it asks to escape. */
function escaped(raw: string, max: number): string {
  const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  let out = esc(raw);
  // Cut the raw text, not the escaped one, so no entity is split in half.
  for (let keep = [...raw].length; out.length > max && keep > 0;) {
    keep -= Math.max(1, out.length - max);
    out = esc(cut(raw, keep));
  }
  return out;
}

/** At most `max` characters, counted by code point, with an ellipsis when cut. */
function cut(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** `|` and `>` would end Slack's `<url|label>` link early. */
function linkUrl(url: string): string {
  return url.replaceAll('|', '%7C').replaceAll('>', '%3E').replaceAll('<', '%3C');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
