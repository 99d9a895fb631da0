/**
 * A real Prometheus (Debian's 2.42, /usr/bin/prometheus) for the tests: loopback, a free port,
 * a temp TSDB, a 1 s scrape interval, and the scrape targets the test gives. Targets change
 * by rewriting the config and POSTing /-/reload (--web.enable-lifecycle), which returns once
 * the new config is in force, so a test never waits on a file watcher.
 *
 * Missing binary = a failing test naming the install command, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from './procs.ts';

export const PROMETHEUS_BIN = process.env.FAILSMALL_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const SCRAPE_JOB = 'failsmall-agents';

const KEEP_LOG = 64 * 1024;

/** Throws, naming the install command, when the Prometheus binary is not there. */
export function requirePrometheus(): string {
  try {
    accessSync(PROMETHEUS_BIN, constants.X_OK);
  } catch {
    throw new Error(`Prometheus is required for these tests and ${PROMETHEUS_BIN} is missing. Install Debian's package: apt-get update && apt-get install -y prometheus (npm test does this itself)`);
  }
  return PROMETHEUS_BIN;
}

export interface TargetStatus {
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
}

/** One running Prometheus. `stop()`/`kill()` are safe to call more than once. */
export class TestPrometheus {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly #proc: ChildProcess;
  readonly #exited: Promise<void>;
  #log = '';
  #running = true;

  private constructor(proc: ChildProcess, port: number, dir: string) {
    this.#proc = proc;
    this.port = port;
    this.dir = dir;
    this.url = `http://127.0.0.1:${port}`;
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

  /**
   * Starts Prometheus scraping `targets` (host:port of /metrics endpoints) every second and
   * waits for /-/ready. Retries on another port if the chosen one was taken meanwhile.
   */
  static async start(o: { targets?: readonly string[]; readyTimeoutMs?: number } = {}): Promise<TestPrometheus> {
    const bin = requirePrometheus();
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-prom-'));
    let lastFailure = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      writeConfig(dir, o.targets ?? []);
      const proc = spawn(bin, [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      const prom = new TestPrometheus(proc, port, dir);
      try {
        await prom.#waitReady(o.readyTimeoutMs ?? 30_000);
        return prom;
      } catch (err) {
        lastFailure = (err as Error).message;
        await prom.stop();
        if (!/address already in use/.test(prom.log)) break;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(lastFailure);
  }

  get running(): boolean { return this.#running; }
  get pid(): number | undefined { return this.#proc.pid; }
  /** The tail of Prometheus's own log (stderr). */
  get log(): string { return this.#log; }

  /** Replaces the scrape targets and reloads the config; resolves once Prometheus has applied it. */
  async setTargets(targets: readonly string[]): Promise<void> {
    writeConfig(this.dir, targets);
    const res = await fetch(`${this.url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(15_000) });
    if (!res.ok) throw new Error(`Prometheus refused the new config (HTTP ${res.status}): ${await res.text()}\n${this.describe()}`);
  }

  /** What /api/v1/targets says about the job's targets. */
  async targets(): Promise<TargetStatus[]> {
    const res = await fetch(`${this.url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(5000) });
    const body = await res.json() as { data?: { activeTargets?: Array<{ scrapeUrl?: string; health?: string; lastError?: string; labels?: Record<string, string> }> } };
    return (body.data?.activeTargets ?? [])
      .filter((t) => t.labels?.job === SCRAPE_JOB)
      .map((t) => ({ scrapeUrl: t.scrapeUrl ?? '', health: t.health ?? '', lastError: t.lastError ?? '' }));
  }

  /** Waits until every target (host:port) has been scraped successfully at least once. */
  async waitForTargetsUp(targets: readonly string[], timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last: TargetStatus[] = [];
    let lastErr = '';
    while (Date.now() < until) {
      try {
        last = await this.targets();
        const down = targets.filter((t) => !last.some((s) => s.scrapeUrl.includes(`//${t}/`) && s.health === 'up'));
        if (down.length === 0) return;
      } catch (err) {
        lastErr = (err as Error).message;
      }
      if (!this.#running) break;
      await sleep(200);
    }
    const missing = targets.filter((t) => !last.some((s) => s.scrapeUrl.includes(`//${t}/`) && s.health === 'up'));
    throw new Error(`Prometheus never scraped target(s) ${missing.join(', ')} within ${timeoutMs / 1000}s: last /api/v1/targets said ${JSON.stringify(last)}${lastErr ? `; last error: ${lastErr}` : ''}\n${this.describe()}`);
  }

  /** SIGKILL, for a Prometheus that dies mid-test; resolves once it is gone. */
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

  /** Stops it and removes its config and TSDB. */
  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  describe(): string {
    return `prometheus on ${this.url} (pid ${this.#proc.pid ?? '?'}, ${this.#running ? 'running' : 'exited'}, dir ${this.dir})\n--- log (tail) ---\n${this.#log.slice(-3000)}`;
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < until) {
      if (!this.#running) throw new Error(`Prometheus exited before it was ready\n${this.describe()}`);
      try {
        const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
        last = `HTTP ${res.status} ${(await res.text()).trim()}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`Prometheus was not ready within ${timeoutMs / 1000}s (last /-/ready: ${last})\n${this.describe()}`);
  }
}

/** JSON is YAML: the config is written as JSON, atomically, so a reload never reads half a file. */
function writeConfig(dir: string, targets: readonly string[]): void {
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [{ job_name: SCRAPE_JOB, metrics_path: '/metrics', static_configs: [{ targets: [...targets] }] }],
  };
  const file = join(dir, 'prometheus.yml');
  writeFileSync(`${file}.tmp`, JSON.stringify(config, null, 2));
  renameSync(`${file}.tmp`, file);
}
