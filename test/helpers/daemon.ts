/**
 * A real third-party server (Prometheus, Alertmanager…) run by a test: spawned on loopback,
 * its log tail kept for failure messages, ready once an HTTP path answers 2xx, stopped with
 * SIGTERM then SIGKILL. Missing binary = a failing test naming the Debian package, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from './procs.ts';

const KEEP_LOG = 64 * 1024;

/** Throws, naming the Debian package to install, when `bin` is not there. */
export function requireBinary(bin: string, what: string, debianPackage: string): string {
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`${what} is required for these tests and ${bin} is missing. Install Debian's package: apt-get update && apt-get install -y ${debianPackage} (npm test does this itself)`);
  }
  return bin;
}

/** One running process. `stop()`/`kill()` are safe to call more than once. */
export class Daemon {
  readonly name: string;
  readonly url: string;
  readonly #proc: ChildProcess;
  readonly #exited: Promise<void>;
  #log = '';
  #running = true;

  constructor(name: string, bin: string, args: readonly string[], o: { cwd: string; url: string }) {
    this.name = name;
    this.url = o.url;
    this.#proc = spawn(bin, args, { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = this.#proc;
    proc.stdout?.setEncoding('utf8');
    proc.stderr?.setEncoding('utf8');
    const keep = (d: string) => { this.#log = (this.#log + d).slice(-KEEP_LOG); };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => {
      proc.once('error', (err) => { keep(`\n[spawn error] ${err.message}`); this.#running = false; resolve(); });
      proc.once('close', () => { this.#running = false; resolve(); });
    });
  }

  get running(): boolean { return this.#running; }
  get pid(): number | undefined { return this.#proc.pid; }
  /** The tail of the process's own log (stdout and stderr). */
  get log(): string { return this.#log; }

  /** SIGKILL, for a process that dies mid-test; resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.#running) this.#proc.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.#running) { await this.#exited; return; }
    this.#proc.kill('SIGTERM');
    const timer = setTimeout(() => { if (this.#running) this.#proc.kill('SIGKILL'); }, graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  describe(dir: string): string {
    return `${this.name} on ${this.url} (pid ${this.#proc.pid ?? '?'}, ${this.#running ? 'running' : 'exited'}, dir ${dir})\n--- log (tail) ---\n${this.#log.slice(-3000)}`;
  }

  /** Waits until `path` answers 2xx; throws with the last answer and the log tail otherwise. */
  async waitReady(path: string, timeoutMs: number, dir: string): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < until) {
      if (!this.#running) throw new Error(`${this.name} exited before it was ready\n${this.describe(dir)}`);
      try {
        const res = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
        last = `HTTP ${res.status} ${(await res.text()).trim()}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs / 1000}s (last ${path}: ${last})\n${this.describe(dir)}`);
  }
}

/**
 * Starts `bin` in a fresh temp dir (`setup` writes its config there) on a free loopback port and
 * waits for `readyPath`; on "address already in use" (the port was taken between choosing and
 * binding) tries another port, up to three times. The dir is removed if it never starts.
 */
export async function startDaemon(o: {
  name: string; bin: string; dirPrefix: string; readyPath: string; readyTimeoutMs: number;
  setup(dir: string): void; args(dir: string, port: number): string[];
}): Promise<{ daemon: Daemon; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), o.dirPrefix));
  let lastFailure = '';
  try {
    o.setup(dir);
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const daemon = new Daemon(o.name, o.bin, o.args(dir, port), { cwd: dir, url: `http://127.0.0.1:${port}` });
      try {
        await daemon.waitReady(o.readyPath, o.readyTimeoutMs, dir);
        return { daemon, dir };
      } catch (err) {
        lastFailure = (err as Error).message;
        await daemon.stop();
        if (!/address already in use/.test(daemon.log)) break;
      }
    }
  } catch (err) {
    lastFailure = (err as Error).message;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(lastFailure);
}

/** What a test holds of a started daemon: its URL, its temp dir, and how to stop and remove it. */
export class DaemonHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  protected readonly daemon: Daemon;

  protected constructor(started: { daemon: Daemon; dir: string }) {
    this.daemon = started.daemon;
    this.dir = started.dir;
    this.url = started.daemon.url;
    this.port = Number(new URL(started.daemon.url).port);
  }

  get running(): boolean { return this.daemon.running; }
  get pid(): number | undefined { return this.daemon.pid; }
  /** The tail of the process's own log. */
  get log(): string { return this.daemon.log; }

  /** SIGKILL, for a process that dies mid-test; resolves once it is gone. */
  kill(): Promise<void> { return this.daemon.kill(); }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs = 5000): Promise<void> { return this.daemon.stop(graceMs); }

  /** Stops it and removes its config and data. */
  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  describe(): string { return this.daemon.describe(this.dir); }
}
