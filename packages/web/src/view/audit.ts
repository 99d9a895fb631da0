import { narrate } from '@failsmall/core/browser';
import type { BreakglassEntry, BreakglassPin, ChainAnswer, EventRecord } from '../api/types.ts';

/** The Audit page's filters, kept in the query string: a type prefix (`rollout.`), a rollout id and a node ('' for all). */
export interface AuditFilter {
  readonly type: string;
  readonly rollout: string;
  readonly node: string;
}

/** How many of the newest events the page shows. */
export const EVENTS_SHOWN = 200;

/** The type prefixes offered in the filter; any other can be put in the address (`?type=gates.evaluated`). */
export const TYPE_PREFIXES: readonly string[] = ['rollout.', 'gates.', 'incident.', 'breakglass.', 'artifact.', 'token.'];

/** The type filter's choices: every type, each prefix (`rollout.*`), and the one in the address when it is another. */
export function typeChoices(current: string): { value: string; label: string }[] {
  const prefixes = current && !TYPE_PREFIXES.includes(current) ? [...TYPE_PREFIXES, current] : TYPE_PREFIXES;
  return [{ value: '', label: 'every type' }, ...prefixes.map((p) => ({ value: p, label: p.endsWith('.') ? `${p}*` : p }))];
}

/**
 * The event log's query for a filter: the newest events, or the long-poll after a cursor.
 *
 * Examples
 *   eventsPath({ type: 'rollout.', rollout: '', node: '' })      // '/v1/events?type=rollout.&newest=true&limit=200'
 *   eventsPath({ type: '', rollout: 'r-1', node: '' }, 42)       // '/v1/events?rollout=r-1&after=42&wait=20000'
 */
export function eventsPath(f: AuditFilter, after?: number, limit = EVENTS_SHOWN): string {
  const q = new URLSearchParams();
  if (f.type) q.set('type', f.type);
  if (f.rollout) q.set('rollout', f.rollout);
  if (after === undefined) { q.set('newest', 'true'); q.set('limit', String(limit)); }
  else { q.set('after', String(after)); q.set('wait', '20000'); }
  return `/v1/events?${q.toString().replace(/%2E/gi, '.')}`;
}

/** An event in a sentence: core narrate's for a rollout event (what `rollout watch` prints), else its type and payload's fields in words. */
export function eventSentence(e: EventRecord): string {
  const lines = e.type.startsWith('rollout.') ? narrate(e).map((l) => l.trim()).filter(Boolean) : [];
  if (lines.length > 0) return lines.join(' · ');
  const fields = Object.entries(e.payload)
    .filter(([, v]) => v !== null && v !== undefined && (typeof v !== 'object' || Array.isArray(v)))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? `${v.length} item${v.length === 1 ? '' : 's'}` : String(v)}`);
  return fields.length > 0 ? fields.slice(0, 6).join(', ') : e.type;
}

/** The newest first, for the table (the API answers the newest `limit` oldest first). */
export function newestFirst(events: readonly EventRecord[]): EventRecord[] {
  return [...events].sort((a, b) => b.seq - a.seq);
}

/**
 * The chain's state in words, the headline of the page.
 *
 * Examples
 *   chainWords({ ok: true, events: 12, head: { seq: 12, hash: 'ab12…' }, … }) // { intact: true, text: 'intact (12 events, head #12 ab12cd34ef56)' }
 *   chainWords({ ok: false, first_broken: { seq: 7, detail: 'its hash does not match', … }, … }) // { intact: false, text: 'BROKEN at #7: its hash does not match' }
 */
export function chainWords(v: ChainAnswer): { readonly intact: boolean; readonly text: string } {
  if (v.ok) return { intact: true, text: `intact (${v.events} event${v.events === 1 ? '' : 's'}, head #${v.head.seq} ${v.head.hash.slice(0, 12)})` };
  return { intact: false, text: `BROKEN at #${v.first_broken.seq}: ${v.first_broken.detail || v.first_broken.reason}` };
}

/** Whether the control plane verified a break-glass line, in words (never a colour alone). */
export function verificationWords(e: BreakglassEntry): string {
  if (e.verified) return 'verified against the break-glass public key';
  return `not verified: ${e.verification ?? 'no reason recorded'}`;
}

/** What a break-glass line did: `applied kill-switch on features`, `refused (EXPIRED)`, `checked (a drill)`. */
export function commandWords(e: BreakglassEntry): string {
  const what = [e.action, e.target ?? e.artifact].filter(Boolean).join(' on ') + (e.version ? ` → ${e.version}` : '');
  const outcome = e.outcome === 'checked' ? 'checked (a drill, nothing changed)' : e.outcome === 'refused' ? `refused${e.code ? ` (${e.code})` : ''}` : 'applied';
  return what ? `${outcome}: ${what}` : outcome;
}

/** The break-glass lines of a node ('' for all), newest first (received, then the node's own order). */
export function breakglassRows(entries: readonly BreakglassEntry[], node: string): BreakglassEntry[] {
  return entries.filter((e) => !node || e.node_id === node).sort((a, b) => b.received_at - a.received_at || (a.node_id === b.node_id ? b.seq - a.seq : a.node_id.localeCompare(b.node_id)));
}

/** A pin in a sentence: `n1: features pinned to v1 by alice: bad v2`. */
export function pinWords(p: BreakglassPin): string {
  const what = p.action === 'kill-switch' ? `${p.artifact} kill-switched (safe default)` : p.action === 'lkg' ? `${p.artifact} back on last known-good ${p.version ?? ''}`.trim() : `${p.artifact} pinned to ${p.version ?? '(none)'}`;
  return `${p.node}: ${what}, by ${p.operator}${p.reason ? `: ${p.reason}` : ''}`;
}

/** Every node with a break-glass line or a pin, for the node filter. */
export function nodesOf(entries: readonly BreakglassEntry[], pins: readonly BreakglassPin[]): string[] {
  return [...new Set([...entries.map((e) => e.node_id), ...pins.map((p) => p.node)])].sort();
}
