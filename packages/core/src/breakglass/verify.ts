import { sign, verify, type KeyObject } from 'node:crypto';
import {
  BREAKGLASS_ACTIONS, BREAKGLASS_DOMAIN, MAX_CLOCK_SKEW_MS, MAX_COMMAND_LIFETIME_MS, MAX_ENVELOPE_BYTES, NONCE, SAFE_NAME,
  type BreakglassAction, type BreakglassCommand, type BreakglassEnvelope,
} from './command.ts';

/** Why a command was refused. Each code maps to one HTTP status on the agent's admin endpoint. */
export type RefusalCode =
  | 'MALFORMED' | 'TOO_LARGE' | 'BAD_SIGNATURE' | 'EXPIRED' | 'NOT_YET_VALID' | 'LIFETIME_TOO_LONG'
  | 'WRONG_NODE' | 'REPLAYED_NONCE';

export interface Refusal {
  readonly code: RefusalCode;
  readonly message: string;
  readonly hint: string;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly refusal: Refusal; readonly command?: BreakglassCommand };

const refuse = (code: RefusalCode, message: string, hint: string): { ok: false; refusal: Refusal } => ({ ok: false, refusal: { code, message, hint } });

/** The exact bytes the break-glass key signs. */
export function breakglassMessage(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(BREAKGLASS_DOMAIN, 'utf8'), payload]);
}

/** Signs a command with the break-glass private key. */
export function signCommand(privateKey: KeyObject, command: BreakglassCommand): BreakglassEnvelope {
  const payload = Buffer.from(JSON.stringify(command), 'utf8');
  return { payload: payload.toString('base64'), signature: sign(null, breakglassMessage(payload), privateKey).toString('base64') };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads an envelope from untrusted text (a request body, a dropped file). Never throws. */
export function parseEnvelope(text: string): Checked<BreakglassEnvelope> {
  if (Buffer.byteLength(text, 'utf8') > MAX_ENVELOPE_BYTES) return refuse('TOO_LARGE', `the command is over ${MAX_ENVELOPE_BYTES} bytes`, 'pin a version already on the node instead of sending its content');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return refuse('MALFORMED', `the command is not JSON: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}`, 'send the file failsmall breakglass wrote, unchanged');
  }
  if (!isRecord(raw)) return refuse('MALFORMED', 'the command must be a JSON object {payload, signature}', 'send the file failsmall breakglass wrote, unchanged');
  const extra = Object.keys(raw).filter((k) => k !== 'payload' && k !== 'signature');
  if (extra.length > 0) return refuse('MALFORMED', `unknown field "${(extra[0] ?? '').slice(0, 64)}" in the command envelope`, 'an envelope has exactly payload and signature');
  if (typeof raw.payload !== 'string' || raw.payload.length === 0 || !BASE64.test(raw.payload)) return refuse('MALFORMED', 'payload must be a non-empty base64 string', 'send the file failsmall breakglass wrote, unchanged');
  if (typeof raw.signature !== 'string' || !BASE64.test(raw.signature)) return refuse('MALFORMED', 'signature must be a base64 string', 'send the file failsmall breakglass wrote, unchanged');
  return { ok: true, value: { payload: raw.payload, signature: raw.signature } };
}

export interface CheckContext {
  /** The break-glass public key (never the artifact key). */
  readonly publicKey: KeyObject;
  /** This node's id. */
  readonly nodeId: string;
  /** ms since the epoch. */
  readonly now: number;
  /** Nonces this node has already seen. */
  readonly seen: (nonce: string) => boolean;
}

/**
 * Verifies a command end to end, in an order that never trusts an unsigned byte: the
 * signature over the exact payload first, then the command's shape, then its validity window,
 * its node and its nonce. Pure apart from the injected `seen`.
 */
export function checkEnvelope(envelope: BreakglassEnvelope, ctx: CheckContext): Checked<BreakglassCommand> {
  const payload = Buffer.from(envelope.payload, 'base64');
  const signature = Buffer.from(envelope.signature, 'base64');
  if (signature.length !== 64 || !verify(null, breakglassMessage(payload), ctx.publicKey, signature)) {
    return refuse('BAD_SIGNATURE', 'the command is not signed by this node\'s break-glass key', 'sign with the break-glass key (failsmall keys init --name breakglass), not the artifact key; the agent trusts the key given to --breakglass-public-key');
  }
  const decoded = decodeCommand(payload);
  if (!decoded.ok) return decoded;
  const c = decoded.value;
  // From here on the command is authentic: a refusal carries it, so the log can say who sent what.
  const refuseSigned = (code: RefusalCode, message: string, hint: string) => ({ ...refuse(code, message, hint), command: c });
  const issued = Date.parse(c.issued_at);
  const expires = Date.parse(c.expires_at);
  if (expires - issued > MAX_COMMAND_LIFETIME_MS) return refuseSigned('LIFETIME_TOO_LONG', `the command is valid for ${Math.round((expires - issued) / 60_000)} min; the limit is ${MAX_COMMAND_LIFETIME_MS / 3600_000} h`, 'issue a new command with a shorter --expires');
  if (issued - ctx.now > MAX_CLOCK_SKEW_MS) return refuseSigned('NOT_YET_VALID', `the command was issued at ${c.issued_at}, ${Math.round((issued - ctx.now) / 1000)} s in this node's future`, 'check the clocks of the signing machine and of this node');
  if (ctx.now >= expires) return refuseSigned('EXPIRED', `the command expired at ${c.expires_at} (${Math.round((ctx.now - expires) / 1000)} s ago)`, 'issue a new command; expired ones are refused so that an old command cannot be replayed later');
  if (!c.nodes.includes(ctx.nodeId)) return refuseSigned('WRONG_NODE', `the command is for ${describeNodes(c.nodes)}, not ${ctx.nodeId}`, 'check the inventory: the address may point at another node');
  if (ctx.seen(c.nonce)) return refuseSigned('REPLAYED_NONCE', `nonce ${c.nonce} was already used on ${ctx.nodeId}`, 'each command is carried out once; issue a new one to repeat it');
  return { ok: true, value: c };
}

const KEYS = new Set(['v', 'action', 'nodes', 'target', 'version', 'content', 'sha256', 'artifact_signature', 'operator', 'reason', 'issued_at', 'expires_at', 'nonce']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const SHA256 = /^[0-9a-f]{64}$/;
const MAX_NODES = 100_000;

/** The command's fields, checked strictly: any surprise is MALFORMED rather than guessed at. */
export function decodeCommand(payload: Buffer): Checked<BreakglassCommand> {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch {
    return refuse('MALFORMED', 'the signed payload is not JSON', 'the signer is broken or not failsmall');
  }
  if (!isRecord(raw)) return refuse('MALFORMED', 'the signed payload must be a JSON object', 'the signer is broken or not failsmall');
  const bad = (field: string, what: string) => refuse('MALFORMED', `field ${field}: ${what}`, 'the signer is broken or not failsmall; sign with failsmall breakglass');
  for (const k of Object.keys(raw)) if (!KEYS.has(k)) return bad(k, 'unknown field');
  if (raw.v !== 1) return bad('v', `unsupported format version ${JSON.stringify(raw.v)}`);
  if (typeof raw.action !== 'string' || !(BREAKGLASS_ACTIONS as readonly string[]).includes(raw.action)) return bad('action', `must be one of ${BREAKGLASS_ACTIONS.join(', ')}`);
  const action = raw.action as BreakglassAction;
  if (!Array.isArray(raw.nodes) || raw.nodes.length === 0 || raw.nodes.length > MAX_NODES) return bad('nodes', `must be a list of 1 to ${MAX_NODES} node ids`);
  if (!raw.nodes.every((n) => typeof n === 'string' && SAFE_NAME.test(n))) return bad('nodes', 'every node id must be a plain name');
  if (typeof raw.target !== 'string' || !SAFE_NAME.test(raw.target)) return bad('target', 'must be a plain artifact or module name');
  if (raw.version !== undefined && (typeof raw.version !== 'string' || !SAFE_NAME.test(raw.version))) return bad('version', 'must be a plain version name');
  if (action === 'pin' && raw.version === undefined) return bad('version', 'a pin needs the version to serve');
  if (action !== 'pin' && raw.version !== undefined) return bad('version', `only a pin names a version, not ${action}`);
  const supplied = [raw.content, raw.sha256, raw.artifact_signature].filter((x) => x !== undefined).length;
  if (supplied !== 0 && (supplied !== 3 || action !== 'pin')) return bad('content', 'content, sha256 and artifact_signature go together, and only with a pin');
  if (raw.content !== undefined && (typeof raw.content !== 'string' || !BASE64.test(raw.content))) return bad('content', 'must be base64');
  if (raw.sha256 !== undefined && (typeof raw.sha256 !== 'string' || !SHA256.test(raw.sha256))) return bad('sha256', 'must be 64 lowercase hex digits');
  if (raw.artifact_signature !== undefined && (typeof raw.artifact_signature !== 'string' || !BASE64.test(raw.artifact_signature))) return bad('artifact_signature', 'must be base64');
  if (!boundedText(raw.operator, 200)) return bad('operator', 'must be 1 to 200 characters');
  if (!boundedText(raw.reason, 2000)) return bad('reason', 'must be 1 to 2000 characters');
  for (const f of ['issued_at', 'expires_at'] as const) {
    const v = raw[f];
    if (typeof v !== 'string' || !ISO.test(v) || Number.isNaN(Date.parse(v))) return bad(f, 'must be an ISO 8601 UTC time, e.g. 2026-11-26T10:00:00Z');
  }
  if (Date.parse(raw.expires_at as string) <= Date.parse(raw.issued_at as string)) return bad('expires_at', 'must be after issued_at');
  if (typeof raw.nonce !== 'string' || !NONCE.test(raw.nonce)) return bad('nonce', 'must be 16 to 128 characters of [A-Za-z0-9_-]');
  return { ok: true, value: raw as unknown as BreakglassCommand };
}

function boundedText(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.trim().length > 0 && v.length <= max && !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeNodes(nodes: readonly string[]): string {
  return nodes.length <= 3 ? nodes.join(', ') : `${nodes.slice(0, 3).join(', ')} and ${nodes.length - 3} more`;
}
