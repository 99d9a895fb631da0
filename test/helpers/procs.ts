/**
 * Test helpers for the end-to-end suites: real `failsmall` child processes, a tiny API
 * client, deadline-based waits and a seeded random source. Nothing here asserts on time:
 * every wait has a generous deadline and fails naming what never happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_BIN = fileURLToPath(new URL('../../packages/cli/bin/failsmall.js', import.meta.url));

const KEEP_STDOUT = 2 * 1024 * 1024;
const KEEP_STDERR = 256 * 1024;

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A spawned `failsmall …` process with its output collected. */
export class Child {
  readonly proc: ChildProcess;
  readonly args: readonly string[];
  readonly exited: Promise<ExitInfo>;
  #stdout = '';
  #stderr = '';
  #exit: ExitInfo | undefined;

  constructor(args: readonly string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
    this.args = args;
    this.proc = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stdout?.on('data', (d: string) => { this.#stdout = (this.#stdout + d).slice(-KEEP_STDOUT); });
    this.proc.stderr?.on('data', (d: string) => { this.#stderr = (this.#stderr + d).slice(-KEEP_STDERR); });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.proc.once('error', (err) => { this.#stderr += `\n[spawn error] ${err.message}`; this.#exit = { code: -1, signal: null }; resolve(this.#exit); });
      // 'close' (not 'exit'): the pipes are drained, so stdout/stderr are complete.
      this.proc.once('close', (code, signal) => { this.#exit = { code, signal }; resolve(this.#exit); });
    });
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error(`failsmall ${this.args.join(' ')} has no pid (spawn failed): ${this.#stderr}`);
    return this.proc.pid;
  }

  get stdout(): string { return this.#stdout; }
  get stderr(): string { return this.#stderr; }
  get exit(): ExitInfo | undefined { return this.#exit; }
  get running(): boolean { return this.#exit === undefined && this.proc.exitCode === null && this.proc.signalCode === null; }

  describe(): string {
    return `failsmall ${this.args.join(' ')} (pid ${this.proc.pid ?? '?'}, exit ${this.#exit ? `${this.#exit.code ?? ''}${this.#exit.signal ?? ''}` : 'still running'})\n` +
      `--- stdout (tail) ---\n${this.#stdout.slice(-3000)}\n--- stderr (tail) ---\n${this.#stderr.slice(-3000)}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Safe to call twice. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) { await this.exited; return; }
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => { if (this.running) this.proc.kill('SIGKILL'); }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Runs `failsmall …` to completion; a run past `timeoutMs` is killed and reported. */
export async function runCli(args: readonly string[], opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string; child: Child }> {
  const child = new Child(args, opts);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.proc.kill('SIGKILL'); }, timeoutMs);
  const exit = await child.exited;
  clearTimeout(timer);
  if (timedOut) throw new Error(`failsmall ${args.join(' ')} did not exit within ${timeoutMs / 1000}s\n${child.describe()}`);
  return { code: exit.code, stdout: child.stdout, stderr: child.stderr, child };
}

/** Where freePort() looks: above the service ports a test box runs (5432, 9090, 9222, …), below the kernel's ephemeral range. */
const FREE_PORT_FLOOR = 20_000;
const handedOut = new Set<number>();
let portRange: { lo: number; hi: number } | null | undefined;
let portCursor = 0;

/** The ports between FREE_PORT_FLOOR and the ephemeral range, when the machine leaves room for them. */
function portsOutsideEphemeralRange(): { lo: number; hi: number } | null {
  try {
    const [lo = 0] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo - FREE_PORT_FLOOR >= 2000) return { lo: FREE_PORT_FLOOR, hi: lo - 1 };
  } catch { /* not Linux: the kernel chooses */ }
  return null;
}

/** Listens on `port` (0: the kernel chooses) and closes again: the port it got, or undefined when it is taken. */
function probePort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * A port that was free a moment ago, for a test to listen on later. Never the same port twice
 * in one process: listen(0) repeats itself (50 calls gave a duplicate in about one run of five).
 * Taken outside the kernel's ephemeral range when there is room, and in sequence from a random
 * start: no other process's listen(0) or outgoing connection can take it before the test binds
 * it, and two test files running at once rarely reach for the same one.
 */
export async function freePort(): Promise<number> {
  if (portRange === undefined) {
    portRange = portsOutsideEphemeralRange();
    if (portRange) portCursor = Math.floor(Math.random() * (portRange.hi - portRange.lo + 1));
  }
  for (let attempt = 0; attempt < 1000; attempt++) {
    const candidate = portRange ? portRange.lo + (portCursor++ % (portRange.hi - portRange.lo + 1)) : 0;
    if (handedOut.has(candidate)) continue;
    const port = await probePort(candidate);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: found no free loopback port in 1000 tries');
}

export interface Served {
  readonly child: Child;
  readonly url: string;
  /** Set only on the first start of a store. */
  readonly adminToken: string | null;
}

/** `failsmall serve --json`: waits for its `{ ok, url, store, admin_token }` line. */
export async function startServe(o: { store: string; port: number; signingKey: string; tickMs?: number; cwd?: string; timeoutMs?: number; args?: readonly string[] }): Promise<Served> {
  const child = new Child(['serve', '--store', o.store, '--port', String(o.port), '--json', '--tick-ms', String(o.tickMs ?? 50), '--signing-key', o.signingKey, ...(o.args ?? [])], o.cwd ? { cwd: o.cwd } : {});
  const until = Date.now() + (o.timeoutMs ?? 30_000);
  while (Date.now() < until) {
    const text = child.stdout.trim();
    if (text) {
      try {
        const parsed = JSON.parse(text) as { ok: boolean; url: string; admin_token: string | null };
        if (parsed.ok && parsed.url) return { child, url: parsed.url, adminToken: parsed.admin_token };
      } catch { /* not complete yet */ }
    }
    if (!child.running) throw new Error(`failsmall serve exited before it printed its address\n${child.describe()}`);
    await sleep(20);
  }
  child.proc.kill('SIGKILL');
  await child.exited;
  throw new Error(`failsmall serve did not print { ok, url } within ${(o.timeoutMs ?? 30_000) / 1000}s\n${child.describe()}`);
}

export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(message: string, status: number, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** A minimal client for the control-plane API (real HTTP, as agents and the CLI use it). */
export class Api {
  url: string;
  readonly token: string;
  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  async get<T>(path: string): Promise<T> {
    return this.#req<T>('GET', path);
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.#req<T>('POST', path, JSON.stringify(body), 'application/json');
  }

  async postBytes<T>(path: string, bytes: Uint8Array): Promise<T> {
    return this.#req<T>('POST', path, bytes, 'application/octet-stream');
  }

  async #req<T>(method: string, path: string, body?: string | Uint8Array, type?: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(type ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let parsed: unknown;
    try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = text; }
    if (!res.ok) throw new HttpError(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`, res.status, parsed);
    return parsed as T;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` until it returns a value other than undefined/false, or the deadline
 * passes; then fails naming `what` and the last thing seen. Errors thrown by `check`
 * (e.g. the control plane is restarting) count as "not yet".
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, o: { timeoutMs?: number; intervalMs?: number; last?: () => string } = {}): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= until) break;
    await sleep(o.intervalMs ?? 50);
  }
  const last = o.last ? `; last seen: ${o.last()}` : '';
  const err = lastErr ? `; last error: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}` : '';
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last}${err}`);
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
