/**
 * A control plane to be killed: one `failsmall serve` on SQLite, or several replicas on one
 * PostgreSQL database behind a TCP balancer, each a real child process; and a fleet of real
 * agents (in process, real HTTP) whose module refuses any file that contains BAD. The chaos
 * scripts and their slices in `npm test` drive it; it asserts nothing itself.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '@failsmall/agent';
import { generateSigningKeys, type RolloutState } from '@failsmall/core';
import { freshPostgres } from '../../packages/server/test/fixtures.ts';
import { Api, freePort, sleep, startServe, waitFor, type Served } from '../../test/helpers/procs.ts';
import { TcpBalancer } from '../../test/helpers/tcp-proxy.ts';
import type { LoggedEvent } from './invariants.ts';

export const ARTIFACT = 'feature-file';
export const STAGES = ['canary', 'partial', 'global'] as const;
export const BAKE_MS = 1500;
export const INTERVAL_MS = 250;
/** A module takes this long to refuse a bad file. */
const REFUSAL_MS = 300;

const POLICY = `
modules:
  bot-management: { on_load_failure: serve-stale }
  proxy: { on_load_failure: serve-stale }
artifacts:
  ${ARTIFACT}:
    kind: feature-file
    module: bot-management
    policy: three-stage
    validation: { max_bytes: 65536 }
policies:
  three-stage:
    artifact: ${ARTIFACT}
    interval: ${INTERVAL_MS}ms
    bake: ${BAKE_MS}ms
    load_timeout: 3s
    # Agents that lost the control plane come back within their 30 s backoff cap; gates wait for them.
    max_extension: 120s
    stages:
      - name: canary
        scope: 10% nodes
        health_gates: &gates
          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 2s }
          - { module: proxy, metric: error_rate, threshold: 0.01, window: 2s }
        rollback_on_failure: true
      - { name: partial, scope: 50% nodes, health_gates: *gates, rollback_on_failure: true }
      - { name: global, scope: 100% nodes, health_gates: *gates, rollback_on_failure: true }
`;

export type Engine = 'sqlite' | 'postgres';

export interface ClusterOptions {
  readonly engine: Engine;
  /** Replicas (1 on SQLite: one process owns the file). */
  readonly replicas: number;
  readonly agents: number;
  readonly leaseMs: number;
  /** A database of the caller's (a private cluster to be restarted); a fresh one on the shared server otherwise. */
  readonly postgresUrl?: string;
}

export interface Replica {
  readonly index: number;
  readonly port: number;
  served: Served | undefined;
}

export interface RolloutView {
  readonly rollout: RolloutState;
}

export class ChaosCluster {
  readonly opts: ClusterOptions;
  readonly dir: string;
  readonly replicas: Replica[] = [];
  readonly agents: Agent[] = [];
  api!: Api;
  #store = '';
  #dropDb: (() => Promise<void>) | undefined;
  #balancer: TcpBalancer | undefined;
  #keyPath = '';

  private constructor(opts: ClusterOptions, dir: string) {
    this.opts = opts;
    this.dir = dir;
  }

  static async start(opts: ClusterOptions): Promise<ChaosCluster> {
    if (opts.engine === 'sqlite' && opts.replicas !== 1) throw new Error('SQLite is one process: --replicas 1');
    const c = new ChaosCluster(opts, await mkdtemp(join(tmpdir(), 'failsmall-chaos-')));
    try {
      await c.#boot();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  async #boot(): Promise<void> {
    const keys = generateSigningKeys();
    this.#keyPath = join(this.dir, 'artifact.key');
    await writeFile(this.#keyPath, keys.privateKey, { mode: 0o600 });
    if (this.opts.engine === 'postgres' && this.opts.postgresUrl) {
      this.#store = this.opts.postgresUrl;
    } else if (this.opts.engine === 'postgres') {
      const db = await freshPostgres();
      this.#store = db.url;
      this.#dropDb = db.drop;
    } else {
      this.#store = join(this.dir, 'fs.db');
    }
    let admin = '';
    for (let i = 0; i < this.opts.replicas; i++) {
      const replica: Replica = { index: i, port: await freePort(), served: undefined };
      this.replicas.push(replica);
      await this.restart(replica);
      admin ||= replica.served?.adminToken ?? '';
    }
    if (!admin) throw new Error('no replica printed the first admin token');
    let url = this.replicas[0]!.served!.url;
    if (this.opts.replicas > 1) {
      this.#balancer = await new TcpBalancer(this.replicas.map((r) => `http://127.0.0.1:${r.port}`)).listen();
      url = this.#balancer.url;
    }
    this.api = new Api(url, admin);
    await this.api.post('/v1/apply', { text: POLICY, file: 'chaos.yaml' });
    const { token } = await this.api.post<{ token: string }>('/v1/tokens', { name: 'fleet', role: 'join' });
    for (let i = 0; i < this.opts.agents; i++) {
      const id = `node-${String(i + 1).padStart(3, '0')}`;
      this.agents.push(new Agent({
        server: url, token, nodeId: id, dir: join(this.dir, 'agents', id), publicKey: keys.publicKey,
        labels: { region: ['eu', 'us', 'ap'][i % 3] ?? 'eu' },
        modules: ['bot-management', 'proxy'],
        metricsIntervalMs: 250,
        pollWaitMs: 5000,
        callbacks: {
          'bot-management': async (path) => {
            if ((await readFile(path, 'utf8')).includes('BAD')) {
              await sleep(REFUSAL_MS);
              throw new Error('bot-management refused the file: it contains BAD');
            }
          },
        },
        onInterval: (a) => { const m = a.meter('proxy'); for (let k = 0; k < 20; k++) m.request(true, 5 + (k % 7)); },
      }));
    }
    await Promise.all(this.agents.map((a) => a.start()));
    await waitFor(`${this.opts.agents} agents to register`, async () => (await this.api.get<{ nodes: unknown[] }>('/v1/nodes')).nodes.length === this.opts.agents, { timeoutMs: 60_000 });
  }

  /** Starts (or starts again, on its own port) one replica, with a new replica name each time. */
  async restart(replica: Replica): Promise<void> {
    replica.served = await startServe({
      store: this.#store, port: replica.port, signingKey: this.#keyPath, cwd: this.dir, tickMs: 50, timeoutMs: 60_000,
      args: ['--lease-ms', String(this.opts.leaseMs), '--admin-token-file', '-', '--log', 'error'],
    });
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(replica: Replica): Promise<void> {
    const served = replica.served;
    if (!served?.child.running) return;
    served.child.proc.kill('SIGKILL');
    await served.child.exited;
  }

  /** The live replica holding a rollout's lease, as each says in GET /v1/replica. */
  async holder(id: string): Promise<Replica | undefined> {
    for (const r of this.replicas) {
      if (!r.served?.child.running) continue;
      try {
        const view = await new Api(r.served.url, this.api.token).get<{ rollouts: string[] }>('/v1/replica');
        if (view.rollouts.includes(id)) return r;
      } catch { /* dying or starting */ }
    }
    return undefined;
  }

  async push(version: string, bytes: Buffer): Promise<void> {
    await this.api.postBytes(`/v1/artifacts/${ARTIFACT}/versions?version=${version}`, bytes);
  }

  async startRollout(version: string): Promise<RolloutState> {
    return (await this.api.post<RolloutView>('/v1/rollouts', { artifact: ARTIFACT, version })).rollout;
  }

  async rollout(id: string): Promise<RolloutState> {
    return (await this.api.get<RolloutView>(`/v1/rollouts/${id}`)).rollout;
  }

  /** Every event of the rollout, page by page. */
  async events(id: string): Promise<LoggedEvent[]> {
    const all: LoggedEvent[] = [];
    for (;;) {
      const page = (await this.api.get<{ events: LoggedEvent[] }>(`/v1/rollouts/${id}/events?limit=5000&after=${all.at(-1)?.seq ?? 0}`)).events;
      all.push(...page);
      if (page.length < 5000) return all;
    }
  }

  serving(): Record<string, string | null> {
    return Object.fromEntries(this.agents.map((a) => [a.nodeId, a.serving()[ARTIFACT] ?? null]));
  }

  async stop(): Promise<void> {
    await Promise.race([Promise.all(this.agents.map((a) => a.stop())), sleep(5000)]);
    await this.#balancer?.close();
    await Promise.all(this.replicas.map((r) => r.served?.child.stop(2000)));
    await this.#dropDb?.().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
