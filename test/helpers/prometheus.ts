/**
 * A real Prometheus (Debian's 2.42, /usr/bin/prometheus) for the tests: loopback, a free port,
 * a temp TSDB, a 1 s scrape interval, and the scrape targets the test gives. Targets change
 * by rewriting the config and POSTing /-/reload (--web.enable-lifecycle), which returns once
 * the new config is in force, so a test never waits on a file watcher.
 *
 * Missing binary = a failing test naming the install command, never a skip.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonHandle, requireBinary, startDaemon } from './daemon.ts';
import { sleep } from './procs.ts';

export const PROMETHEUS_BIN = process.env.FAILSMALL_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const SCRAPE_JOB = 'failsmall-agents';

/** Throws, naming the install command, when the Prometheus binary is not there. */
export function requirePrometheus(): string {
  return requireBinary(PROMETHEUS_BIN, 'Prometheus', 'prometheus');
}

export interface TargetStatus {
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
}

/** One running Prometheus. `stop()`/`kill()` are safe to call more than once. */
export class TestPrometheus extends DaemonHandle {
  /**
   * Starts Prometheus scraping `targets` (host:port of /metrics endpoints) every second and
   * waits for /-/ready. Retries on another port if the chosen one was taken meanwhile.
   */
  static async start(o: { targets?: readonly string[]; readyTimeoutMs?: number } = {}): Promise<TestPrometheus> {
    const { daemon, dir } = await startDaemon({
      name: 'prometheus', bin: requirePrometheus(), dirPrefix: 'failsmall-prom-', readyPath: '/-/ready', readyTimeoutMs: o.readyTimeoutMs ?? 30_000,
      setup: (d) => writeConfig(d, o.targets ?? []),
      args: (d, port) => [
        `--config.file=${join(d, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(d, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ],
    });
    return new TestPrometheus({ daemon, dir });
  }

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
      if (!this.running) break;
      await sleep(200);
    }
    const missing = targets.filter((t) => !last.some((s) => s.scrapeUrl.includes(`//${t}/`) && s.health === 'up'));
    throw new Error(`Prometheus never scraped target(s) ${missing.join(', ')} within ${timeoutMs / 1000}s: last /api/v1/targets said ${JSON.stringify(last)}${lastErr ? `; last error: ${lastErr}` : ''}\n${this.describe()}`);
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
