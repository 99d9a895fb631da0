import { readFile, writeFile } from 'node:fs/promises';
import { parsePublicKey } from '@failsmall/core';
import {
  describeVerdict, EventLogUnavailable, openEventLogReadOnly, parseCheckpoint, parseStoreUrl, signCheckpoint, verifyCheckpoint,
  type ChainVerdict, type Checkpoint, type EventLogReader,
} from '@failsmall/server';
import { CliError } from '../client.ts';
import type { Out } from '../output.ts';
import { readPrivateKey } from './common.ts';

/**
 * Exit codes of `audit verify` and `audit checkpoint` (docs/cli.md). Like `audit deps`, 1 is
 * the finding itself and nothing else: a script can tell "the log was tampered with" from
 * "the check could not run".
 */
export const AUDIT_LOG_EXIT = {
  /** The chain is intact (and matches every checkpoint given). */
  INTACT: 0,
  /** The chain is broken, or no longer holds a signed checkpoint: the log was changed. */
  BROKEN: 1,
  /** Bad input: a checkpoint or key file unreadable or invalid, a forged checkpoint, a store from before the chain. */
  BAD_INPUT: 2,
  /** The store cannot be opened or read. */
  UNREADABLE: 3,
} as const;

const DEFAULT_STORE = '.failsmall/failsmall.db';

export interface AuditVerifyOptions {
  store?: string;
  /** Checkpoint files (repeatable). */
  checkpoint?: string[];
  /** The public key the checkpoints are signed with. */
  pub?: string;
}

/**
 * `failsmall audit verify [--store URL] [--checkpoint FILE --pub FILE] [--json]`: walks the
 * event log's hash chain straight from the store (a SQLite file, a copy of one, or
 * postgres://…; no control plane needed, nothing written) and names the first broken link.
 * Exit 0 intact, 1 broken, 2 bad input, 3 store unreadable.
 */
export async function auditVerify(opts: AuditVerifyOptions, out: Out): Promise<number> {
  const checkpoints = await readCheckpoints(opts.checkpoint ?? [], opts.pub);
  const log = await openLog(opts.store);
  let verdict: ChainVerdict;
  try {
    verdict = await log.verify({ checkpoints: checkpoints.map((c) => ({ seq: c.seq, hash: c.hash })) });
  } catch (err) {
    throw new CliError('STORE_UNREADABLE', `reading the event log failed: ${(err as Error).message}`, AUDIT_LOG_EXIT.UNREADABLE);
  } finally {
    await log.close();
  }
  const message = describeVerdict(verdict);
  out.data({ ...verdict, message });
  out.line(message);
  return verdict.ok ? AUDIT_LOG_EXIT.INTACT : AUDIT_LOG_EXIT.BROKEN;
}

/**
 * `failsmall audit checkpoint --key FILE [--store URL] [--out FILE]`: verifies the chain, then
 * prints (or writes) its head, signed with an ed25519 private key: `{seq, hash, at, signature}`.
 * Kept outside the database, it later proves the chain was not rewritten up to that seq.
 */
export async function auditCheckpoint(opts: { store?: string; key: string; out?: string }, out: Out): Promise<number> {
  const key = await readPrivateKey(opts.key, { exitCode: AUDIT_LOG_EXIT.BAD_INPUT, unreadable: 'cannot read the checkpoint key', hint: 'make one with failsmall keys init --name audit; keep it away from the control plane' });
  const log = await openLog(opts.store);
  let verdict: ChainVerdict;
  try {
    verdict = await log.verify();
  } catch (err) {
    throw new CliError('STORE_UNREADABLE', `reading the event log failed: ${(err as Error).message}`, AUDIT_LOG_EXIT.UNREADABLE);
  } finally {
    await log.close();
  }
  if (!verdict.ok) {
    // Never sign a broken chain: the checkpoint would vouch for the tampering.
    const message = `${describeVerdict(verdict)}; no checkpoint written`;
    out.data({ ...verdict, message });
    out.line(message);
    return AUDIT_LOG_EXIT.BROKEN;
  }
  const checkpoint = signCheckpoint(key, verdict.head, new Date());
  const text = `${JSON.stringify(checkpoint, null, 2)}\n`;
  if (opts.out !== undefined) {
    await writeFile(opts.out, text, { mode: 0o644 });
    out.data({ ok: true, checkpoint, file: opts.out });
    out.line(`checkpoint of seq ${checkpoint.seq} written to ${opts.out}: store it away from the control plane and its database`);
  } else {
    // The checkpoint is the output, with --json or without: `> FILE` keeps it.
    process.stdout.write(text);
    if (!out.json) process.stderr.write(`checkpoint of seq ${checkpoint.seq} (${verdict.events} events): store it away from the control plane and its database\n`);
  }
  return AUDIT_LOG_EXIT.INTACT;
}

async function openLog(store: string | undefined): Promise<EventLogReader> {
  let config;
  try {
    config = parseStoreUrl(store ?? process.env.FAILSMALL_STORE ?? DEFAULT_STORE);
  } catch (err) {
    throw new CliError('USAGE', (err as Error).message, AUDIT_LOG_EXIT.BAD_INPUT);
  }
  try {
    return await openEventLogReadOnly(config);
  } catch (err) {
    if (err instanceof EventLogUnavailable) {
      throw new CliError(err.code, err.message, err.code === 'STORE_UNREADABLE' ? AUDIT_LOG_EXIT.UNREADABLE : AUDIT_LOG_EXIT.BAD_INPUT,
        err.code === 'STORE_UNREADABLE' ? 'pass --store sqlite:PATH, a file path or postgres://… (default $FAILSMALL_STORE, else .failsmall/failsmall.db)' : undefined);
    }
    throw err;
  }
}

/** Reads and checks each checkpoint's signature: a checkpoint that does not verify proves nothing. */
async function readCheckpoints(files: readonly string[], pub: string | undefined): Promise<Checkpoint[]> {
  if (files.length === 0) return [];
  if (pub === undefined) throw new CliError('USAGE', '--checkpoint needs --pub, the public key the checkpoint was signed with', AUDIT_LOG_EXIT.BAD_INPUT);
  const pem = await readText(pub, 'public key');
  const key = parsePublicKey(pem);
  if (!key.ok) throw new CliError('BAD_KEY', `${pub}: ${key.message}`, AUDIT_LOG_EXIT.BAD_INPUT);
  const out: Checkpoint[] = [];
  for (const file of files) {
    const parsed = parseCheckpoint(await readText(file, 'checkpoint'));
    if (!parsed.ok) throw new CliError('BAD_CHECKPOINT', `${file}: ${parsed.message}`, AUDIT_LOG_EXIT.BAD_INPUT, 'a checkpoint is the JSON that failsmall audit checkpoint prints');
    const signed = verifyCheckpoint(key.key, parsed.checkpoint);
    if (!signed.ok) throw new CliError('BAD_CHECKPOINT', `${file}: ${signed.message}`, AUDIT_LOG_EXIT.BAD_INPUT, 'check --pub is the public half of the key that signed it');
    out.push(parsed.checkpoint);
  }
  return out;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, AUDIT_LOG_EXIT.BAD_INPUT);
  }
}
