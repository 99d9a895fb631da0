import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { RolloutEvent } from '@failsmall/core';
import type { StoreSchema } from './schema.ts';

/**
 * The event log as a hash chain (issue 11): each event carries the hash of the one before it,
 * so a row changed, deleted or inserted by hand (someone with database access drops the
 * append-only trigger) breaks the chain at that row, and `failsmall audit verify` names it.
 * A chain rewritten and re-hashed from some row on is caught by a signed checkpoint kept
 * outside the database (`failsmall audit checkpoint`).
 *
 * Hashing, verification and checkpoints are pure functions here (no database); `appendChained`
 * and `verifyEventLog` are the two places that touch the tables.
 */

/** The prev_hash of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

const EVENT_DOMAIN = 'failsmall-event-v1';
const CHECKPOINT_DOMAIN = 'failsmall-checkpoint-v1';
/** Rows per INSERT (SQLite caps bound parameters per statement). */
const INSERT_CHUNK = 500;
const DEFAULT_PAGE = 2000;

/** An event as the chain sees it: the stored columns, with the payload as the exact text stored. */
export interface ChainFields {
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  readonly rollout_id: string | null;
  /** The payload's JSON text, byte for byte as stored. */
  readonly payload: string;
  readonly prev_hash: string;
}

export interface ChainedEvent extends ChainFields {
  readonly hash: string;
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * What an event's hash covers, unambiguously: the domain line `failsmall-event-v1`, then for
 * each of seq, at, type, rollout_id, payload, prev_hash (in that order) a newline and
 * `n:<decimal>` for a number, `s:<UTF-8 byte length>:<UTF-8 bytes>` for a string, or `-` for
 * null. Length prefixes make it independent of what the strings contain, and easy to redo in
 * any language (docs/operations.md).
 *
 * Examples
 * ```ts
 * canonicalEventBytes({ seq: 1, at: 5, type: 'a', rollout_id: null, payload: '{}', prev_hash: GENESIS_HASH }).toString()
 * // 'failsmall-event-v1\nn:1\nn:5\ns:1:a\n-\ns:2:{}\ns:64:0000…'
 * ```
 */
export function canonicalEventBytes(e: ChainFields): Buffer {
  const parts: Buffer[] = [Buffer.from(EVENT_DOMAIN, 'utf8')];
  for (const v of [e.seq, e.at, e.type, e.rollout_id, e.payload, e.prev_hash]) {
    if (v === null) {
      parts.push(Buffer.from('\n-', 'utf8'));
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`event chain: cannot hash the number ${v}`);
      parts.push(Buffer.from(`\nn:${String(v)}`, 'utf8'));
    } else {
      const bytes = Buffer.from(v, 'utf8');
      parts.push(Buffer.from(`\ns:${bytes.length}:`, 'utf8'), bytes);
    }
  }
  return Buffer.concat(parts);
}

/** The event's hash: hex sha256 of its canonical bytes. */
export function eventHash(e: ChainFields): string {
  return createHash('sha256').update(canonicalEventBytes(e)).digest('hex');
}

/**
 * Chains new events onto `head`: consecutive seqs from head.seq + 1, each prev_hash the hash
 * before it. Pure; `appendChained` runs it under the chain's lock.
 */
export function chainEvents(head: ChainHead, events: readonly RolloutEvent[]): ChainedEvent[] {
  const out: ChainedEvent[] = [];
  let prev = head;
  for (const e of events) {
    const fields: ChainFields = {
      seq: prev.seq + 1, at: e.at, type: wellFormed(e.type), rollout_id: e.rollout_id === null ? null : wellFormed(e.rollout_id),
      payload: JSON.stringify(e.payload), prev_hash: prev.hash,
    };
    const hash = eventHash(fields);
    out.push({ ...fields, hash });
    prev = { seq: fields.seq, hash };
  }
  return out;
}

/**
 * Appends events to the log, chained. The only way events are written. Serialised by the
 * one-row table `event_chain_head`: its UPDATE … RETURNING takes the row's lock (PostgreSQL
 * holds it until the transaction ends, so a second writer waits and then reads the head the
 * first one committed; SQLite's write transactions are serialised already, BEGIN IMMEDIATE).
 * Call it as the last write of its transaction, so the lock is held briefly and no writer
 * waits for another lock while holding it.
 */
export async function appendChained(tx: Transaction<StoreSchema>, events: readonly RolloutEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = chainEvents(await lockHead(tx), events);
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await tx.insertInto('events').values(rows.slice(i, i + INSERT_CHUNK)).execute();
  }
  const last = rows[rows.length - 1];
  if (last) await tx.updateTable('event_chain_head').set({ seq: last.seq, hash: last.hash }).where('id', '=', 1).execute();
}

/** Locks the chain's head row and reads it (the newest committed head, once the lock is ours). */
async function lockHead(tx: Transaction<StoreSchema>): Promise<ChainHead> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const row = await tx.updateTable('event_chain_head').set((eb) => ({ seq: eb.ref('seq') })).where('id', '=', 1)
      .returning(['seq', 'hash']).executeTakeFirst();
    if (row) return { seq: Number(row.seq), hash: row.hash };
    // Only a hand-edited database loses the head row: rebuild it from the last event rather than
    // stop writing the log (verify reports the missing row until then).
    const last = await tx.selectFrom('events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    await tx.insertInto('event_chain_head').values({ id: 1, seq: last ? Number(last.seq) : 0, hash: last?.hash ?? GENESIS_HASH })
      .onConflict((oc) => oc.column('id').doNothing()).execute();
  }
  throw new Error('event chain: the head row (event_chain_head) could not be locked');
}

// ── verification ──────────────────────────────────────────────────────────────

export type ChainBreakReason = 'hash mismatch' | 'prev_hash mismatch' | 'seq gap' | 'head mismatch' | 'checkpoint mismatch';

export interface ChainBreak {
  readonly seq: number;
  /** The event at that seq, when there is one. */
  readonly type: string | null;
  readonly at: number | null;
  readonly reason: ChainBreakReason;
  /** What was found, in a sentence. */
  readonly detail: string;
}

interface Expectation {
  readonly hash: string;
  readonly source: 'checkpoint' | 'head';
  seen: boolean;
}

export type ChainVerdict =
  | { readonly ok: true; readonly events: number; readonly head: ChainHead; readonly checkpoints: number }
  | { readonly ok: false; readonly first_broken: ChainBreak; readonly checked: number };

export interface ChainExpectations {
  /** Signed checkpoints, already verified: the chain must still hold each seq with that hash. */
  readonly checkpoints?: readonly ChainHead[];
  /**
   * The head the store recorded (event_chain_head), read before the walk: events deleted from
   * the end of the log show up against it. null: the record is missing; undefined: not checked.
   */
  readonly recordedHead?: ChainHead | null;
}

/**
 * Walks the log in seq order, one page at a time (`add`), and says where it first breaks
 * (`finish`). Pure. Per event, in order: it links to the one before (prev_hash; a seq that does
 * not follow and does not link is a gap), its hash matches its contents, and it matches any
 * checkpoint or recorded head at its seq. A seq that skips numbers but links (a PostgreSQL
 * sequence gap in rows chained by the migration) is accepted: the link proves nothing is missing.
 */
export class ChainWalk {
  #last: ChainHead = { seq: 0, hash: GENESIS_HASH };
  #lastEvent: { type: string; at: number } | undefined;
  #checked = 0;
  #broken: ChainBreak | undefined;
  readonly #expect = new Map<number, Expectation[]>();
  readonly #checkpoints: number;
  readonly #headMissing: boolean;

  constructor(opts: ChainExpectations = {}) {
    const expect = (e: ChainHead, source: Expectation['source']) => {
      // Seq 0 is the genesis: every chain has it.
      const seen = e.seq === 0 && e.hash === GENESIS_HASH;
      this.#expect.set(e.seq, [...(this.#expect.get(e.seq) ?? []), { hash: e.hash, source, seen }]);
    };
    for (const c of opts.checkpoints ?? []) expect(c, 'checkpoint');
    this.#checkpoints = opts.checkpoints?.length ?? 0;
    this.#headMissing = opts.recordedHead === null;
    if (opts.recordedHead) expect(opts.recordedHead, 'head');
  }

  /** Feeds the next rows (ascending seq, continuing the previous page); false once broken: stop reading. */
  add(rows: readonly ChainedEvent[]): boolean {
    for (const row of rows) {
      if (this.#broken) return false;
      this.#broken = this.#check(row);
      if (this.#broken) return false;
      this.#last = { seq: row.seq, hash: row.hash };
      this.#lastEvent = { type: row.type, at: row.at };
      this.#checked++;
    }
    return this.#broken === undefined;
  }

  finish(): ChainVerdict {
    if (this.#broken) return { ok: false, first_broken: this.#broken, checked: this.#checked };
    const unseen = [...this.#expect].flatMap(([seq, es]) => es.filter((e) => !e.seen).map((e) => [seq, e] as const)).sort(([a], [b]) => a - b)[0];
    if (unseen) {
      const [seq, e] = unseen;
      const what = e.source === 'checkpoint' ? 'a signed checkpoint' : 'the recorded chain head';
      const detail = seq > this.#last.seq
        ? `${what} is at seq ${seq}, but the log ends at seq ${this.#last.seq}: events ${this.#last.seq + 1}…${seq} were deleted`
        : `${what} is at seq ${seq}, which the log no longer has: the chain was rewritten around it`;
      return { ok: false, first_broken: { seq, type: null, at: null, reason: e.source === 'checkpoint' ? 'checkpoint mismatch' : 'head mismatch', detail }, checked: this.#checked };
    }
    if (this.#headMissing && this.#checked > 0) {
      const detail = `the recorded chain head (table event_chain_head) is missing; the log ends at seq ${this.#last.seq}, and events after it may have been deleted`;
      return { ok: false, first_broken: { seq: this.#last.seq, type: this.#lastEvent?.type ?? null, at: this.#lastEvent?.at ?? null, reason: 'head mismatch', detail }, checked: this.#checked };
    }
    return { ok: true, events: this.#checked, head: this.#last, checkpoints: this.#checkpoints };
  }

  #check(row: ChainedEvent): ChainBreak | undefined {
    const last = this.#last;
    const at = (reason: ChainBreakReason, detail: string): ChainBreak => ({ seq: row.seq, type: row.type, at: row.at, reason, detail });
    if (!Number.isSafeInteger(row.seq) || row.seq <= last.seq) {
      return at('seq gap', `seq ${row.seq} does not come after seq ${last.seq}: a row was inserted by hand`);
    }
    if (row.prev_hash !== last.hash) {
      if (row.seq !== last.seq + 1) {
        const missing = row.seq === last.seq + 2 ? `event ${last.seq + 1} is` : `events ${last.seq + 1}…${row.seq - 1} are`;
        return at('seq gap', `${missing} missing (deleted), and seq ${row.seq} does not link to seq ${last.seq}`);
      }
      return at('prev_hash mismatch', last.seq === 0
        ? 'the first event does not start from the genesis hash: events before it were deleted, or it was changed'
        : `its prev_hash is not the hash of seq ${last.seq}: that event was changed and re-hashed, or this link was edited`);
    }
    const hash = eventHash(row);
    if (hash !== row.hash) return at('hash mismatch', 'its contents no longer match its hash: the row was changed after it was written');
    for (const expected of this.#expect.get(row.seq) ?? []) {
      expected.seen = true;
      if (expected.hash !== row.hash) {
        return at(expected.source === 'checkpoint' ? 'checkpoint mismatch' : 'head mismatch', expected.source === 'checkpoint'
          ? `a signed checkpoint says seq ${row.seq} had hash ${expected.hash.slice(0, 12)}…, the log now has ${row.hash.slice(0, 12)}…: the chain was rewritten and re-hashed up to here`
          : `the recorded chain head says seq ${row.seq} has hash ${expected.hash.slice(0, 12)}…, the log has ${row.hash.slice(0, 12)}…`);
      }
    }
    return undefined;
  }
}

/** The whole walk over rows already in memory. */
export function verifyChain(rows: readonly ChainedEvent[], opts: ChainExpectations = {}): ChainVerdict {
  const walk = new ChainWalk(opts);
  walk.add(rows);
  return walk.finish();
}

/**
 * Verifies the store's log: reads the recorded head, then the events in pages of `pageSize`
 * (keyset on seq), so a large log is never held in memory. Safe while the control plane writes:
 * events appended during the walk are checked too.
 */
export async function verifyEventLog(db: Kysely<StoreSchema>, opts: { checkpoints?: readonly ChainHead[]; pageSize?: number } = {}): Promise<ChainVerdict> {
  const pageSize = opts.pageSize ?? DEFAULT_PAGE;
  const head = await db.selectFrom('event_chain_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  const walk = new ChainWalk({ ...(opts.checkpoints ? { checkpoints: opts.checkpoints } : {}), recordedHead: head ? { seq: Number(head.seq), hash: head.hash } : null });
  let after: number | undefined;
  for (;;) {
    let q = db.selectFrom('events').select(['seq', 'at', 'type', 'rollout_id', 'payload', 'prev_hash', 'hash']).orderBy('seq').limit(pageSize);
    // The first page has no lower bound: a row slipped in below seq 1 is seen too.
    if (after !== undefined) q = q.where('seq', '>', after);
    const rows = await q.execute();
    const chained = rows.map((r): ChainedEvent => ({
      seq: Number(r.seq), at: Number(r.at), type: r.type, rollout_id: r.rollout_id, payload: r.payload,
      prev_hash: r.prev_hash ?? '', hash: r.hash ?? '',
    }));
    if (!walk.add(chained) || rows.length < pageSize) break;
    after = chained[chained.length - 1]?.seq;
  }
  return walk.finish();
}

/** One sentence for a verdict, naming the first broken link (seq, type, time). */
export function describeVerdict(v: ChainVerdict): string {
  if (v.ok) {
    const cps = v.checkpoints === 0 ? '' : `; ${v.checkpoints === 1 ? 'the checkpoint matches' : `all ${v.checkpoints} checkpoints match`}`;
    return v.events === 0 ? `the event log is empty${cps}` : `the event log is intact: ${v.events} events, head seq ${v.head.seq} (hash ${v.head.hash.slice(0, 16)}…)${cps}`;
  }
  const b = v.first_broken;
  const what = b.type === null ? '' : ` (${b.type}${b.at === null ? '' : `, ${isoOrRaw(b.at)}`})`;
  return `the event log is broken at seq ${b.seq}${what}: ${b.reason}: ${b.detail}; ${v.checked} events before it check out`;
}

function isoOrRaw(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

// ── checkpoints ───────────────────────────────────────────────────────────────

/** A signed statement that the log's event `seq` had hash `hash`; kept outside the database. */
export interface Checkpoint {
  readonly seq: number;
  readonly hash: string;
  /** When it was taken (ISO 8601). */
  readonly at: string;
  /** base64 ed25519 signature of checkpointMessage. */
  readonly signature: string;
}

export function checkpointMessage(c: { seq: number; hash: string; at: string }): Buffer {
  return Buffer.from(`${CHECKPOINT_DOMAIN}\n${c.seq}\n${c.hash}\n${c.at}`, 'utf8');
}

export function signCheckpoint(privateKey: KeyObject, head: ChainHead, at: Date): Checkpoint {
  const unsigned = { seq: head.seq, hash: head.hash, at: at.toISOString() };
  return { ...unsigned, signature: sign(null, checkpointMessage(unsigned), privateKey).toString('base64') };
}

/** Reads a checkpoint file's text; the shape only (verifyCheckpoint checks the signature). */
export function parseCheckpoint(text: string): { ok: true; checkpoint: Checkpoint } | { ok: false; message: string } {
  let v: unknown;
  try { v = JSON.parse(text); } catch (err) { return { ok: false, message: `not JSON: ${(err as Error).message}` }; }
  if (typeof v !== 'object' || v === null) return { ok: false, message: 'not a JSON object' };
  const o = v as Record<string, unknown>;
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 0) return { ok: false, message: 'seq must be a whole number ≥ 0' };
  if (typeof o.hash !== 'string' || !/^[0-9a-f]{64}$/.test(o.hash)) return { ok: false, message: 'hash must be 64 lowercase hex digits' };
  if (typeof o.at !== 'string' || o.at === '') return { ok: false, message: 'at must be a time (ISO 8601)' };
  if (typeof o.signature !== 'string' || o.signature === '') return { ok: false, message: 'signature is missing' };
  return { ok: true, checkpoint: { seq: o.seq, hash: o.hash, at: o.at, signature: o.signature } };
}

export function verifyCheckpoint(publicKey: KeyObject, c: Checkpoint): { ok: true } | { ok: false; message: string } {
  const raw = Buffer.from(c.signature, 'base64');
  if (raw.length !== 64) return { ok: false, message: 'bad checkpoint signature (not 64 bytes of ed25519)' };
  return verify(null, checkpointMessage(c), publicKey, raw)
    ? { ok: true }
    : { ok: false, message: `bad checkpoint signature for seq ${c.seq}: not signed by this key, or the checkpoint was edited` };
}

/** The string as the database will store it: lone surrogates become U+FFFD, as the drivers' UTF-8 encoding makes them. */
function wellFormed(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}
