import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import {
  afterLoad, convergeAction, lkgTarget, markServing, nextRetryAt, remember, replacedAfter,
  type ArtifactNode, type DesiredEntry, type LoadReport, type Pin, type ServedVersion, type Serving,
} from '@failsmall/core';
import { isName, nameProblem, parsePublicKeys, trustedOnFailure, type TrustedKeys, type ArtifactValidation, type DrillReadiness, type ModuleDecl, type ModuleState, type OnFailure } from '@failsmall/core';
import { BreakglassLog, type BreakglassLogEntry } from './breakglass-log.ts';
import type { BreakglassServiceOptions } from './breakglass.ts';
import { ModuleMeter } from './counters.ts';
import { readIfExists, writeAtomic } from './files.ts';
import { fileSha256, SafeLoader, type LoadRequest, type LoadResult, type SafeLoaderOptions } from './loader.ts';
import { Backoff, httpRequest } from '@failsmall/io';
import { AgentMetrics } from './metrics.ts';
import { Scraper, type ReportedScrapeProblem, type ScrapeTarget } from './scrape.ts';

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
   * node. It wins over the declaration's `safe_default`, which the agent writes only when the
   * artifact key signed it (core trustedOnFailure).
   */
  readonly safeDefaults?: Readonly<Record<string, string>>;
  /** Per artifact: a local override of the module's declared on_load_failure (the SDK's, in code). */
  readonly onFailureOverrides?: Readonly<Record<string, Pick<ModuleDecl, 'on_load_failure' | 'safe_default'>>>;
  readonly pollWaitMs?: number;
  /** The agent's clock (ms since the epoch); tests pass a fake one. Default Date.now. */
  readonly clock?: { now(): number };
  /** How long a meter records client prefixes before it reports never-seen shares (default 1 h). */
  readonly sourceWarmupMs?: number;
  readonly metricsIntervalMs?: number;
  /** host:port for the agent's own /metrics (Prometheus); off when absent. */
  readonly metricsListen?: string;
  readonly log?: AgentLog;
  /**
   * Applications to read request metrics from, one per module: scraped on the push cadence, their
   * increase pushed as the module's requests, errors and latency (an application without the SDK).
   */
  readonly scrapes?: readonly ScrapeTarget[];
  /** Called after every push interval, to let a traffic source record requests (demo, simulator). */
  readonly onInterval?: (agent: Agent) => void;
  /** Break-glass: the admin endpoint and the command directory; off when absent (the SDK). */
  readonly breakglass?: BreakglassServiceOptions;
  /** Called after every load attempt, with its result (the SDK listens here). */
  readonly onLoad?: (artifact: string, version: string | null, result: LoadResult) => void;
}

export interface AgentLog {
  info(msg: string): void;
  warn(msg: string): void;
  error?(msg: string): void;
}

/** One entry of the desired state (core's DesiredEntry; the name the agent's code uses). */
type DesiredArtifact = DesiredEntry;

/** Who asked for a break-glass action, and why: carried onto the pin. */
export interface BreakglassActor {
  readonly operator: string;
  readonly reason: string;
  readonly nonce: string;
}

export type BreakglassOutcome =
  | { readonly ok: true; readonly message: string; readonly result: { artifact: string; serving: string | null; state: string }[]; readonly drill?: readonly DrillReadiness[] }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly hint: string; readonly result?: { artifact: string; serving: string | null; state: string }[] };

type PendingReport = LoadReport;

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
  readonly #pins = new Map<string, Pin>();
  readonly #history = new Map<string, ServedVersion[]>();
  #lock: Promise<unknown> = Promise.resolve();
  #saving: Promise<unknown> = Promise.resolve();
  /** Set by an unpin: the desired state must be asked for again even if a poll was under way. */
  #refetch = false;
  /** The node's append-only record of break-glass commands. */
  readonly breakglassLog: BreakglassLog;
  #breakglass: { stop(): Promise<void> } | undefined;
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
  /**
   * This node's own credential: made here at the first start and kept in `DIR/.node-credential`
   * (0600) before the control plane hears of it; every registration (with the fleet token)
   * sends its sha256, which the control plane binds to the node id. Registering again with the
   * same hash always works, so a lost answer, a restart, a rebuilt control plane or a release
   * never locks the node out; the secret is never deleted. Once bound, the fleet token no longer speaks for this node
   * id, so another node holding the fleet token cannot report as this one.
   */
  #credential: string | undefined;
  #stopped = true;
  #abort: AbortController | undefined;
  #metricsTimer: NodeJS.Timeout | undefined;
  #metricsServer: Server | undefined;
  #loop: Promise<void> | undefined;
  #lastContact = 0;
  #wake: (() => void) | undefined;
  readonly #scraper: Scraper | undefined;
  #collecting: Promise<void> = Promise.resolve();
  /** The scrape problems the control plane last acknowledged, so an unchanged empty set is not sent again. */
  #problemsSent = '';
  #publicKey: TrustedKeys | undefined;
  /** Per module: why its declared safe default was not trusted (logged once per reason). */
  readonly #safeDefaultProblems = new Map<string, string>();

  constructor(opts: AgentOptions) {
    this.#o = opts;
    this.#log = opts.log ?? silent;
    this.metrics = new AgentMetrics(opts.nodeId);
    this.breakglassLog = new BreakglassLog(opts.dir);
    let publicKey: SafeLoaderOptions['publicKey'];
    if (opts.publicKey !== undefined) {
      const parsed = parsePublicKeys(opts.publicKey);
      if (!parsed.ok) throw new Error(`artifact public key: ${parsed.message}`);
      publicKey = parsed.keys;
    }
    this.#publicKey = publicKey;
    const errorLog = (m: string) => (this.#log.error ?? this.#log.warn)(m);
    if (opts.scrapes && opts.scrapes.length > 0) {
      this.#scraper = new Scraper(opts.scrapes, { log: this.#log, onScrape: (module, problem) => this.metrics.scrape(module, problem?.reason ?? null) });
    }
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
  #now(): number {
    return this.#o.clock?.now() ?? Date.now();
  }

  /** What the node knows of one artifact, as the node core sees it. */
  #node(artifact: string): ArtifactNode {
    const serving = this.#serving.get(artifact);
    const pin = this.#pins.get(artifact);
    const failed = this.#failed.get(artifact);
    return { history: this.#history.get(artifact) ?? [], ...(serving ? { serving } : {}), ...(pin ? { pin } : {}), ...(failed ? { failed } : {}) };
  }

  /** Writes back what the node core decided for one artifact. */
  #setNode(artifact: string, n: ArtifactNode): void {
    if (n.serving) this.#serving.set(artifact, n.serving); else this.#serving.delete(artifact);
    this.#history.set(artifact, [...n.history]);
    if (n.pin) this.#pins.set(artifact, n.pin); else this.#pins.delete(artifact);
    if (n.failed) this.#failed.set(artifact, n.failed); else this.#failed.delete(artifact);
  }

  get msSinceContact(): number {
    return this.#lastContact === 0 ? 0 : this.#now() - this.#lastContact;
  }

  meter(module: string): ModuleMeter {
    let m = this.#meters.get(module);
    if (!m) { m = new ModuleMeter((ok, ms) => this.metrics.request(module, ok, ms), this.#o.sourceWarmupMs !== undefined ? { warmupMs: this.#o.sourceWarmupMs } : {}); this.#meters.set(module, m); }
    return m;
  }

  async start(): Promise<void> {
    await this.breakglassLog.open();
    await this.#restoreState();
    this.#credential = (await readIfExists(this.#credentialPath()))?.toString('utf8').trim() || undefined;
    if (this.#credential === undefined) {
      // Written before any registration: whatever happens to the answer, the node holds the secret it enrols with.
      const made = newCredential();
      await writeAtomic(this.#credentialPath(), `${made}\n`, 0o600);
      this.#credential = made;
    }
    if (this.#o.breakglass) {
      // Imported only when configured: the SDK embeds the agent without an admin endpoint.
      const { BreakglassService } = await import('./breakglass.ts');
      const service = new BreakglassService(this, this.#o.breakglass, this.#log);
      await service.start();
      this.#breakglass = service;
    }
    if (this.#o.metricsListen) {
      const { server, url } = await this.metrics.listen(this.#o.metricsListen);
      this.#metricsServer = server;
      this.#log.info(`metrics on ${url}`);
    }
    this.#stopped = false;
    this.#loop = this.#run();
    const every = this.#o.metricsIntervalMs ?? 5000;
    // The first scrape only sets the base: take it now, so the first push already has an increase.
    this.#collecting = this.#collect();
    const tick = () => {
      this.#o.onInterval?.(this);
      void this.#collecting.then(() => this.#collecting = this.#collect()).then(() => this.#pushMetrics())
        .finally(() => { if (!this.#stopped) this.#metricsTimer = setTimeout(tick, every); });
    };
    this.#metricsTimer = setTimeout(tick, every);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#metricsTimer) clearTimeout(this.#metricsTimer);
    this.#abort?.abort();
    this.#wake?.();
    await this.#loop;
    await this.#breakglass?.stop();
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
        await this.#flushBreakglass();
        if (this.#stopped) break;
        const polled = await this.#poll();
        this.#backoff.reset();
        if (polled) {
          this.#refetch = false;
          await this.#converge(polled.artifacts);
          // Only a desired state fully acted on is acknowledged: if a fetch failed, the next poll
          // gets the same state again instead of a 304 that would leave the node behind. An unpin
          // during the converge skipped its artifact: ask again.
          this.#etag = this.#refetch ? undefined : polled.etag;
        } else if (this.#retryDue()) {
          this.#etag = undefined; // a failed load is due for another try: ask for the state again
        }
      } catch (err) {
        if (this.#stopped) break;
        if (this.#kicked) { this.#kicked = false; continue; } // a break-glass command cut the poll short on purpose
        const wait = this.#backoff.next();
        const what = err instanceof RefusedError ? 'refused' : err instanceof BadAnswerError ? 'sent an unusable answer' : 'unreachable';
        this.#log.warn(`control plane ${what} (${errorText(err)}); keeping what is served, retrying in ${wait} ms`);
        await this.#sleep(wait);
      }
    }
  }

  async #register(): Promise<void> {
    // Registration uses the fleet token and proves nothing but enrolment: the node's own secret stays here, its hash goes.
    const res = await this.#call('POST', '/v1/nodes/register', {
      id: this.#o.nodeId, labels: this.#o.labels, modules: this.#o.modules, pins: [...this.#pins.values()], credential_hash: sha256Hex(this.#credential ?? ''),
    }, this.#o.token) as { enrolled?: unknown } | undefined;
    if (res?.enrolled === true) this.#log.info(`enrolled: this node now speaks with its own credential (${this.#credentialPath()})`);
    this.#registered = true;
    this.#etag = undefined;
  }

  #credentialPath(): string {
    return join(this.#o.dir, '.node-credential');
  }

  /** The node's own credential (the fleet token only registers). */
  #bearer(): string {
    return this.#credential ?? this.#o.token;
  }

  /**
   * A 401 for our own credential: the control plane no longer knows it (rebuilt on an empty
   * database, or an operator released the node). Register again: that binds the same secret again.
   */
  #credentialRefused(status: number): void {
    if (status !== 401 || !this.#registered) return;
    this.#log.warn('the control plane does not know this node\'s credential; registering again with the fleet token to enrol it');
    this.#registered = false;
  }

  async #poll(): Promise<{ artifacts: DesiredArtifact[]; etag: string | undefined } | undefined> {
    const abort = new AbortController();
    this.#abort = abort;
    const wait = this.#o.pollWaitMs ?? 30_000;
    let res: Awaited<ReturnType<typeof httpRequest>>;
    try {
      res = await httpRequest(`${this.#o.server}/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/desired?wait=${wait}`, {
        headers: { authorization: `Bearer ${this.#bearer()}`, ...(this.#etag ? { 'if-none-match': this.#etag } : {}) },
        signal: abort.signal, timeoutMs: wait + 15_000,
      });
    } finally {
      if (this.#abort === abort) this.#abort = undefined; // only a poll in flight can be cut short
    }
    this.#contact();
    if (res.status === 304) return undefined;
    if (res.status === 404) { this.#registered = false; return undefined; }
    this.#credentialRefused(res.status);
    if (res.status < 200 || res.status >= 300) throw new Error(`desired state: HTTP ${res.status}`);
    const { artifacts: body, refused } = parseDesired(res.body);
    if (refused.length > 0) {
      this.metrics.desiredRefused(refused.length);
      this.#log.warn(`skipped ${refused.length} unusable entr${refused.length === 1 ? 'y' : 'ies'} of the desired state (${refused.join('; ')}); acting on the other ${body.length}`);
    }
    const etag = res.headers.etag;
    const only = this.#o.artifacts;
    return { artifacts: only ? body.filter((a) => only.includes(a.artifact)) : body, etag: typeof etag === 'string' ? etag : undefined };
  }

  async #converge(desired: DesiredArtifact[]): Promise<void> {
    for (const d of desired) {
      const action = convergeAction(this.#node(d.artifact), d, this.#now());
      if (action === 'now-serving') {
        // Desired again what the module kept serving (a rollback): it is simply serving now.
        // No new report: the last one (the refusal, serving this version) stays visible.
        await this.#exclusive(async () => {
          if (convergeAction(this.#node(d.artifact), d, this.#now()) !== 'now-serving') return; // a pin landed meanwhile
          this.#setNode(d.artifact, markServing(this.#node(d.artifact)));
          await this.#saveState();
          this.metrics.serving(d.artifact, d.version, 'serving');
        });
      }
      if (action !== 'load') continue;
      let content: Buffer | null = null;
      // Start each load from a collected heap (with --expose-gc): the agent's peak is this load's, not its predecessors'.
      (globalThis as { gc?: () => void }).gc?.();
      if (d.version !== null) {
        const fetched = await this.#fetchVersion(d.artifact, d.version);
        // Could not even get the bytes: the control plane's trouble, not the version's. Retry later.
        if (!fetched.ok) throw new Error(fetched.error);
        content = fetched.content;
      }
      // The load runs under the same lock as break-glass actions, and re-checks the pin once it
      // holds it: a pin that landed during the download wins, the download is dropped.
      await this.#exclusive(() => this.#load(d, content));
      // A version can be megabytes of JSON parsed once and dropped: when node runs with
      // --expose-gc (the failsmall-agent binary does), hand the memory back at once.
      (globalThis as { gc?: () => void }).gc?.();
    }
    await this.#flushReports();
  }

  async #load(d: DesiredArtifact, content: Buffer | null): Promise<void> {
    if (this.#pins.has(d.artifact)) return;
    const onFailure = this.#onFailure(d);
    const result = await this.#loader.load({
      artifact: d.artifact, module: d.module, version: d.version, sha256: d.sha256, content,
      ...(d.signature !== undefined ? { signature: d.signature } : {}),
      ...(d.validation ? { validation: d.validation } : {}),
      ...(onFailure ? { onFailure } : {}),
    });
    if (!result.ok && result.code === 'SHA256' && d.version !== null) {
      // The cached download is damaged (a truncated write, a bad disk): the retry downloads it again instead of loading the same bytes.
      await rm(join(this.#o.dir, '.versions', `${d.artifact}@${d.version}`), { force: true });
    }
    if (d.version !== null) {
      this.meter(d.module).load(result.ok);
      this.metrics.load(d.artifact, result.ok, result.ok ? 'applied' : result.stage);
    }
    const trusted: DesiredEntry = { ...d, ...(onFailure ? { on_failure: onFailure } : {}) };
    const decided = afterLoad(this.#node(d.artifact), trusted, result, this.#now());
    this.#setNode(d.artifact, decided.node);
    const servingVersion = decided.report.serving;
    this.metrics.serving(d.artifact, servingVersion, result.state.state);
    if (result.ok) {
      this.#log.info(`${d.artifact}: now serving ${d.version ?? 'nothing'}`);
    } else {
      const how = result.state.state === 'stale' ? `still serving its last known-good ${servingVersion}` : result.state.state;
      (result.state.state === 'fail-closed' && this.#log.error ? this.#log.error : this.#log.warn)(`${d.artifact}: ${d.version} refused at ${result.stage}: ${result.error}; ${how}`);
    }
    await this.#saveState();
    await this.#pruneCache(d.artifact, d.version);
    this.#queueReport(decided.report);
    this.#o.onLoad?.(d.artifact, d.version, result);
  }

  /** One change to what the node serves at a time: loads from the control plane and break-glass actions. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #fetchVersion(artifact: string, version: string): Promise<{ ok: true; content: Buffer } | { ok: false; error: string }> {
    const cachePath = join(this.#o.dir, '.versions', `${artifact}@${version}`);
    const cached = await readIfExists(cachePath);
    if (cached) return { ok: true, content: cached };
    const res = await httpRequest(`${this.#o.server}/v1/artifacts/${encodeURIComponent(artifact)}/versions/${encodeURIComponent(version)}/content`, {
      headers: { authorization: `Bearer ${this.#bearer()}` }, timeoutMs: 30_000,
    });
    if (res.status !== 200) return { ok: false, error: `fetch ${artifact}@${version}: HTTP ${res.status}` };
    const content = res.body;
    // The cache is only a download cache: the loader checks sha256 and signature on every use.
    await writeAtomic(cachePath, content);
    return { ok: true, content };
  }

  #retryDue(): boolean {
    const due = nextRetryAt([...this.#failed.keys()].map((a) => this.#node(a)));
    return due !== undefined && this.#now() >= due;
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

  /** Scrapes the applications (when configured) and adds their increase to the modules' meters. */
  async #collect(): Promise<void> {
    if (!this.#scraper) return;
    for (const [module, c] of await this.#scraper.scrape()) this.meter(module).add(c);
  }

  async #pushMetrics(): Promise<void> {
    if (!this.#registered) return;
    // A module whose scrape failed pushes nothing, not zeros: its gates must see missing data, never a quiet healthy node.
    const scraper = this.#scraper;
    const drained = new Map([...this.#meters].filter(([m, meter]) => !(scraper?.failing(m) && meter.empty)).map(([m, meter]) => [m, meter.drain()]));
    const problems: Record<string, ReportedScrapeProblem> | undefined = scraper?.problems();
    const problemsKey = problems ? JSON.stringify(Object.entries(problems).map(([m, p]) => [m, p.reason, p.message])) : '';
    const sendProblems = problems !== undefined && (Object.keys(problems).length > 0 || problemsKey !== this.#problemsSent);
    if (drained.size === 0 && !sendProblems) return;
    try {
      await this.#call('POST', `/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/metrics`, { modules: Object.fromEntries(drained), ...(sendProblems ? { signal_problems: problems } : {}) });
      if (sendProblems) this.#problemsSent = problemsKey;
    } catch (err) {
      // Kept for the next push while the control plane is away; a batch it refuses as invalid is dropped.
      if (err instanceof RefusedError) this.#log.warn(`metrics refused by the control plane and dropped: ${err.message}`);
      else for (const [m, c] of drained) this.meter(m).restore(c);
    }
  }

  async #call(method: string, path: string, body: unknown, bearer = this.#bearer()): Promise<unknown> {
    const res = await httpRequest(`${this.#o.server}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: 15_000,
    });
    this.#contact();
    const text = res.body.toString('utf8');
    if (res.status === 404 && path.includes('/v1/nodes/') && !path.endsWith('/register')) {
      this.#registered = false; // the control plane forgot us (a new database): register again
    }
    this.#credentialRefused(res.status);
    if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 404 && res.status !== 408 && res.status !== 429) {
      throw new RefusedError(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  }

  #contact(): void {
    this.#lastContact = this.#now();
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
    let parsed: { serving?: Record<string, Serving>; pins?: Record<string, Pin>; history?: Record<string, ServedVersion[]> };
    try {
      parsed = JSON.parse(raw.toString('utf8')) as typeof parsed;
    } catch {
      this.#log.warn('agent state file is corrupt; starting empty (files on disk are untouched)');
      return;
    }
    for (const [artifact, p] of Object.entries(parsed.pins ?? {})) this.#pins.set(artifact, p);
    for (const [artifact, h] of Object.entries(parsed.history ?? {})) if (Array.isArray(h)) this.#history.set(artifact, h);
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

  /** Saves are queued: two in flight could land in the wrong order and lose a pin on restart. Each writes the state as of its turn. */
  #saveState(): Promise<void> {
    const run = this.#saving.then(() => writeAtomic(join(this.#o.dir, STATE_FILE), JSON.stringify({
      node: this.#o.nodeId, serving: Object.fromEntries(this.#serving), pins: Object.fromEntries(this.#pins), history: Object.fromEntries(this.#history),
    }, null, 2)));
    this.#saving = run.catch(() => undefined);
    return run;
  }

  /**
   * The download cache keeps what break-glass and retries can use: the versions in the
   * artifact's history (where `lkg` goes back to) and the one just tried (a failed load is
   * retried from it). Anything older goes, so a node that takes a version an hour for a year
   * does not fill its disk.
   */
  async #pruneCache(artifact: string, tried: string | null): Promise<void> {
    const keep = new Set([...(this.#history.get(artifact) ?? []).map((h) => `${artifact}@${h.version}`), ...(tried !== null ? [`${artifact}@${tried}`] : [])]);
    const dir = join(this.#o.dir, '.versions');
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return; // nothing cached yet
    }
    for (const name of names) {
      if (name.startsWith(`${artifact}@`) && !keep.has(name)) await rm(join(dir, name), { force: true });
    }
  }

  #remember(artifact: string, v: ServedVersion): void {
    this.#history.set(artifact, remember(this.#history.get(artifact) ?? [], v));
  }

  // ── break-glass ────────────────────────────────────────────────────────────────────────────

  /** The active pins, by artifact. */
  pins(): Pin[] {
    return [...this.#pins.values()];
  }

  // Each action holds the lock loads hold: a load from the control plane and a pin never interleave.
  breakglassPin(artifact: string, version: string, supplied: { content: Buffer; sha256: string; signature: string } | undefined, actor: BreakglassActor): Promise<BreakglassOutcome> {
    return this.#exclusive(() => this.#bgPin(artifact, version, supplied, actor));
  }

  breakglassLkg(artifact: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    return this.#exclusive(() => this.#bgLkg(artifact, actor));
  }

  breakglassKillSwitch(target: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    return this.#exclusive(() => this.#bgKillSwitch(target, actor));
  }

  breakglassUnpin(target: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    return this.#exclusive(() => this.#bgUnpin(target, actor));
  }

  /** A drill: checks, changing nothing, that `lkg` and `kill-switch` would work for TARGET (an artifact or a module). */
  breakglassDrill(target: string): Promise<BreakglassOutcome> {
    return this.#exclusive(() => this.#bgDrill(target));
  }

  /**
   * Serves `version` of `artifact` and pins it. The bytes come from the command (still signed by
   * the artifact key) or from this node's download cache; either way they go through the safe
   * loader's checks (sha256, artifact signature, validation) like any other load.
   */
  async #bgPin(artifact: string, version: string, supplied: { content: Buffer; sha256: string; signature: string } | undefined, actor: BreakglassActor, action: 'pin' | 'lkg' = 'pin'): Promise<BreakglassOutcome> {
    const s = this.#serving.get(artifact);
    if (!s) return this.#unknown(artifact);
    const prepared = await this.#pinRequest(artifact, s, version, supplied);
    if (!prepared.ok) return prepared;
    const { request, bytes } = prepared;
    // A pin that fails its checks changes nothing on the node: refuse it before the module is touched.
    const pre = await this.#loader.precheck(request);
    if (!pre.ok) {
      return { ok: false, code: 'LOAD_REFUSED', message: `${artifact}@${version} refused at ${pre.error}`, hint: 'the pinned version must pass the same checks as any other (sha256, the artifact key\'s signature, validation); nothing was changed', result: [{ artifact, serving: s.version, state: s.state }] };
    }
    const result = await this.#loader.load(request);
    const servingVersion = 'version' in result.state ? result.state.version : null;
    this.#serving.set(artifact, { ...s, version: servingVersion, sha256: result.ok ? bytes.sha256 : s.sha256, state: result.state.state });
    this.metrics.serving(artifact, servingVersion, result.state.state);
    const after = [{ artifact, serving: servingVersion, state: result.state.state }];
    if (!result.ok) {
      // It passed its checks but the module did not take it: the module is now as its on_load_failure says.
      await this.#saveState();
      this.#queueReport({ artifact, version, ok: false, serving: servingVersion, error: `break-glass pin by ${actor.operator}: ${result.error}`.slice(0, 3900), module_state: result.state.state });
      return { ok: false, code: 'LOAD_FAILED', message: `${artifact}@${version} failed at ${result.stage}: ${result.error}; the module is now ${result.state.state}${servingVersion ? ` on ${servingVersion}` : ''}`, hint: 'the module refused the version when applying it (reload command or callback): check the module, or pin another version', result: after };
    }
    // Cache supplied bytes, so that a later pin or restart finds them on the node.
    if (supplied) await writeAtomic(join(this.#o.dir, '.versions', `${artifact}@${version}`), supplied.content);
    this.#remember(artifact, { version, sha256: bytes.sha256, signature: bytes.signature });
    this.#failed.delete(artifact);
    this.#pins.set(artifact, { artifact, action, version, state: result.state.state, ...actorOf(actor), since: new Date(this.#now()).toISOString(), replaced: replacedAfter(this.#pins.get(artifact), s.version, version) });
    await this.#saveState();
    this.#queueReport({ artifact, version, ok: true, serving: version, error: null, module_state: result.state.state });
    this.#log.warn(`${artifact}: BREAK-GLASS ${action} by ${actor.operator}: now serving ${version}, pinned (${actor.reason})`);
    return { ok: true, message: `${artifact} pinned to ${version}`, result: after };
  }

  /** The load a pin makes: the bytes from the command, or this node's cache of a version it served. */
  async #pinRequest(artifact: string, s: Serving, version: string, supplied: { content: Buffer; sha256: string; signature: string } | undefined): Promise<
    | { ok: true; request: LoadRequest & { content: Buffer }; bytes: { content: Buffer; sha256: string; signature: string } }
    | { ok: false; code: string; message: string; hint: string }> {
    let bytes = supplied;
    if (!bytes) {
      const known = this.#history.get(artifact)?.find((h) => h.version === version);
      const content = await readIfExists(join(this.#o.dir, '.versions', `${artifact}@${version}`));
      if (!known || !content) {
        return { ok: false, code: 'VERSION_NOT_ON_NODE', message: `${artifact}@${version} is not on this node (it has ${this.#history.get(artifact)?.map((h) => h.version).join(', ') || 'no earlier versions'})`, hint: 'send its content with the command: failsmall breakglass pin ... --content FILE --artifact-signature SIG' };
      }
      bytes = { content, sha256: known.sha256, signature: known.signature ?? '' };
    }
    const onFailure = s.on_failure;
    const request = {
      artifact, module: s.module, version, sha256: bytes.sha256, content: bytes.content, signature: bytes.signature,
      ...(s.validation ? { validation: s.validation } : {}), ...(onFailure ? { onFailure } : {}),
    };
    return { ok: true, request, bytes };
  }

  /**
   * Back to the last known-good: the version this node served before the current one (or, when
   * the module already fell back to its last known-good copy, that copy). Pinned.
   */
  async #bgLkg(artifact: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    const s = this.#serving.get(artifact);
    if (!s) return this.#unknown(artifact);
    const pin = this.#pins.get(artifact);
    // Repeating the command (say, after a fan-out timed out) must not flip the node back: already there, nothing to do.
    if (pin?.action === 'lkg' && pin.version === s.version && s.state === 'serving') {
      return { ok: true, message: `${artifact} is already on its last known-good ${s.version}, pinned by ${pin.operator}`, result: [{ artifact, serving: s.version, state: s.state }] };
    }
    const target = this.#lkgTarget(artifact, s);
    if (!target) return { ok: false, code: 'NO_KNOWN_GOOD', message: this.#noKnownGood(artifact), hint: 'pin a version with its content instead: failsmall breakglass pin ARTIFACT VERSION --content FILE --artifact-signature SIG' };
    return this.#bgPin(artifact, target, undefined, actor, 'lkg');
  }

  /** The version `lkg` goes back to: never the one served now, nor one break-glass already moved away from. */
  #lkgTarget(artifact: string, s: Serving): string | undefined {
    return lkgTarget({ ...this.#node(artifact), serving: s });
  }

  #noKnownGood(artifact: string): string {
    return `${artifact} has no earlier version on this node (it served ${(this.#history.get(artifact) ?? []).map((h) => h.version).join(', ') || 'nothing'})`;
  }

  #safeDefault(s: Serving): string | undefined {
    return s.on_failure?.safe_default ?? this.#o.safeDefaults?.[s.module];
  }

  /**
   * The failure policy this node acts on for one desired artifact: the SDK's (in-process code) as
   * is; else the declaration's, with its safe default kept only when signed by the artifact key or
   * replaced by the node's own (--safe-default). Only signed or node-local bytes reach a module.
   */
  #onFailure(d: DesiredArtifact): OnFailure | undefined {
    const inCode = this.#o.onFailureOverrides?.[d.artifact];
    if (inCode) return inCode;
    const local = this.#o.safeDefaults?.[d.module];
    const t = trustedOnFailure(d.module, d.on_failure, { ...(local !== undefined ? { local } : {}), ...(this.#publicKey ? { publicKey: this.#publicKey } : {}), ...(this.#o.allowUnsigned ? { allowUnsigned: true } : {}) });
    if (t.problem === undefined) this.#safeDefaultProblems.delete(d.module);
    else if (this.#safeDefaultProblems.get(d.module) !== t.problem) {
      this.#safeDefaultProblems.set(d.module, t.problem);
      this.#log.warn(`${d.artifact}: ${t.problem}`);
    }
    return t.onFailure;
  }

  #noSafeDefault(module: string): string {
    return this.#safeDefaultProblems.get(module) ?? `module ${module} declares no safe default (nor does --safe-default)`;
  }

  /**
   * A drill: what `lkg` and `kill-switch` would do for every artifact of TARGET, found by
   * running their checks without their effects. A break-glass path nobody tried is a hope, not
   * a plan: teams drill it (with the control plane up or down) so the key, the addresses, the
   * clocks and the cached versions are known to work before the incident that needs them.
   */
  async #bgDrill(target: string): Promise<BreakglassOutcome> {
    const hits = this.#matching(target);
    if (hits.length === 0) return this.#unknown(target);
    const drill: DrillReadiness[] = [];
    for (const [artifact, s] of hits) {
      const pin = this.#pins.get(artifact);
      const version = pin?.action === 'lkg' && pin.version === s.version && s.state === 'serving' ? s.version : this.#lkgTarget(artifact, s);
      let lkg: DrillReadiness['lkg'];
      if (!version) {
        lkg = { version: null, ok: false, problem: this.#noKnownGood(artifact) };
      } else {
        const prepared = await this.#pinRequest(artifact, s, version, undefined);
        const pre = prepared.ok ? await this.#loader.precheck(prepared.request) : { ok: false as const, error: prepared.message };
        lkg = pre.ok ? { version, ok: true } : { version, ok: false, problem: pre.error };
      }
      const kill_switch = this.#safeDefault(s) === undefined ? { ok: false, problem: this.#noSafeDefault(s.module) } : { ok: true };
      drill.push({ artifact, module: s.module, serving: s.version, state: s.state, pinned: pin ? `${pin.action} by ${pin.operator}` : null, lkg, kill_switch });
    }
    const unready = drill.filter((d) => !d.lkg.ok);
    const message = unready.length === 0
      ? `drill: lkg would work for ${drill.map((d) => `${d.artifact} (to ${d.lkg.version})`).join(', ')}; nothing changed`
      : `drill: lkg would NOT work for ${unready.map((d) => `${d.artifact}: ${d.lkg.problem}`).join('; ')}; nothing changed`;
    return { ok: true, message, result: hits.map(([a, s]) => ({ artifact: a, serving: s.version, state: s.state })), drill };
  }

  /** Every artifact of a module (or one artifact) to its safe default, pinned there. */
  async #bgKillSwitch(target: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    const hits = this.#matching(target);
    if (hits.length === 0) return this.#unknown(target);
    const withoutDefault = hits.filter(([, s]) => this.#safeDefault(s) === undefined);
    if (withoutDefault.length > 0) {
      return { ok: false, code: 'NO_SAFE_DEFAULT', message: `${withoutDefault.map(([a, s]) => `${a} (${this.#noSafeDefault(s.module)})`).join(', ')}: no safe default this node trusts to fail open to`, hint: 'declare a signed safe_default on the module (the control plane signs it at apply with its key, or failsmall artifact sign-default), or start the agent with --safe-default MODULE=FILE; or pin a known-good version instead' };
    }
    const result: { artifact: string; serving: string | null; state: string }[] = [];
    for (const [artifact, s] of hits) {
      const safe = this.#safeDefault(s);
      const state = await this.#loader.failOpen({ artifact, module: s.module, onFailure: { on_load_failure: 'fail-open', ...(safe !== undefined ? { safe_default: safe } : {}) } });
      this.#serving.set(artifact, { ...s, version: null, state: state.state });
      this.metrics.serving(artifact, null, state.state);
      this.#pins.set(artifact, { artifact, action: 'kill-switch', version: null, state: state.state, ...actorOf(actor), since: new Date(this.#now()).toISOString(), replaced: [...(this.#pins.get(artifact)?.replaced ?? [])] });
      this.#queueReport({ artifact, version: s.version, ok: false, serving: null, error: `break-glass kill switch by ${actor.operator}: ${actor.reason}`.slice(0, 3900), module_state: state.state });
      result.push({ artifact, serving: null, state: state.state });
      this.#log.warn(`${artifact}: BREAK-GLASS kill switch by ${actor.operator}: failed open to its safe default, pinned (${actor.reason})`);
    }
    await this.#saveState();
    return { ok: true, message: `${hits.map(([a]) => a).join(', ')} failed open to the safe default`, result };
  }

  /** Lifts a pin: the control plane's desired state applies again at the next poll. */
  /** Lifts the pins of an artifact, or of every artifact of a module (as a kill switch pinned them). */
  async #bgUnpin(target: string, actor: BreakglassActor): Promise<BreakglassOutcome> {
    const known = this.#matching(target);
    if (known.length === 0) return this.#unknown(target);
    const after = known.map(([a, s]) => ({ artifact: a, serving: s.version, state: s.state }));
    const lifted = known.filter(([a]) => this.#pins.delete(a)).map(([a]) => a);
    if (lifted.length === 0) return { ok: true, message: `${target} was not pinned; nothing to lift`, result: after };
    await this.#saveState();
    this.#etag = undefined; // ask for the desired state afresh, and act on it
    this.#refetch = true;
    this.breakglassChanged();
    this.#log.warn(`${lifted.join(', ')}: break-glass pin lifted by ${actor.operator} (${actor.reason}); following the control plane again`);
    return { ok: true, message: `${lifted.join(', ')} unpinned; following the control plane again`, result: after };
  }

  /** The artifacts a break-glass target names: one artifact, or every artifact of a module. */
  #matching(target: string): [string, Serving][] {
    return [...this.#serving].filter(([a, s]) => a === target || s.module === target);
  }

  /** A break-glass target this node does not run, with what it does run. */
  #unknown(target: string): BreakglassOutcome {
    return { ok: false, code: 'UNKNOWN_ARTIFACT', message: `this node runs no module or artifact named ${target}`, hint: `it serves ${[...this.#serving].map(([a, s]) => `${a} (${s.module})`).join(', ') || 'nothing yet'}` };
  }

  /** Tells the control plane about break-glass commands and the pins, when it can be reached. */
  async #flushBreakglass(): Promise<void> {
    const entries = reportBatch(await this.breakglassLog.unreported());
    if (entries.length === 0 && !this.#pinsDirty) return;
    try {
      const answer = await this.#call('POST', `/v1/nodes/${encodeURIComponent(this.#o.nodeId)}/breakglass`, { entries, pins: [...this.#pins.values()] }) as { rejected?: unknown } | undefined;
      const rejected = typeof answer?.rejected === 'number' ? answer.rejected : 0;
      if (rejected > 0) {
        this.#log.warn(`the control plane did not store ${rejected} break-glass log entr${rejected === 1 ? 'y' : 'ies'} it could not verify against its break-glass public key (is it the key this agent trusts?); they stay in ${this.breakglassLog.path}`);
      }
    } catch (err) {
      // A batch the control plane refuses as invalid would be refused forever: keep it in the local
      // log, skip it in the report, and keep polling (a stuck report must never stop rollbacks reaching us).
      if (!(err instanceof RefusedError)) throw err;
      this.#log.warn(`break-glass report refused by the control plane and skipped (still in ${this.breakglassLog.path}): ${err.message}`);
    }
    const last = entries.at(-1);
    if (last) await this.breakglassLog.markReported(last.seq);
    this.#pinsDirty = false;
  }

  /** Set by the break-glass service after every command, so that pins are reported promptly. */
  #pinsDirty = false;
  #kicked = false;
  breakglassChanged(): void {
    this.#pinsDirty = true;
    if (this.#abort && !this.#abort.signal.aborted) {
      this.#kicked = true;
      this.#abort.abort(); // cut the long-poll short: report now, not in 30 s
    }
  }
}

/** At most this many log entries per break-glass report. */
const REPORT_ENTRIES = 200;
/**
 * A report holds entries up to this many bytes of JSON, or one entry alone when that one is larger: an
 * entry carries its command's envelope, and a pin that carries its version's content can be 16 MiB.
 */
const REPORT_BYTES = 1024 * 1024;

/** The next report's entries, in order: up to REPORT_ENTRIES of them and REPORT_BYTES, and always the first one. */
function reportBatch(entries: readonly BreakglassLogEntry[]): BreakglassLogEntry[] {
  const out: BreakglassLogEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = Buffer.byteLength(JSON.stringify(e), 'utf8');
    if (out.length >= REPORT_ENTRIES || (out.length > 0 && bytes + size > REPORT_BYTES)) break;
    out.push(e);
    bytes += size;
  }
  return out;
}

/** The control plane refused a request as invalid (4xx): retrying the same request cannot help. */
class RefusedError extends Error {}

/** The control plane answered, but with something no agent can act on: not "unreachable". */
class BadAnswerError extends Error {}

/**
 * The desired state, checked entry by entry: artifact names and versions become file names on
 * this node, so anything but a plain name (core/names: a path, `..`, 129 characters) is refused
 * here, whatever the control plane says. One bad entry is skipped and reported; the others are
 * acted on, so a bad name can never block the rollback of another artifact.
 */
export function parseDesired(body: Buffer): { artifacts: DesiredArtifact[]; refused: string[] } {
  let parsed: { artifacts?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as { artifacts?: unknown };
  } catch {
    throw new BadAnswerError('the desired state is not JSON');
  }
  if (!Array.isArray(parsed?.artifacts)) throw new BadAnswerError('the desired state has no artifacts list');
  const artifacts: DesiredArtifact[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();
  for (const a of parsed.artifacts as Partial<DesiredArtifact>[]) {
    const shown = JSON.stringify(typeof a?.artifact === 'string' ? a.artifact.slice(0, 60) : a?.artifact ?? null);
    const problem = !isName(a?.artifact) ? `artifact name ${shown}: ${nameProblem(a?.artifact)}`
      : !isName(a.module) ? `artifact ${a.artifact}: module ${JSON.stringify(a.module)}: ${nameProblem(a.module)}`
        : a.version !== null && !isName(a.version) ? `artifact ${a.artifact}: version ${JSON.stringify(typeof a.version === 'string' ? (a.version as string).slice(0, 60) : a.version)}: ${nameProblem(a.version)}`
          : seen.has(a.artifact) ? `artifact ${a.artifact} is listed twice`
            : undefined;
    if (problem !== undefined) { refused.push(problem); continue; }
    seen.add(a.artifact as string);
    artifacts.push(a as DesiredArtifact);
  }
  return { artifacts, refused };
}

/** The versions a pin moved away from: the previous pin's, plus the one served until now (unless it is the target). */
function actorOf(a: BreakglassActor): Pick<Pin, 'operator' | 'reason' | 'nonce'> {
  return { operator: a.operator, reason: a.reason, nonce: a.nonce };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}

/** A node credential: `fs_node_` and 32 random base64url characters. */
function newCredential(): string {
  return `fs_node_${randomBytes(24).toString('base64url')}`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
