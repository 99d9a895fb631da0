import { join } from 'node:path';
import { Backoff } from './backoff.ts';
import { ModuleMeter } from './counters.ts';
import { readIfExists, writeAtomic } from './files.ts';
import { FileLoader, type FileLoaderOptions, type Loader } from './loader.ts';

export interface AgentOptions {
  /** Control-plane base URL, e.g. http://127.0.0.1:7070 */
  readonly server: string;
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Modules this node runs; empty means every artifact. */
  readonly modules: readonly string[];
  /** Where artifacts and the agent's own state live. */
  readonly dir: string;
  readonly token: string;
  readonly reload?: Readonly<Record<string, string>>;
  readonly reloadTimeoutMs?: number;
  /** Per module: an in-process reload; throwing refuses the file (see FileLoaderOptions.callbacks). */
  readonly callbacks?: FileLoaderOptions['callbacks'];
  /** Replaces the basic file loader (the seam for the safe loader and the SDK). */
  readonly loader?: Loader;
  readonly pollWaitMs?: number;
  readonly metricsIntervalMs?: number;
  readonly log?: AgentLog;
  /** Called after every push interval, to let a traffic source record requests (demo, simulator). */
  readonly onInterval?: (agent: Agent) => void;
}

export interface AgentLog {
  info(msg: string): void;
  warn(msg: string): void;
}

interface DesiredArtifact {
  artifact: string;
  module: string;
  version: string | null;
  sha256: string | null;
  validation?: { max_bytes?: number; max_entries?: number };
}

interface Serving {
  version: string | null;
  sha256: string | null;
}

interface PendingReport {
  artifact: string;
  version: string | null;
  ok: boolean;
  serving: string | null;
  error: string | null;
}

const silent: AgentLog = { info() {}, warn() {} };

/**
 * The basic node agent. It long-polls its desired state, fetches each new version, checks
 * its sha256, hands it to the module through a `Loader`, and reports the result. When the
 * control plane is unreachable it keeps serving what it has, keeps its reports and
 * counters, and retries with backoff and jitter. What it serves survives restarts
 * (`state.json`, written atomically).
 */
export class Agent {
  readonly #o: AgentOptions;
  readonly #loader: Loader;
  readonly #serving = new Map<string, Serving>();
  /** Versions that failed to load: not retried until the desired version changes. */
  readonly #failed = new Map<string, string | null>();
  readonly #pending = new Map<string, PendingReport>();
  readonly #meters = new Map<string, ModuleMeter>();
  readonly #backoff = new Backoff();
  readonly #log: AgentLog;
  #etag: string | undefined;
  #registered = false;
  #stopped = true;
  #abort: AbortController | undefined;
  #metricsTimer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #lastContact = 0;
  #wake: (() => void) | undefined;

  constructor(opts: AgentOptions) {
    this.#o = opts;
    this.#log = opts.log ?? silent;
    this.#loader = opts.loader ?? new FileLoader({ dir: opts.dir, reload: opts.reload ?? {}, reloadTimeoutMs: opts.reloadTimeoutMs ?? 10_000, ...(opts.callbacks ? { callbacks: opts.callbacks } : {}) });
  }

  get nodeId(): string { return this.#o.nodeId; }

  /** What this node serves now, per artifact. */
  serving(): Record<string, string | null> {
    return Object.fromEntries([...this.#serving].map(([a, s]) => [a, s.version]));
  }

  /** ms since the agent last heard from the control plane (0 before the first contact). */
  get msSinceContact(): number {
    return this.#lastContact === 0 ? 0 : Date.now() - this.#lastContact;
  }

  meter(module: string): ModuleMeter {
    let m = this.#meters.get(module);
    if (!m) { m = new ModuleMeter(); this.#meters.set(module, m); }
    return m;
  }

  async start(): Promise<void> {
    await this.#restoreState();
    this.#stopped = false;
    this.#loop = this.#run();
    const every = this.#o.metricsIntervalMs ?? 5000;
    const tick = () => {
      this.#o.onInterval?.(this);
      void this.#pushMetrics().finally(() => { if (!this.#stopped) this.#metricsTimer = setTimeout(tick, every); });
    };
    this.#metricsTimer = setTimeout(tick, every);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#metricsTimer) clearTimeout(this.#metricsTimer);
    this.#abort?.abort();
    this.#wake?.();
    await this.#loop;
  }

  /** A backoff sleep that stop() cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() { clearTimeout(timer); self.#wake = undefined; resolve(); }
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (!this.#registered) await this.#register();
        await this.#flushReports();
        const desired = await this.#poll();
        this.#backoff.reset();
        if (desired) await this.#converge(desired);
      } catch (err) {
        if (this.#stopped) break;
        const wait = this.#backoff.next();
        this.#log.warn(`control plane unreachable (${errorText(err)}); keeping what is served, retrying in ${wait} ms`);
        await this.#sleep(wait);
      }
    }
  }

  async #register(): Promise<void> {
    await this.#call('POST', '/v1/nodes/register', { id: this.#o.nodeId, labels: this.#o.labels, modules: this.#o.modules });
    this.#registered = true;
    this.#etag = undefined;
  }

  async #poll(): Promise<DesiredArtifact[] | undefined> {
    this.#abort = new AbortController();
    const wait = this.#o.pollWaitMs ?? 30_000;
    const res = await fetch(`${this.#o.server}/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/desired?wait=${wait}`, {
      headers: { authorization: `Bearer ${this.#o.token}`, ...(this.#etag ? { 'if-none-match': this.#etag } : {}) },
      signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(wait + 15_000)]),
    });
    this.#lastContact = Date.now();
    if (res.status === 304) { await res.body?.cancel(); return undefined; }
    if (res.status === 404) { await res.body?.cancel(); this.#registered = false; return undefined; }
    if (!res.ok) throw new Error(`desired state: HTTP ${res.status}`);
    const body = (await res.json()) as { artifacts: DesiredArtifact[] };
    this.#etag = res.headers.get('etag') ?? undefined;
    return body.artifacts;
  }

  async #converge(desired: DesiredArtifact[]): Promise<void> {
    for (const d of desired) {
      const current = this.#serving.get(d.artifact) ?? { version: null, sha256: null };
      if (current.version === d.version) continue;
      if (this.#failed.has(d.artifact) && this.#failed.get(d.artifact) === d.version) continue;
      let content: Buffer | null = null;
      if (d.version !== null) {
        const fetched = await this.#fetchVersion(d.artifact, d.version);
        if (!fetched.ok) {
          // Could not even get the bytes: that is the control plane's trouble, not the version's. Retry later.
          throw new Error(fetched.error);
        }
        content = fetched.content;
      }
      const result = await this.#loader.load({ artifact: d.artifact, module: d.module, version: d.version, sha256: d.sha256, content, ...(d.validation ? { validation: d.validation } : {}) });
      if (d.version !== null) this.meter(d.module).load(result.ok);
      if (result.ok) {
        this.#serving.set(d.artifact, { version: d.version, sha256: d.sha256 });
        this.#failed.delete(d.artifact);
        await this.#saveState();
        this.#log.info(`${d.artifact}: now serving ${d.version ?? 'nothing'}`);
        this.#queueReport({ artifact: d.artifact, version: d.version, ok: true, serving: d.version, error: null });
      } else {
        this.#failed.set(d.artifact, d.version);
        this.#log.warn(`${d.artifact}: ${d.version} refused at ${result.stage}: ${result.error}; still serving ${current.version ?? 'nothing'}`);
        this.#queueReport({ artifact: d.artifact, version: d.version, ok: false, serving: current.version, error: `${result.stage}: ${result.error}` });
      }
    }
    await this.#flushReports();
  }

  async #fetchVersion(artifact: string, version: string): Promise<{ ok: true; content: Buffer } | { ok: false; error: string }> {
    const cachePath = join(this.#o.dir, '.versions', `${artifact}@${version}`);
    const cached = await readIfExists(cachePath);
    if (cached) return { ok: true, content: cached };
    const res = await fetch(`${this.#o.server}/v1/artifacts/${encodeURIComponent(artifact)}/versions/${encodeURIComponent(version)}/content`, {
      headers: { authorization: `Bearer ${this.#o.token}` }, signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) { await res.body?.cancel(); return { ok: false, error: `fetch ${artifact}@${version}: HTTP ${res.status}` }; }
    const content = Buffer.from(await res.arrayBuffer());
    await writeAtomic(cachePath, content);
    return { ok: true, content };
  }

  #queueReport(r: PendingReport): void {
    this.#pending.set(r.artifact, r);
  }

  async #flushReports(): Promise<void> {
    for (const [artifact, r] of [...this.#pending]) {
      await this.#call('POST', `/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/loads`, r);
      if (this.#pending.get(artifact) === r) this.#pending.delete(artifact);
    }
  }

  async #pushMetrics(): Promise<void> {
    if (!this.#registered) return;
    const drained = new Map([...this.#meters].map(([m, meter]) => [m, meter.drain()]));
    if (drained.size === 0) return;
    try {
      await this.#call('POST', `/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/metrics`, { modules: Object.fromEntries(drained) });
    } catch {
      for (const [m, c] of drained) this.meter(m).restore(c);
    }
  }

  async #call(method: string, path: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${this.#o.server}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#o.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    this.#lastContact = Date.now();
    const text = await res.text();
    if (res.status === 404 && path.includes('/v1/nodes/') && !path.endsWith('/register')) {
      this.#registered = false; // the control plane forgot us (a new database): register again
    }
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  }

  async #restoreState(): Promise<void> {
    const raw = await readIfExists(join(this.#o.dir, '.failsmall-agent.json'));
    if (!raw) return;
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as { serving?: Record<string, Serving> };
      for (const [a, s] of Object.entries(parsed.serving ?? {})) this.#serving.set(a, s);
    } catch {
      this.#log.warn('agent state file is corrupt; starting empty (files on disk are untouched)');
    }
  }

  async #saveState(): Promise<void> {
    await writeAtomic(join(this.#o.dir, '.failsmall-agent.json'), JSON.stringify({ node: this.#o.nodeId, serving: Object.fromEntries(this.#serving) }, null, 2));
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}
