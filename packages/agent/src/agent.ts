import { join } from 'node:path';
import type { Server } from 'node:http';
import { parsePublicKey, type ArtifactValidation, type ModuleDecl, type ModuleState } from '@failsmall/core';
import { Backoff } from './backoff.ts';
import { ModuleMeter } from './counters.ts';
import { readIfExists, writeAtomic } from './files.ts';
import { fileSha256, SafeLoader, type LoadResult, type SafeLoaderOptions } from './loader.ts';
import { httpRequest } from './http.ts';
import { AgentMetrics } from './metrics.ts';

export interface AgentOptions {
  /** Control-plane base URL, e.g. http://127.0.0.1:7070 */
  readonly server: string;
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Modules this node runs; empty means every artifact. */
  readonly modules: readonly string[];
  /** Only these artifacts (the SDK watches one); default all of the node's modules'. */
  readonly artifacts?: readonly string[];
  /** Where artifacts, their last known-good copies and the agent's own state live. */
  readonly dir: string;
  readonly token: string;
  /** PEM of the artifact signing key's public half (failsmall keys init writes it). */
  readonly publicKey?: string;
  /** Development only: accept unsigned versions when no public key is given. */
  readonly allowUnsigned?: boolean;
  readonly reload?: SafeLoaderOptions['reload'];
  readonly reloadUrls?: SafeLoaderOptions['reloadUrls'];
  readonly callbacks?: SafeLoaderOptions['callbacks'];
  readonly validators?: SafeLoaderOptions['validators'];
  readonly stopCommands?: SafeLoaderOptions['stopCommands'];
  readonly reloadTimeoutMs?: number;
  readonly validatorTimeoutMs?: number;
  /**
   * Per module: the safe default this node applies when the module fails open, configured on the
   * node. It wins over the declaration's `safe_default`, which comes unsigned from the control plane.
   */
  readonly safeDefaults?: Readonly<Record<string, string>>;
  /** Per artifact: a local override of the module's declared on_load_failure (the SDK's, in code). */
  readonly onFailureOverrides?: Readonly<Record<string, Pick<ModuleDecl, 'on_load_failure' | 'safe_default'>>>;
  readonly pollWaitMs?: number;
  readonly metricsIntervalMs?: number;
  /** host:port for the agent's own /metrics (Prometheus); off when absent. */
  readonly metricsListen?: string;
  readonly log?: AgentLog;
  /** Called after every push interval, to let a traffic source record requests (demo, simulator). */
  readonly onInterval?: (agent: Agent) => void;
  /** Called after every load attempt, with its result (the SDK listens here). */
  readonly onLoad?: (artifact: string, version: string | null, result: LoadResult) => void;
}

export interface AgentLog {
  info(msg: string): void;
  warn(msg: string): void;
  error?(msg: string): void;
}

interface DesiredArtifact {
  artifact: string;
  module: string;
  version: string | null;
  sha256: string | null;
  signature?: string | null;
  validation?: ArtifactValidation;
  on_failure?: Pick<ModuleDecl, 'on_load_failure' | 'safe_default' | 'reason'>;
}

/** What one artifact is served at, and what the agent needs to recover it without the control plane. */
interface Serving {
  version: string | null;
  sha256: string | null;
  module: string;
  state: ModuleState['state'];
  on_failure?: Pick<ModuleDecl, 'on_load_failure' | 'safe_default' | 'reason'>;
}

interface PendingReport {
  artifact: string;
  version: string | null;
  ok: boolean;
  serving: string | null;
  error: string | null;
  module_state: ModuleState['state'];
}

const silent: AgentLog = { info() {}, warn() {} };
const STATE_FILE = '.failsmall-agent.json';

/**
 * The node agent. It long-polls its desired state, fetches each new version and hands it to
 * the safe loader (verify, validate, apply, last known-good), then reports the result and
 * the module's state. When the control plane is unreachable it keeps serving what it has,
 * keeps its reports and counters, and retries with backoff and jitter. On start it checks
 * that the files it serves are the ones it recorded, and restores the last known-good when
 * they are not (a crash between write and apply, or tampering).
 */
export class Agent {
  readonly #o: AgentOptions;
  readonly #loader: SafeLoader;
  readonly #serving = new Map<string, Serving>();
  /**
   * Versions that failed to load, retried with backoff (5 s doubling to 10 min): not in a
   * tight loop, but not never either — a reload that timed out once (say, during a rollback)
   * must not leave the node behind for good.
   */
  readonly #failed = new Map<string, { version: string | null; attempts: number; retryAt: number }>();
  readonly #pending = new Map<string, PendingReport>();
  readonly #meters = new Map<string, ModuleMeter>();
  readonly #backoff = new Backoff();
  readonly #log: AgentLog;
  readonly metrics: AgentMetrics;
  #etag: string | undefined;
  #registered = false;
  #stopped = true;
  #abort: AbortController | undefined;
  #metricsTimer: NodeJS.Timeout | undefined;
  #metricsServer: Server | undefined;
  #loop: Promise<void> | undefined;
  #lastContact = 0;
  #wake: (() => void) | undefined;

  constructor(opts: AgentOptions) {
    this.#o = opts;
    this.#log = opts.log ?? silent;
    this.metrics = new AgentMetrics(opts.nodeId);
    let publicKey: SafeLoaderOptions['publicKey'];
    if (opts.publicKey !== undefined) {
      const parsed = parsePublicKey(opts.publicKey);
      if (!parsed.ok) throw new Error(`artifact public key: ${parsed.message}`);
      publicKey = parsed.key;
    }
    const errorLog = (m: string) => (this.#log.error ?? this.#log.warn)(m);
    this.#loader = new SafeLoader({
      dir: opts.dir,
      ...(publicKey ? { publicKey } : {}),
      ...(opts.allowUnsigned ? { allowUnsigned: true } : {}),
      ...(opts.reload ? { reload: opts.reload } : {}),
      ...(opts.reloadUrls ? { reloadUrls: opts.reloadUrls } : {}),
      ...(opts.callbacks ? { callbacks: opts.callbacks } : {}),
      ...(opts.validators ? { validators: opts.validators } : {}),
      ...(opts.stopCommands ? { stopCommands: opts.stopCommands } : {}),
      reloadTimeoutMs: opts.reloadTimeoutMs ?? 10_000,
      validatorTimeoutMs: opts.validatorTimeoutMs ?? 10_000,
      log: { warn: (m) => this.#log.warn(m), error: errorLog },
    });
  }

  get nodeId(): string { return this.#o.nodeId; }

  /** What this node serves now, per artifact (null: nothing, a safe default, or stopped). */
  serving(): Record<string, string | null> {
    return Object.fromEntries([...this.#serving].map(([a, s]) => [a, s.version]));
  }

  /** The module state of each artifact: serving, stale, fail-open, fail-closed or empty. */
  states(): Record<string, ModuleState['state']> {
    return Object.fromEntries([...this.#serving].map(([a, s]) => [a, s.state]));
  }

  /** ms since the agent last heard from the control plane (0 before the first contact). */
  get msSinceContact(): number {
    return this.#lastContact === 0 ? 0 : Date.now() - this.#lastContact;
  }

  meter(module: string): ModuleMeter {
    let m = this.#meters.get(module);
    if (!m) { m = new ModuleMeter((ok, ms) => this.metrics.request(module, ok, ms)); this.#meters.set(module, m); }
    return m;
  }

  async start(): Promise<void> {
    await this.#restoreState();
    if (this.#o.metricsListen) {
      const { server, url } = await this.metrics.listen(this.#o.metricsListen);
      this.#metricsServer = server;
      this.#log.info(`metrics on ${url}`);
    }
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
    if (this.#metricsServer) await new Promise<void>((r) => this.#metricsServer?.close(() => r()));
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
        if (this.#stopped) break;
        const polled = await this.#poll();
        this.#backoff.reset();
        if (polled) {
          await this.#converge(polled.artifacts);
          // Only a desired state fully acted on is acknowledged: if a fetch failed, the next poll
          // gets the same state again instead of a 304 that would leave the node behind.
          this.#etag = polled.etag;
        } else if (this.#retryDue()) {
          this.#etag = undefined; // a failed load is due for another try: ask for the state again
        }
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

  async #poll(): Promise<{ artifacts: DesiredArtifact[]; etag: string | undefined } | undefined> {
    this.#abort = new AbortController();
    const wait = this.#o.pollWaitMs ?? 30_000;
    const res = await httpRequest(`${this.#o.server}/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/desired?wait=${wait}`, {
      headers: { authorization: `Bearer ${this.#o.token}`, ...(this.#etag ? { 'if-none-match': this.#etag } : {}) },
      signal: this.#abort.signal, timeoutMs: wait + 15_000,
    });
    this.#contact();
    if (res.status === 304) return undefined;
    if (res.status === 404) { this.#registered = false; return undefined; }
    if (res.status < 200 || res.status >= 300) throw new Error(`desired state: HTTP ${res.status}`);
    const body = parseDesired(res.body);
    const etag = res.headers.etag;
    const only = this.#o.artifacts;
    return { artifacts: only ? body.filter((a) => only.includes(a.artifact)) : body, etag: typeof etag === 'string' ? etag : undefined };
  }

  async #converge(desired: DesiredArtifact[]): Promise<void> {
    for (const d of desired) {
      const current = this.#serving.get(d.artifact);
      if (current && current.version === d.version) {
        if (current.state === 'stale' && d.version !== null) {
          // Desired again what the module kept serving (a rollback): it is simply serving now.
          // No new report: the last one (the refusal, serving this version) stays visible.
          this.#serving.set(d.artifact, { ...current, state: 'serving' });
          this.#failed.delete(d.artifact);
          await this.#saveState();
          this.metrics.serving(d.artifact, d.version, 'serving');
        }
        if (current.state === 'serving' || current.state === 'stale' || d.version === null) continue;
      }
      const failed = this.#failed.get(d.artifact);
      if (failed && failed.version === d.version && Date.now() < failed.retryAt) continue;
      let content: Buffer | null = null;
      // Start each load from a collected heap (with --expose-gc): the agent's peak is this load's, not its predecessors'.
      (globalThis as { gc?: () => void }).gc?.();
      if (d.version !== null) {
        const fetched = await this.#fetchVersion(d.artifact, d.version);
        // Could not even get the bytes: the control plane's trouble, not the version's. Retry later.
        if (!fetched.ok) throw new Error(fetched.error);
        content = fetched.content;
      }
      const declared = this.#o.onFailureOverrides?.[d.artifact] ?? d.on_failure;
      const localDefault = this.#o.safeDefaults?.[d.module];
      const onFailure = declared && localDefault !== undefined ? { ...declared, safe_default: localDefault } : declared;
      const result = await this.#loader.load({
        artifact: d.artifact, module: d.module, version: d.version, sha256: d.sha256, content,
        ...(d.signature !== undefined ? { signature: d.signature } : {}),
        ...(d.validation ? { validation: d.validation } : {}),
        ...(onFailure ? { onFailure } : {}),
      });
      if (d.version !== null) {
        this.meter(d.module).load(result.ok);
        this.metrics.load(d.artifact, result.ok, result.ok ? 'applied' : result.stage);
      }
      const servingVersion = 'version' in result.state ? result.state.version : null;
      this.#serving.set(d.artifact, { version: servingVersion, sha256: result.ok ? d.sha256 : (current?.sha256 ?? null), module: d.module, state: result.state.state, ...(onFailure ? { on_failure: onFailure } : {}) });
      this.metrics.serving(d.artifact, servingVersion, result.state.state);
      if (result.ok) {
        this.#failed.delete(d.artifact);
        this.#log.info(`${d.artifact}: now serving ${d.version ?? 'nothing'}`);
      } else {
        const attempts = failed && failed.version === d.version ? failed.attempts + 1 : 1;
        this.#failed.set(d.artifact, { version: d.version, attempts, retryAt: Date.now() + Math.min(600_000, 5000 * 2 ** (attempts - 1)) });
        const how = result.state.state === 'stale' ? `still serving its last known-good ${servingVersion}` : result.state.state;
        (result.state.state === 'fail-closed' && this.#log.error ? this.#log.error : this.#log.warn)(`${d.artifact}: ${d.version} refused at ${result.stage}: ${result.error}; ${how}`);
      }
      await this.#saveState();
      this.#queueReport({ artifact: d.artifact, version: d.version, ok: result.ok, serving: servingVersion, error: result.ok ? null : result.error, module_state: result.state.state });
      this.#o.onLoad?.(d.artifact, d.version, result);
      // A version can be megabytes of JSON parsed once and dropped: when node runs with
      // --expose-gc (the failsmall-agent binary does), hand the memory back at once.
      (globalThis as { gc?: () => void }).gc?.();
    }
    await this.#flushReports();
  }

  async #fetchVersion(artifact: string, version: string): Promise<{ ok: true; content: Buffer } | { ok: false; error: string }> {
    const cachePath = join(this.#o.dir, '.versions', `${artifact}@${version}`);
    const cached = await readIfExists(cachePath);
    if (cached) return { ok: true, content: cached };
    const res = await httpRequest(`${this.#o.server}/v1/artifacts/${encodeURIComponent(artifact)}/versions/${encodeURIComponent(version)}/content`, {
      headers: { authorization: `Bearer ${this.#o.token}` }, timeoutMs: 30_000,
    });
    if (res.status !== 200) return { ok: false, error: `fetch ${artifact}@${version}: HTTP ${res.status}` };
    const content = res.body;
    // The cache is only a download cache: the loader checks sha256 and signature on every use.
    await writeAtomic(cachePath, content);
    return { ok: true, content };
  }

  #retryDue(): boolean {
    const now = Date.now();
    for (const f of this.#failed.values()) if (now >= f.retryAt) return true;
    return false;
  }

  #queueReport(r: PendingReport): void {
    // The server caps error text; a long stderr must not make the report (and the agent) stick.
    this.#pending.set(r.artifact, { ...r, error: r.error === null ? null : r.error.slice(0, 3900) });
  }

  async #flushReports(): Promise<void> {
    for (const [artifact, r] of [...this.#pending]) {
      try {
        await this.#call('POST', `/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/loads`, r);
      } catch (err) {
        // A report the server refuses as invalid would be refused forever: log it and drop it,
        // rather than stop polling (and miss rollbacks) behind it.
        if (!(err instanceof RefusedError)) throw err;
        this.#log.warn(`load report for ${artifact} refused by the control plane and dropped: ${err.message}`);
      }
      if (this.#pending.get(artifact) === r) this.#pending.delete(artifact);
    }
  }

  async #pushMetrics(): Promise<void> {
    if (!this.#registered) return;
    const drained = new Map([...this.#meters].map(([m, meter]) => [m, meter.drain()]));
    if (drained.size === 0) return;
    try {
      await this.#call('POST', `/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/metrics`, { modules: Object.fromEntries(drained) });
    } catch (err) {
      // Kept for the next push while the control plane is away; a batch it refuses as invalid is dropped.
      if (err instanceof RefusedError) this.#log.warn(`metrics refused by the control plane and dropped: ${err.message}`);
      else for (const [m, c] of drained) this.meter(m).restore(c);
    }
  }

  async #call(method: string, path: string, body: unknown): Promise<unknown> {
    const res = await httpRequest(`${this.#o.server}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#o.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: 15_000,
    });
    this.#contact();
    const text = res.body.toString('utf8');
    if (res.status === 404 && path.includes('/v1/nodes/') && !path.endsWith('/register')) {
      this.#registered = false; // the control plane forgot us (a new database): register again
    }
    if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 404 && res.status !== 408 && res.status !== 429) {
      throw new RefusedError(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  }

  #contact(): void {
    this.#lastContact = Date.now();
    this.metrics.contact();
  }

  /**
   * Reads what the agent served before it stopped, and checks each file on disk against it.
   * A mismatch means the agent died between writing a file and the module taking it (or the
   * file was changed behind its back): the last known-good goes back in place.
   */
  async #restoreState(): Promise<void> {
    const raw = await readIfExists(join(this.#o.dir, STATE_FILE));
    if (!raw) return;
    let parsed: { serving?: Record<string, Serving> };
    try {
      parsed = JSON.parse(raw.toString('utf8')) as { serving?: Record<string, Serving> };
    } catch {
      this.#log.warn('agent state file is corrupt; starting empty (files on disk are untouched)');
      return;
    }
    for (const [artifact, s] of Object.entries(parsed.serving ?? {})) {
      this.#serving.set(artifact, s);
      if (s.state !== 'serving' && s.state !== 'stale') continue;
      const onDisk = await fileSha256(this.#loader.pathOf(artifact));
      if (onDisk === s.sha256) { this.metrics.serving(artifact, s.version, s.state); continue; }
      const why = `${artifact} on disk (${onDisk?.slice(0, 12) ?? 'missing'}) is not the recorded ${s.version ?? 'nothing'} (${s.sha256?.slice(0, 12) ?? '-'})`;
      const recovered = await this.#loader.recover({ artifact, module: s.module, ...(s.on_failure ? { onFailure: s.on_failure } : {}) }, why);
      const version = 'version' in recovered.state ? recovered.state.version : null;
      const lkg = await this.#loader.lastKnownGood.read(artifact);
      this.#serving.set(artifact, { ...s, version, sha256: lkg.kind === 'ok' && version === lkg.copy.version ? lkg.copy.sha256 : null, state: recovered.state.state });
      this.metrics.serving(artifact, version, recovered.state.state);
      this.#log.warn(recovered.error);
      this.#queueReport({ artifact, version: s.version, ok: false, serving: version, error: `restart: ${recovered.error}`, module_state: recovered.state.state });
    }
    await this.#saveState();
  }

  async #saveState(): Promise<void> {
    await writeAtomic(join(this.#o.dir, STATE_FILE), JSON.stringify({ node: this.#o.nodeId, serving: Object.fromEntries(this.#serving) }, null, 2));
  }
}

/** The control plane refused a request as invalid (4xx): retrying the same request cannot help. */
class RefusedError extends Error {}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The desired state, checked: artifact names and versions become file names on this node, so
 * anything but a plain name (a path, `..`) is refused here, whatever the control plane says.
 */
function parseDesired(body: Buffer): DesiredArtifact[] {
  const parsed = JSON.parse(body.toString('utf8')) as { artifacts?: unknown };
  if (!Array.isArray(parsed.artifacts)) throw new Error('desired state without an artifacts list');
  const out: DesiredArtifact[] = [];
  for (const a of parsed.artifacts as DesiredArtifact[]) {
    if (typeof a?.artifact !== 'string' || !SAFE_NAME.test(a.artifact) || typeof a.module !== 'string') throw new Error(`desired state names an unsafe artifact: ${JSON.stringify(a?.artifact)}`);
    if (a.version !== null && (typeof a.version !== 'string' || !SAFE_NAME.test(a.version))) throw new Error(`desired state names an unsafe version of ${a.artifact}: ${JSON.stringify(a.version)}`);
    out.push(a);
  }
  return out;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}
