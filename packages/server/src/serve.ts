import type { FastifyInstance } from 'fastify';
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { setMaxListeners } from 'node:events';
import { parsePrivateKey, parsePublicKey } from '@failsmall/core';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { Controller, DEFAULT_LEASE_MS, systemClock, type Clock } from './controller/controller.ts';
import { LeaseKeeper } from './store/lease-keeper.ts';
import { PrometheusClient, type PrometheusConfig } from './signals/index.ts';
import { DesiredHub } from './desired/hub.ts';
import { IncidentService } from './incidents/service.ts';
import { mayWakeRecorder, wakesRecorder } from './incidents/recorder.ts';
import type { IncidentNotice } from './incidents/notice.ts';
import { recordVendorPoll } from './incidents/vendor-polls.ts';
import { Notifier, type NotifyTarget } from './notify/index.ts';
import { StatuspagePoller } from './vendors/index.ts';
import { hashToken, newToken } from './http/auth.ts';
import { openStore, parseStoreUrl } from './store/index.ts';
import type { Store } from './store/types.ts';
import { logCommitted, VerdictChanges } from './telemetry/event-lines.ts';
import { serverLog, type LogLevel } from './telemetry/log.ts';
import { ServerMetrics } from './telemetry/metrics.ts';
import { timedStore } from './telemetry/timed-store.ts';

export interface ServeOptions {
  /** `sqlite:PATH`, a file path, or `postgres://…`. Default `.failsmall/failsmall.db`. */
  readonly store?: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly clock?: Clock;
  readonly tickMs?: number;
  /**
   * The log: a level for the server's own (JSON lines on stderr, pretty on a terminal), or a pino
   * logger. Default `warn`: a library user (the demo, tests) sees only what needs attention.
   */
  readonly log?: LogLevel | Logger;
  /** The version the start line names (the CLI's). */
  readonly version?: string;
  readonly maxArtifactBytes?: number;
  readonly maxWaitMs?: number;
  /** Path of the artifact signing key (PEM, ed25519; failsmall keys init writes it). */
  readonly signingKeyFile?: string;
  /** Path of a public key that pushed signatures must verify against (default: the signing key's). */
  readonly verifyKeyFile?: string;
  /**
   * Path of the break-glass key's public half: reported break-glass commands are verified against
   * it before they are stored (AppContext.breakglassVerifier). A private key here is refused.
   */
  readonly breakglassPublicKeyFile?: string;
  /** The installation's Prometheus, for gates with source: prometheus. */
  readonly prometheus?: PrometheusConfig;
  /** How often the incident recorder reads the event log (ms, default 1000). */
  readonly incidentTickMs?: number;
  /** Where incident notices go besides the notifier (tests); called synchronously, must not block. */
  readonly notify?: (n: IncidentNotice) => void;
  /** Outbound notification targets: signed webhooks and Slack incoming webhooks. */
  readonly notifyTargets?: readonly NotifyTarget[];
  /** Vendors' status pages (Statuspage format) to poll for triage. */
  readonly statuspages?: readonly { name: string; url: string }[];
  readonly statuspageIntervalMs?: number;
  /** Per artifact: the validator command run at push (AppContext.validators). */
  readonly validators?: Readonly<Record<string, string>>;
  /** How nodes join the fleet (AppContext.enrolment); default `approval`. */
  readonly enrolment?: 'approval' | 'open';
  /** Called with the admin token of a first start before the server listens, so that whoever it is written for has it once the server answers. */
  readonly onAdminToken?: (token: string) => Promise<void>;
  /** This replica's name in the leases table (default: host, pid and a random suffix, unique per start). */
  readonly replica?: string;
  /** How long a replica holds a rollout without renewing (default 10 s): a dead replica's rollouts move again within it. */
  readonly leaseMs?: number;
  /** On PostgreSQL, how often desired state is read again whatever the change feed said (default 5 s): the safety net under LISTEN/NOTIFY. */
  readonly recheckMs?: number;
  /** The built dashboard's folder; default: found beside the bundle or in the checkout (routes/dashboard.ts); null serves none. */
  readonly dashboard?: string | null;
}

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly controller: Controller;
  readonly incidents: IncidentService;
  /** Set only on the first start of a store: the admin token, shown once. */
  readonly adminToken: string | undefined;
  readonly log: Logger;
  /** Stops taking requests, finishes the ones in flight and closes the store; logs why (`signal`) and when it is done. */
  close(why?: { signal?: string }): Promise<void>;
}

/**
 * Starts the control plane: opens (and migrates) the store, creates the admin token on a
 * first start, resumes every active rollout from the store, and listens.
 */
export async function startServer(opts: ServeOptions = {}): Promise<RunningServer> {
  const log = typeof opts.log === 'object' ? opts.log : serverLog({ level: opts.log ?? 'warn' });
  const { signer, verifier, breakglassVerifier } = await loadKeys(opts);
  // Every store call is timed; every committed event moves the metrics and, if it is a state change, is one log line.
  const store = timedStore(await openStore(parseStoreUrl(opts.store ?? '.failsmall/failsmall.db')), (op, seconds) => metrics.storeCall(op, seconds));
  const hub = new DesiredHub(store);
  const metrics = new ServerMetrics({ store, hub });
  const verdicts = new VerdictChanges();
  store.onCommit((events) => { metrics.committed(events); logCommitted(log, verdicts, events); });
  const clock = opts.clock ?? systemClock;
  // Unique per start: a restarted process is a new holder, so its first write after a takeover is fenced like anyone's.
  const replica = opts.replica ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  let adminToken: string | undefined;
  if ((await store.countTokens('admin')) === 0) {
    adminToken = newToken('admin');
    await store.createToken({ name: 'admin', role: 'admin', hash: hashToken(adminToken) }, clock.now());
    await opts.onAdminToken?.(adminToken);
  }
  await store.listen();
  await hub.refresh();
  const resumed = await store.listRollouts({ active: true });
  metrics.seed(resumed);
  const prometheus = opts.prometheus ? new PrometheusClient(opts.prometheus) : undefined;
  const controller = new Controller({ store, hub, clock, log: log.child({ component: 'controller' }), tickMs: opts.tickMs ?? 250, replica, ...(opts.leaseMs !== undefined ? { leaseMs: opts.leaseMs } : {}), ...(prometheus ? { signals: { prometheus } } : {}) });
  const warn = { warn: (m: string) => { log.warn(m); }, info: (m: string) => { log.info(m); } };
  // Notices are queued in memory and sent in the background: a target that is down never holds up a rollback.
  // They also wait in the store's outbox, so a restart loses none: what the last process left pending goes first.
  const notifier = opts.notifyTargets && opts.notifyTargets.length > 0 ? new Notifier(opts.notifyTargets, { log: warn, outbox: store.outbox }) : undefined;
  await notifier?.resume();
  const notify = (n: IncidentNotice) => {
    metrics.notice(n);
    if (n.kind === 'incident.opened' || n.kind === 'incident.resolved') log.info({ event: n.kind, incident: n.incident.id, severity: n.incident.severity }, n.kind.replace('.', ' '));
    opts.notify?.(n);
    return notifier?.notify(n);
  };
  // Jobs only one replica may run (the incident recorder, recording vendor polls) run under leases.
  const jobs = new LeaseKeeper(store.leases, replica, opts.leaseMs ?? DEFAULT_LEASE_MS, () => clock.now());
  const incidents = new IncidentService(store, { now: () => clock.now(), tickMs: opts.incidentTickMs ?? 1000, log: warn, notify, leases: jobs });
  // A failed rollout or a break-glass command opens or joins an incident at once, not at the next tick.
  store.onCommit((events) => { if (events.some(wakesRecorder)) incidents.poke(); });
  // Another replica's commit (PostgreSQL's NOTIFY): what nodes should run may have changed, a
  // rollout may move, an incident may open. Its own commits this process has acted on already.
  const offChange = store.onChange((c) => {
    if (c.origin === store.origin) return;
    hub.refreshSoon();
    controller.poke();
    if (c.resync || c.types.some(mayWakeRecorder)) incidents.poke();
  });
  // The safety net under the feed: a notice lost with a connection is made good within this.
  const recheck = store.engine === 'postgres' ? setInterval(() => hub.refreshSoon(), opts.recheckMs ?? 5000) : undefined;
  recheck?.unref();
  const poller = opts.statuspages && opts.statuspages.length > 0
    ? new StatuspagePoller(opts.statuspages, { intervalMs: opts.statuspageIntervalMs ?? 60_000, log: warn, onPoll: async (p) => { if (await jobs.hold('job:vendor-polls')) await recordVendorPoll(store, incidents.grouping, p); } })
    : undefined;
  const closing = new AbortController();
  // Every held long-poll listens for the close, and hundreds may be held at once: no listener cap, no warning.
  setMaxListeners(0, closing.signal);
  const app = await buildApp({ store, hub, controller, clock, incidents, metrics, closing: closing.signal, maxArtifactBytes: opts.maxArtifactBytes ?? 16 * 1024 * 1024, maxWaitMs: opts.maxWaitMs ?? 60_000, enrolment: opts.enrolment ?? 'approval', validators: opts.validators ?? {}, ...(prometheus ? { prometheus } : {}), ...(signer ? { signer } : {}), ...(verifier ? { verifier } : {}), ...(breakglassVerifier ? { breakglassVerifier } : {}) }, { log, ...(opts.dashboard !== undefined ? { dashboard: opts.dashboard } : {}) });
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 7070 });
  controller.start();
  incidents.start();
  poller?.start();
  const url = address.replace('[::1]', '127.0.0.1');
  log.info({ event: 'server.started', url, store: store.engine, version: opts.version ?? null, active_rollouts: resumed.length }, 'control plane started');
  return {
    url, app, store, controller, incidents, adminToken, log,
    async close(why = {}) {
      const started = Date.now();
      log.info({ event: 'server.stopping', signal: why.signal ?? null }, 'control plane stopping: finishing requests, closing the store');
      closing.abort(); // long-polls answer now, before the store they would read is closed
      await poller?.stop();
      await incidents.stop();
      await notifier?.close({ drainMs: 2000 });
      await controller.stop();
      offChange();
      if (recheck) clearInterval(recheck);
      await jobs.releaseAll();
      hub.close();
      await app.close();
      await store.close();
      log.info({ event: 'server.stopped', signal: why.signal ?? null, drained: true, took_ms: Date.now() - started }, 'control plane stopped');
    },
  };
}

/** Reads the signing key (and the key that verifies pushed signatures); a bad key stops the start with its reason. */
async function loadKeys(opts: ServeOptions): Promise<{ signer?: KeyObject; verifier?: KeyObject; breakglassVerifier?: KeyObject }> {
  const out: { signer?: KeyObject; verifier?: KeyObject; breakglassVerifier?: KeyObject } = {};
  if (opts.signingKeyFile) {
    const parsed = parsePrivateKey(await readFile(opts.signingKeyFile, 'utf8'));
    if (!parsed.ok) throw new Error(`signing key ${opts.signingKeyFile}: ${parsed.message}`);
    out.signer = parsed.key;
    out.verifier = createPublicKey(parsed.key);
  }
  if (opts.verifyKeyFile) {
    const parsed = parsePublicKey(await readFile(opts.verifyKeyFile, 'utf8'));
    if (!parsed.ok) throw new Error(`verify key ${opts.verifyKeyFile}: ${parsed.message}`);
    out.verifier = parsed.key;
  }
  if (opts.breakglassPublicKeyFile) {
    const key = readBreakglassPublicKey(await readFile(opts.breakglassPublicKeyFile, 'utf8'));
    if (!key.ok) throw new Error(`break-glass public key ${opts.breakglassPublicKeyFile}: ${key.message} [${key.code}]`);
    if (out.verifier?.equals(key.key)) {
      throw new Error(`break-glass public key ${opts.breakglassPublicKeyFile} is the artifact key's: break-glass needs its own key pair (failsmall keys init --name breakglass) [BREAKGLASS_KEY_ON_CONTROL_PLANE]`);
    }
    out.breakglassVerifier = key.key;
  }
  return out;
}

/**
 * Reads the break-glass public key the control plane verifies reports with. node:crypto derives a
 * public key from a private PEM without complaint, so a private key is looked for first and
 * refused: the break-glass private key must never be on the control plane.
 */
export function readBreakglassPublicKey(pem: string): { ok: true; key: KeyObject } | { ok: false; code: 'BREAKGLASS_PRIVATE_KEY' | 'BAD_KEY'; message: string } {
  let isPrivate = false;
  try { createPrivateKey(pem); isPrivate = true; } catch { /* not a private key: good */ }
  if (isPrivate) return { ok: false, code: 'BREAKGLASS_PRIVATE_KEY', message: 'this is a private key; give the control plane only the public half (breakglass.pub) and keep the private key off it' };
  const parsed = parsePublicKey(pem);
  return parsed.ok ? { ok: true, key: parsed.key } : { ok: false, code: 'BAD_KEY', message: parsed.message };
}
