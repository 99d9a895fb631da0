import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BreakglassEnvelope, DrillReadiness } from '@failsmall/core';
import { readIfExists, writeAtomic } from './files.ts';

/** One line of the node's break-glass log: every command that reached the agent, carried out or refused. */
export interface BreakglassLogEntry {
  /** Line number in the log, from 1: with the node id, it names the entry everywhere. */
  readonly seq: number;
  /** ISO 8601, the agent's clock. */
  readonly at: string;
  readonly node: string;
  /** `checked`: a drill, verified and answered; it changed nothing. */
  readonly outcome: 'applied' | 'refused' | 'checked';
  /** The refusal's code, or the action's result code when it could not be carried out. */
  readonly code?: string;
  readonly message: string;
  /** `http <remote address>` or `file <name>`. */
  readonly via: string;
  readonly action?: string;
  readonly target?: string;
  readonly version?: string;
  readonly operator?: string;
  readonly reason?: string;
  readonly nonce?: string;
  readonly issued_at?: string;
  readonly expires_at?: string;
  /** What the affected artifacts serve afterwards. */
  readonly result?: readonly { artifact: string; serving: string | null; state: string }[];
  /** A drill's findings: whether lkg and kill-switch would work, per artifact. */
  readonly drill?: readonly DrillReadiness[];
  /**
   * The envelope exactly as received, on every entry for a command whose signature verified (applied,
   * checked, or refused after that: expired, another node, a replayed nonce, not carried out). The
   * control plane verifies it again before it stores an `applied` or `checked` entry. Garbage has none.
   */
  readonly envelope?: BreakglassEnvelope;
}

/**
 * The node's append-only break-glass log (`<dir>/.breakglass/log.jsonl`), opened with
 * O_APPEND and never rewritten. It is also the agent's memory of used nonces and of the
 * command files already carried out, so a restart cannot turn a replay into a new command.
 * A separate cursor file remembers how far the control plane has been told.
 */
export class BreakglassLog {
  readonly #dir: string;
  readonly #nonces = new Set<string>();
  readonly #files = new Set<string>();
  #entries: BreakglassLogEntry[] = [];

  constructor(agentDir: string) {
    this.#dir = join(agentDir, '.breakglass');
  }

  get path(): string { return join(this.#dir, 'log.jsonl'); }

  /** Reads the log back; a torn last line (a crash mid-append) is skipped, never fatal. */
  async open(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    for (const n of ((await readIfExists(join(this.#dir, 'nonces')))?.toString('utf8') ?? '').split('\n')) if (n.trim()) this.#nonces.add(n.trim());
    const raw = await readIfExists(this.path);
    this.#entries = [];
    for (const line of (raw?.toString('utf8') ?? '').split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as BreakglassLogEntry;
        if (typeof e.seq === 'number') this.#remember(e);
      } catch { /* a torn line */ }
    }
  }

  seen(nonce: string): boolean { return this.#nonces.has(nonce); }

  /**
   * Spends a nonce durably *before* its command acts: a crash between the action and the log line
   * must not let the same bytes act again after a restart.
   */
  async spend(nonce: string): Promise<void> {
    await appendFile(join(this.#dir, 'nonces'), `${nonce}\n`, { flag: 'a', mode: 0o600 });
    this.#nonces.add(nonce);
  }
  fileDone(name: string): boolean { return this.#files.has(name); }
  entries(): readonly BreakglassLogEntry[] { return this.#entries; }

  async append(entry: Omit<BreakglassLogEntry, 'seq'>): Promise<BreakglassLogEntry> {
    // Unsigned input can reach the message: cap it, so one hostile request cannot bloat the log or its report.
    const full: BreakglassLogEntry = { seq: this.#entries.length + 1, ...entry, message: entry.message.slice(0, 1000), via: entry.via.slice(0, 200) };
    await appendFile(this.path, `${JSON.stringify(full)}\n`, { flag: 'a', mode: 0o600 });
    this.#remember(full);
    return full;
  }

  /** Entries the control plane has not acknowledged yet. */
  async unreported(): Promise<BreakglassLogEntry[]> {
    const done = Number((await readIfExists(join(this.#dir, 'reported')))?.toString('utf8') ?? '0') || 0;
    return this.#entries.filter((e) => e.seq > done);
  }

  async markReported(seq: number): Promise<void> {
    await writeAtomic(join(this.#dir, 'reported'), String(seq));
  }

  #remember(e: BreakglassLogEntry): void {
    this.#entries.push(e);
    // A nonce is spent once its signature verified, whatever happened next: the same bytes never act twice.
    if (e.nonce && e.code !== 'BAD_SIGNATURE' && e.code !== 'MALFORMED' && e.code !== 'TOO_LARGE') this.#nonces.add(e.nonce);
    if (e.via.startsWith('file ')) this.#files.add(e.via.slice(5));
  }
}
