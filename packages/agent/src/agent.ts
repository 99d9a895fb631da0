import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Server } from 'node:http';
import {
  afterLoad, convergeAction, markServing, nextRetryAt, parsePublicKeys, trustedOnFailure,
  type DesiredEntry, type LoadReport, type ModuleDecl, type ModuleState, type OnFailure, type Pin, type Serving, type TrustedKeys,
} from '@failsmall/core';
import { Backoff } from '@failsmall/io';
import { BreakglassActions } from './breakglass-actions.ts';
import { BreakglassLog, type BreakglassLogEntry } from './breakglass-log.ts';
import type { BreakglassServiceOptions } from './breakglass.ts';
import { BadAnswerError, HttpControlPlane, RefusedError, TOKEN_HINT, TokenRefusedError, type ControlPlane } from './control-plane.ts';
import { ModuleMeter } from './counters.ts';
import { readIfExists, writeAtomic } from './files.ts';
import { SafeLoader, type LoadResult, type SafeLoaderOptions } from './loader.ts';
import { errorOf, silentLog, type AgentLog } from './log.ts';
import { AgentMetrics } from './metrics.ts';
import { NodeStore } from './node-store.ts';
import { Scraper, type ReportedScrapeProblem, type ScrapeTarget } from './scrape.ts';
import { VersionCache } from './version-cache.ts';

export type { AgentLog } from './log.ts';
export type { BreakglassActor, BreakglassOutcome } from './breakglass-actions.ts';
export { parseDesired } from './control-plane.ts';

/** The agent's time, in ms since the epoch: injected so tests run the agent on a fake clock. */
export interface Clock {
  now(): number;
}

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
  /** The safe loader's filesystem, validators and modules (SafeLoaderOptions); tests and embedded runtimes pass their own. */
  readonly files?: SafeLoaderOptions['files'];
  readonly validatorFor?: SafeLoaderOptions['validatorFor'];
  readonly moduleFor?: SafeLoaderOptions['moduleFor'];
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
  readonly clock?: Clock;
  /** The control plane; default HTTP to `server` (HttpControlPlane). Tests may hand in their own. */
  readonly controlPlane?: ControlPlane;
  /** How long a meter records client prefixes before it reports never-seen shares (default 1 h). */
  readonly sourceWarmupMs?: number;
  /** Per module: the path classes whose requests are expensive to answer, for its request mix (`meter.mix`). */
  readonly expensivePathClasses?: Readonly<Record<string, readonly string[]>>;
  readonly metricsIntervalMs?: number;
  /** host:port for the agent's own /metrics (Prometheus); off when absent. */
  readonly metricsListen?: string;
  readonly log?: AgentLog;
  /**
   * The control plane refused the token (401/403) before it had ever accepted it: the agent has
   * stopped polling, because the same token cannot succeed. The caller ends the process
   * (failsmall-agent exits 6). A refusal after the token worked is retried instead (docs/agent.md).
   */
  readonly onTokenRefused?: (message: string) => void;
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


/**
 * The node agent: a thin shell around the node core (packages/core/src/node). It long-polls its
 * desired state, asks the core what to do with each entry (convergeAction), fetches a new
 * version and hands it to the safe loader, lets the core fold the result into the node's state
 * (afterLoad), then reports it. When the control plane is unreachable it keeps serving what it
 * has, keeps its reports and counters, and retries with backoff and jitter. On start it checks
 * that the files it serves are the ones it recorded, and restores the last known-good when
 * they are not (a crash between write and apply, or tampering).
 *
 * Its parts, each in its own file: the control-plane client (control-plane.ts), the node's
 * state and its lock (node-store.ts), the download cache (version-cache.ts), the safe loader
 * (loader.ts), the break-glass actions (breakglass-actions.ts) and their admin endpoint
 * (breakglass.ts), the meters and metrics.
 */
export class Agent {
  readonly #o: AgentOptions;
  readonly #loader: SafeLoader;
  readonly #store: NodeStore;
  readonly #cache: VersionCache;
  readonly #cp: ControlPlane;
  readonly #clock: Clock;
  /** Set by an unpin: the desired state must be asked for again even if a poll was under way. */
  #refetch = false;
  /** The node's append-only record of break-glass commands. */
  readonly breakglassLog: BreakglassLog;
  /** Pin, lkg, kill switch, unpin and drill on this node; the admin endpoint and tests call them. */
  readonly breakglass: BreakglassActions;
  #breakglassService: { stop(): Promise<void> } | undefined;
  readonly #pending = new Map<string, LoadReport>();
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
   * never locks the node out; the secret is never deleted. Once bound, the fleet token no longer
   * speaks for this node id, so another node holding the fleet token cannot report as this one.
   */
  #credential: string | undefined;
  /** The control plane accepted the fleet token once since start: a later refusal is retried, not fatal. */
  #tokenAccepted = false;
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
  readonly #publicKey: TrustedKeys | undefined;
  /** Per module: why its declared safe default was not trusted (logged once per reason). */
  readonly #safeDefaultProblems = new Map<string, string>();
  /** Set after every command, so that pins are reported promptly. */
  #pinsDirty = false;
  #kicked = false;
  /** Desired states acted on (or found unchanged) since start: a test waits on this, not on the wall clock. */
  #polls = 0;

  constructor(opts: AgentOptions) {
    this.#o = opts;
    this.#log = opts.log ?? silentLog;
    this.#clock = opts.clock ?? Date;
    this.metrics = new AgentMetrics(opts.nodeId);
    this.breakglassLog = new BreakglassLog(opts.dir);
    this.#store = new NodeStore(opts.dir, opts.nodeId);
    this.#cache = new VersionCache(opts.dir);
    let publicKey: SafeLoaderOptions['publicKey'];
    if (opts.publicKey !== undefined) {
      const parsed = parsePublicKeys(opts.publicKey);
      if (!parsed.ok) throw new Error(`artifact public key: ${parsed.message}`);
      publicKey = parsed.keys;
    }
    this.#publicKey = publicKey;
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
      ...(opts.files ? { files: opts.files } : {}),
      ...(opts.validatorFor ? { validatorFor: opts.validatorFor } : {}),
      ...(opts.moduleFor ? { moduleFor: opts.moduleFor } : {}),
      reloadTimeoutMs: opts.reloadTimeoutMs ?? 10_000,
      validatorTimeoutMs: opts.validatorTimeoutMs ?? 10_000,
      log: { warn: (m) => this.#log.warn(m), error: errorOf(this.#log) },
    });
    this.#cp = opts.controlPlane ?? new HttpControlPlane({
      server: opts.server, nodeId: opts.nodeId, fleetToken: opts.token,
      credential: () => this.#credential,
      onContact: () => this.#contact(),
      onForgotten: (why) => this.#forgotten(why),
    });
    this.breakglass = new BreakglassActions({
      store: this.#store, loader: this.#loader, cache: this.#cache, metrics: this.metrics, log: this.#log,
      now: () => this.#clock.now(),
      report: (r) => this.#queueReport(r),
      safeDefault: (s) => s.on_failure?.safe_default ?? this.#o.safeDefaults?.[s.module],
      noSafeDefault: (module) => this.#safeDefaultProblems.get(module) ?? `module ${module} declares no safe default (nor does --safe-default)`,
      unpinned: () => {
        this.#etag = undefined; // ask for the desired state afresh, and act on it
        this.#refetch = true;
        this.breakglassChanged();
      },
    });
  }

  get nodeId(): string { return this.#o.nodeId; }

  /** What this node serves now, per artifact (null: nothing, a safe default, or stopped). */
  serving(): Record<string, string | null> {
    return Object.fromEntries(this.#store.served().map(([a, s]) => [a, s.version]));
  }

  /** The module state of each artifact: serving, stale, fail-open, fail-closed or empty. */
  states(): Record<string, ModuleState['state']> {
    return Object.fromEntries(this.#store.served().map(([a, s]) => [a, s.state]));
  }

  /** The active pins. */
  pins(): Pin[] {
    return this.#store.pins();
  }

  /** How many answers to its desired-state poll the agent has acted on (or found unchanged) since it started. */
  get polls(): number {
    return this.#polls;
  }

  /** ms since the agent last heard from the control plane (0 before the first contact). */
  get msSinceContact(): number {
    return this.#lastContact === 0 ? 0 : this.#clock.now() - this.#lastContact;
  }

  meter(module: string): ModuleMeter {
    let m = this.#meters.get(module);
    if (!m) {
      const expensive = this.#o.expensivePathClasses?.[module];
      m = new ModuleMeter((ok, ms) => this.metrics.request(module, ok, ms), this.#o.sourceWarmupMs !== undefined ? { warmupMs: this.#o.sourceWarmupMs } : {}, expensive ? { expensive } : {});
      this.#meters.set(module, m);
    }
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
      this.#breakglassService = service;
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
    await this.#breakglassService?.stop();
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
        this.#polls++;
      } catch (err) {
        if (this.#stopped) break;
        if (this.#kicked) { this.#kicked = false; continue; } // a break-glass command cut the poll short on purpose
        if (err instanceof TokenRefusedError && !this.#tokenAccepted) {
          // Refused from the start: a wrong or revoked token, which no retry can fix. Stop, so that
          // the operator sees it at once instead of a node that retries for ever in silence.
          errorOf(this.#log)(`the token was refused: ${err.message}; ${TOKEN_HINT}`);
          this.#stopped = true;
          this.#o.onTokenRefused?.(err.message);
          break;
        }
        const wait = this.#backoff.next();
        // A token refused after it worked: the control plane was rebuilt or the token revoked. The node
        // keeps serving and keeps its break-glass endpoint, and retries until the fleet token is
        // enrolled again (failsmall token create --existing), but names the token, not the network.
        const what = err instanceof TokenRefusedError ? `refused the token (${TOKEN_HINT})` : err instanceof RefusedError ? 'refused' : err instanceof BadAnswerError ? 'sent an unusable answer' : 'unreachable';
        this.#log.warn(`control plane ${what} (${errorText(err)}); keeping what is served, retrying in ${wait} ms`);
        await this.#sleep(wait);
      }
    }
  }

  async #register(): Promise<void> {
    // Registration uses the fleet token and proves nothing but enrolment: the node's own secret stays here, its hash goes.
    const res = await this.#cp.register({
      id: this.#o.nodeId, labels: this.#o.labels, modules: this.#o.modules, pins: this.#store.pins(), credential_hash: sha256Hex(this.#credential ?? ''),
    });
    this.#tokenAccepted = true;
    if (res.enrolled) this.#log.info(`enrolled: this node now speaks with its own credential (${this.#credentialPath()})`);
    this.#registered = true;
    this.#etag = undefined;
  }

  #credentialPath(): string {
    return join(this.#o.dir, '.node-credential');
  }

  /**
   * The control plane no longer knows this node (a rebuilt database) or its credential (an
   * operator released the node): register again, which binds the same secret again.
   */
  #forgotten(why: 'unknown-node' | 'credential'): void {
    if (!this.#registered) return;
    if (why === 'credential') this.#log.warn('the control plane does not know this node\'s credential; registering again with the fleet token to enrol it');
    this.#registered = false;
  }

  async #poll(): Promise<{ artifacts: DesiredEntry[]; etag: string | undefined } | undefined> {
    const abort = new AbortController();
    this.#abort = abort;
    let answer: Awaited<ReturnType<ControlPlane['desired']>>;
    try {
      answer = await this.#cp.desired(this.#etag, this.#o.pollWaitMs ?? 30_000, abort.signal);
    } finally {
      if (this.#abort === abort) this.#abort = undefined; // only a poll in flight can be cut short
    }
    if (answer.kind === 'unchanged') return undefined;
    if (answer.kind === 'unknown-node') { this.#registered = false; return undefined; }
    if (answer.refused.length > 0) {
      const { refused } = answer;
      this.metrics.desiredRefused(refused.length);
      this.#log.warn(`skipped ${refused.length} unusable entr${refused.length === 1 ? 'y' : 'ies'} of the desired state (${refused.join('; ')}); acting on the other ${answer.artifacts.length}`);
    }
    const only = this.#o.artifacts;
    return { artifacts: only ? answer.artifacts.filter((a) => only.includes(a.artifact)) : answer.artifacts, etag: answer.etag };
  }

  async #converge(desired: DesiredEntry[]): Promise<void> {
    const store = this.#store;
    for (const d of desired) {
      const action = convergeAction(store.get(d.artifact), d, this.#clock.now());
      if (action === 'now-serving') {
        // Desired again what the module kept serving (a rollback): it is simply serving now.
        // No new report: the last one (the refusal, serving this version) stays visible.
        await store.exclusive(async () => {
          if (convergeAction(store.get(d.artifact), d, this.#clock.now()) !== 'now-serving') return; // a pin landed meanwhile
          store.set(d.artifact, markServing(store.get(d.artifact)));
          await store.save();
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
      await store.exclusive(() => this.#load(d, content));
      // A version can be megabytes of JSON parsed once and dropped: when node runs with
      // --expose-gc (the failsmall-agent binary does), hand the memory back at once.
      (globalThis as { gc?: () => void }).gc?.();
    }
    await this.#flushReports();
  }

  async #load(d: DesiredEntry, content: Buffer | null): Promise<void> {
    const store = this.#store;
    if (store.get(d.artifact).pin) return;
    const onFailure = this.#onFailure(d);
    const result = await this.#loader.load({
      artifact: d.artifact, module: d.module, version: d.version, sha256: d.sha256, content,
      ...(d.signature !== undefined ? { signature: d.signature } : {}),
      ...(d.validation ? { validation: d.validation } : {}),
      ...(onFailure ? { onFailure } : {}),
    });
    if (!result.ok && result.code === 'SHA256' && d.version !== null) {
      // The cached download is damaged (a truncated write, a bad disk): the retry downloads it again instead of loading the same bytes.
      await this.#cache.drop(d.artifact, d.version);
    }
    if (d.version !== null) {
      this.meter(d.module).load(result.ok);
      this.metrics.load(d.artifact, result.ok, result.ok ? 'applied' : result.stage);
    }
    const trusted: DesiredEntry = { ...d, ...(onFailure ? { on_failure: onFailure } : {}) };
    const decided = afterLoad(store.get(d.artifact), trusted, result, this.#clock.now());
    store.set(d.artifact, decided.node);
    const servingVersion = decided.report.serving;
    this.metrics.serving(d.artifact, servingVersion, result.state.state);
    if (result.ok) {
      this.#log.info(`${d.artifact}: now serving ${d.version ?? 'nothing'}`);
    } else {
      const how = result.state.state === 'stale' ? `still serving its last known-good ${servingVersion}` : result.state.state;
      (result.state.state === 'fail-closed' ? errorOf(this.#log) : this.#log.warn.bind(this.#log))(`${d.artifact}: ${d.version} refused at ${result.stage}: ${result.error}; ${how}`);
    }
    await store.save();
    // The download cache keeps what break-glass and retries can use: the versions in the
    // artifact's history (where `lkg` goes back to) and the one just tried (a failed load is retried from it).
    await this.#cache.prune(d.artifact, [...decided.node.history.map((h) => h.version), ...(d.version !== null ? [d.version] : [])]);
    this.#queueReport(decided.report);
    this.#o.onLoad?.(d.artifact, d.version, result);
  }

  async #fetchVersion(artifact: string, version: string): Promise<{ ok: true; content: Buffer } | { ok: false; error: string }> {
    const cached = await this.#cache.get(artifact, version);
    if (cached) return { ok: true, content: cached };
    const fetched = await this.#cp.content(artifact, version);
    if (fetched.ok) await this.#cache.put(artifact, version, fetched.content);
    return fetched;
  }

  #retryDue(): boolean {
    const due = nextRetryAt(this.#store.failed());
    return due !== undefined && this.#clock.now() >= due;
  }

  #queueReport(r: LoadReport): void {
    // The server caps error text; a long stderr must not make the report (and the agent) stick.
    this.#pending.set(r.artifact, { ...r, error: r.error === null ? null : r.error.slice(0, 3900) });
  }

  async #flushReports(): Promise<void> {
    for (const [artifact, r] of [...this.#pending]) {
      try {
        await this.#cp.reportLoad(r);
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
      await this.#cp.pushMetrics({ modules: Object.fromEntries(drained), ...(sendProblems ? { signal_problems: problems } : {}) });
      if (sendProblems) this.#problemsSent = problemsKey;
    } catch (err) {
      // Kept for the next push while the control plane is away; a batch it refuses as invalid is dropped.
      if (err instanceof RefusedError) this.#log.warn(`metrics refused by the control plane and dropped: ${err.message}`);
      else for (const [m, c] of drained) this.meter(m).restore(c);
    }
  }

  #contact(): void {
    this.#lastContact = this.#clock.now();
    this.metrics.contact();
  }

  /**
   * Reads what the agent served before it stopped, and checks each file on disk against it.
   * A mismatch means the agent died between writing a file and the module taking it (or the
   * file was changed behind its back): the last known-good goes back in place.
   */
  async #restoreState(): Promise<void> {
    const saved = await this.#store.restore();
    if (saved === 'corrupt') this.#log.warn('agent state file is corrupt; starting empty (files on disk are untouched)');
    if (saved === undefined || saved === 'corrupt') return;
    for (const [artifact, s] of Object.entries(saved.serving)) {
      if (s.state !== 'serving' && s.state !== 'stale') continue;
      const onDisk = await this.#loader.servedSha256(artifact);
      if (onDisk === s.sha256) { this.metrics.serving(artifact, s.version, s.state); continue; }
      const why = `${artifact} on disk (${onDisk?.slice(0, 12) ?? 'missing'}) is not the recorded ${s.version ?? 'nothing'} (${s.sha256?.slice(0, 12) ?? '-'})`;
      const recovered = await this.#loader.recover({ artifact, module: s.module, ...(s.on_failure ? { onFailure: s.on_failure } : {}) }, why);
      const version = 'version' in recovered.state ? recovered.state.version : null;
      const lkg = await this.#loader.lastKnownGood.read(artifact);
      const serving: Serving = { ...s, version, sha256: lkg.kind === 'ok' && version === lkg.copy.version ? lkg.copy.sha256 : null, state: recovered.state.state };
      this.#store.update(artifact, (n) => ({ ...n, serving }));
      this.metrics.serving(artifact, version, recovered.state.state);
      this.#log.warn(recovered.error);
      this.#queueReport({ artifact, version: s.version, ok: false, serving: version, error: `restart: ${recovered.error}`, module_state: recovered.state.state });
    }
    await this.#store.save();
  }

  /**
   * The failure policy this node acts on for one desired artifact: the SDK's (in-process code) as
   * is; else the declaration's, with its safe default kept only when signed by the artifact key or
   * replaced by the node's own (--safe-default). Only signed or node-local bytes reach a module.
   */
  #onFailure(d: DesiredEntry): OnFailure | undefined {
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

  /** Tells the control plane about break-glass commands and the pins, when it can be reached. */
  async #flushBreakglass(): Promise<void> {
    const entries = reportBatch(await this.breakglassLog.unreported());
    if (entries.length === 0 && !this.#pinsDirty) return;
    try {
      const { rejected } = await this.#cp.reportBreakglass({ entries, pins: this.#store.pins() });
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

  /** Called by the break-glass service after every command, so that pins are reported promptly. */
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
