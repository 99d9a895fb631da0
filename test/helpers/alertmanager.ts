/**
 * A real Alertmanager (Debian's prometheus-alertmanager 0.25) for the tests: loopback, a free
 * port, a temp config and data dir, clustering off, and one webhook receiver that posts to
 * the URL the test gives with a bearer token, the way an operator would configure it.
 * Timings are short (group_wait/group_interval 1 s, resolve_timeout 5 s) so a firing and a
 * resolved notification arrive within seconds.
 *
 * Missing binary = a failing test naming the package, never a skip.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonHandle, requireBinary, startDaemon } from './daemon.ts';

export const ALERTMANAGER_BIN = process.env.FAILSMALL_ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

/** Throws, naming the install command, when the Alertmanager binary is not there. */
export function requireAlertmanager(): string {
  return requireBinary(ALERTMANAGER_BIN, 'Alertmanager', 'prometheus-alertmanager');
}

/** An alert as Alertmanager's API v2 takes it (`POST /api/v2/alerts`). */
export interface PostableAlert {
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly startsAt?: string;
  readonly endsAt?: string;
}

/** One running Alertmanager. */
export class TestAlertmanager extends DaemonHandle {
  /** Starts Alertmanager with one webhook receiver at `webhookUrl`, authenticated by `bearer`. */
  static async start(o: { webhookUrl: string; bearer: string; readyTimeoutMs?: number }): Promise<TestAlertmanager> {
    // JSON is YAML. `authorization` is prometheus/common's http_config (0.25 also takes the
    // older `bearer_token`); `amtool check-config` accepts this file.
    const config = {
      global: { resolve_timeout: '5s' },
      route: { receiver: 'failsmall', group_by: ['alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{
        name: 'failsmall',
        webhook_configs: [{ url: o.webhookUrl, send_resolved: true, http_config: { authorization: { type: 'Bearer', credentials: o.bearer } } }],
      }],
    };
    const { daemon, dir } = await startDaemon({
      name: 'alertmanager', bin: requireAlertmanager(), dirPrefix: 'failsmall-am-', readyPath: '/-/ready', readyTimeoutMs: o.readyTimeoutMs ?? 30_000,
      setup: (d) => writeFileSync(join(d, 'alertmanager.yml'), JSON.stringify(config, null, 2)),
      args: (d, port) => [
        `--config.file=${join(d, 'alertmanager.yml')}`,
        `--storage.path=${join(d, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Empty: no gossip listener, so a lone test instance neither binds 9094 nor waits to settle a cluster.
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
    });
    return new TestAlertmanager({ daemon, dir });
  }

  /** Pushes alerts as Prometheus would; Alertmanager answers 200 with no body. */
  async push(alerts: readonly PostableAlert[]): Promise<void> {
    const res = await fetch(`${this.url}/api/v2/alerts`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts), signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`Alertmanager refused the alerts (HTTP ${res.status}): ${await res.text()}\n${this.describe()}`);
  }
}
