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
 * The Slack message for one event: a header (what happened, to which incident), the summary
 * with a link, the incident's id, severity and status and the scalar details as fields, and
 * a context line with the kind, the event id and the time in the reader's time zone.
 *
 * Examples
 * ```ts
 * const { text, blocks } = slackPayload(event);
 * ```
 */
export function slackPayload(event: NotificationEvent): SlackPayload {
  const title = KIND_TITLES[event.kind];
  const inc = event.incident;
  const text = `${title}${inc ? `: ${inc.title} (severity ${inc.severity}, ${inc.status})` : ''}. ${event.summary}`;
  const link = event.url ? `\n<${linkUrl(event.url)}|Open in failsmall>` : '';

  const fields: Mrkdwn[] = [];
  if (inc) fields.push(field('Incident', inc.id), field('Severity', inc.severity), field('Status', inc.status));
  for (const [key, value] of Object.entries(event.details)) {
    if (fields.length >= FIELDS_MAX) break;
    if (value === undefined) continue;
    fields.push(field(key, shown(value)));
  }

  const sec = Math.floor(event.at / 1000);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${title}${inc ? `: ${inc.title}` : ''}`, HEADER_MAX) } },
    { type: 'section', text: { type: 'mrkdwn', text: escaped(event.summary, SECTION_TEXT_MAX - link.length) + link } },
    ...(fields.length > 0 ? [{ type: 'section' as const, fields }] : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `failsmall · ${event.kind} · ${escaped(event.id, 200)} · <!date^${sec}^{date_short_pretty} {time_secs}|${new Date(event.at).toISOString()}>` }] },
  ];
  return { text, blocks };
}

/** The POST to a Slack incoming webhook: Slack signs nothing; the URL itself is the secret. */
export function slackRequest(event: NotificationEvent): OutboundRequest {
  return { body: JSON.stringify(slackPayload(event)), headers: { 'content-type': 'application/json', 'user-agent': 'failsmall-notify' } };
}

function shown(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return String(value);
  try { return JSON.stringify(value) ?? String(value); } catch { return String(value); }
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
