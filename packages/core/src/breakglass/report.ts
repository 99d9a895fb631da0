import { createHash, verify, type KeyObject } from 'node:crypto';
import type { BreakglassCommand, BreakglassEnvelope } from './command.ts';
import { breakglassMessage, decodeCommand, parseEnvelope } from './verify.ts';

/**
 * What the control plane does with a line of a node's break-glass log when the node reports it
 * (`POST /v1/nodes/:id/breakglass`). A node's credential is not an operator's signature: without
 * this, a node (or whoever holds its credential) could report "kill-switch applied by alice" and
 * it would page, join an incident's timeline and the postmortem. The agent therefore reports, with
 * every command whose signature it verified, the envelope it verified (`{payload, signature}`), and
 * the control plane verifies it again under the break-glass public key.
 *
 * Expiry and nonces are not checked: a report arrives late (the control plane may have been down
 * for the whole incident), and the nonce was spent on the node, which is what the node's own log
 * says. What is checked is that an operator signed this command, for this node, and that the
 * entry says what the command says.
 */

/** Why an entry is stored unverified when the control plane has no key to verify with. */
export const NO_BREAKGLASS_KEY = 'no break-glass public key on the control plane';

/** A line of a node's break-glass log as the node reports it: only these three fields are checked by the API's schema. */
export interface ReportedEntry {
  readonly seq: number;
  readonly at: string;
  readonly outcome: 'applied' | 'refused' | 'checked';
  readonly [field: string]: unknown;
}

/** What the control plane stores for one entry: the entry (or, unverified, the part of it that is not the command), and the verdict. */
export interface StoredReport extends ReportedEntry {
  readonly node: string;
  readonly verified: boolean;
  /** Why the entry is not verified (absent when it is). */
  readonly verification?: string;
  /** The signed envelope the node verified; the store keeps each distinct envelope once, and the record its sha256. */
  readonly envelope?: BreakglassEnvelope;
  /** sha256 (hex) of `envelopeText(envelope)`. */
  readonly envelope_sha256?: string;
}

export type ReportVerdict =
  /** Signed by the break-glass key, and the entry says what the command says. */
  | { readonly status: 'verified'; readonly record: StoredReport; readonly command: BreakglassCommand }
  /** Stored, marked `verified: false`: a refusal of something unsigned, or a control plane without the key. */
  | { readonly status: 'unverified'; readonly record: StoredReport; readonly reason: string }
  /** Not stored: an `applied` or `checked` entry that no signed command backs. */
  | { readonly status: 'rejected'; readonly reason: string };

/** The fields of an entry that restate the signed command: a verified entry must agree with it on every one. */
const COMMAND_FIELDS = ['action', 'target', 'version', 'operator', 'reason', 'nonce', 'issued_at', 'expires_at'] as const;

/** The fields of a refusal kept when nothing authenticates it: what the node itself says happened, never who or why. */
const REFUSAL_FIELDS = { code: 64, message: 1000, via: 200 } as const;

/**
 * Decides what the control plane stores for one reported entry. Pure: no clock, no store.
 *
 * - `applied` or `checked` must carry an envelope that verifies under `publicKey`, whose command
 *   names `nodeId` and agrees with the entry (action, target, version, operator, reason, nonce,
 *   issued_at, expires_at; `checked` exactly when the action is `drill`). Otherwise: rejected.
 * - `refused` with such an envelope (any node: `WRONG_NODE` is a refusal of a command for another
 *   node): verified. Without one (garbage that reached the node): unverified, and only seq, at,
 *   outcome, code, message and via are kept; the operator, reason and nonce it claims are unsigned text.
 * - With no `publicKey`, every entry is stored as reported, marked unverified.
 *
 * Examples
 *   verifyReport({ seq: 1, at, outcome: 'applied', action: 'kill-switch', operator: 'alice', ... }, 'edge-1', key)
 *     → { status: 'rejected', reason: 'no signed envelope' }
 */
export function verifyReport(entry: ReportedEntry, nodeId: string, publicKey: KeyObject | undefined): ReportVerdict {
  if (publicKey === undefined) {
    const { envelope, ...rest } = entry;
    const env = wellFormed(envelope);
    return {
      status: 'unverified', reason: NO_BREAKGLASS_KEY,
      record: { ...rest, node: nodeId, ...(env ? { envelope: env, envelope_sha256: envelopeSha256(env) } : {}), verified: false, verification: NO_BREAKGLASS_KEY },
    };
  }
  const signed = authenticate(entry.envelope, publicKey);
  const problem = signed.ok ? disagreement(entry, signed.command, nodeId) : signed.reason;
  if (signed.ok && problem === undefined) {
    const { envelope: _reported, ...rest } = entry;
    return {
      status: 'verified', command: signed.command,
      record: { ...rest, node: nodeId, envelope: signed.envelope, envelope_sha256: envelopeSha256(signed.envelope), verified: true },
    };
  }
  const reason = problem ?? 'the signed command does not match the entry';
  if (entry.outcome !== 'refused') return { status: 'rejected', reason };
  const kept: Record<string, string> = {};
  for (const [field, max] of Object.entries(REFUSAL_FIELDS)) {
    const v = entry[field];
    if (typeof v === 'string') kept[field] = v.slice(0, max);
  }
  return { status: 'unverified', reason, record: { seq: entry.seq, at: entry.at, outcome: 'refused', node: nodeId, ...kept, verified: false, verification: reason } };
}

/** The envelope as one text, `{"payload":…,"signature":…}` in that order: what `envelope_sha256` is the sha256 of. */
export function envelopeText(envelope: BreakglassEnvelope): string {
  return JSON.stringify({ payload: envelope.payload, signature: envelope.signature });
}

export function envelopeSha256(envelope: BreakglassEnvelope): string {
  return createHash('sha256').update(envelopeText(envelope), 'utf8').digest('hex');
}

type Authenticated = { readonly ok: true; readonly envelope: BreakglassEnvelope; readonly command: BreakglassCommand } | { readonly ok: false; readonly reason: string };

/** The envelope's signature under the break-glass key, then its command: the same order, and the same checks, as the agent's. */
function authenticate(raw: unknown, publicKey: KeyObject): Authenticated {
  if (raw === undefined) return { ok: false, reason: 'no signed envelope' };
  const env = wellFormed(raw);
  if (!env) return { ok: false, reason: 'the envelope is not {payload, signature} in base64' };
  const parsed = parseEnvelope(envelopeText(env));
  if (!parsed.ok) return { ok: false, reason: `the envelope: ${parsed.refusal.message}` };
  const payload = Buffer.from(env.payload, 'base64');
  const signature = Buffer.from(env.signature, 'base64');
  let good = false;
  try {
    good = signature.length === 64 && verify(null, breakglassMessage(payload), publicKey, signature);
  } catch { /* a key or signature node:crypto cannot use: not verified */ }
  if (!good) return { ok: false, reason: 'the envelope\'s signature does not verify under the break-glass public key' };
  const decoded = decodeCommand(payload);
  if (!decoded.ok) return { ok: false, reason: `the signed command is malformed: ${decoded.refusal.message}` };
  return { ok: true, envelope: env, command: decoded.value };
}

/** An object with exactly two string fields, payload and signature; anything else is not looked into (no stringify of a hostile shape). */
function wellFormed(raw: unknown): BreakglassEnvelope | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const keys = Object.keys(raw);
  const { payload, signature } = raw as Record<string, unknown>;
  if (keys.length !== 2 || typeof payload !== 'string' || typeof signature !== 'string') return undefined;
  return { payload, signature };
}

/** Where the entry and the signed command it carries part ways, or undefined when they agree. */
function disagreement(entry: ReportedEntry, c: BreakglassCommand, nodeId: string): string | undefined {
  if (entry.outcome !== 'refused') {
    if (!c.nodes.includes(nodeId)) return `the signed command is for ${c.nodes.slice(0, 3).join(', ')}${c.nodes.length > 3 ? ` and ${c.nodes.length - 3} more` : ''}, not ${nodeId}`;
    if ((entry.outcome === 'checked') !== (c.action === 'drill')) return `outcome ${entry.outcome} does not fit a ${c.action} (a drill is checked, never applied)`;
  }
  for (const f of COMMAND_FIELDS) {
    if (entry[f] !== c[f]) return `${f}: the entry says ${show(entry[f])}, the signed command ${show(c[f])}`;
  }
  return undefined;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  return typeof v === 'string' ? JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v) : `a ${Array.isArray(v) ? 'list' : typeof v}`;
}
