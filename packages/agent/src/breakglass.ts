import { chmod, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { dirname, join } from 'node:path';
import {
  checkEnvelope, MAX_ENVELOPE_BYTES, parseAdminAddress, parseEnvelope, parsePublicKey, parsePublicKeys,
  type BreakglassCommand, type Pin, type RefusalCode,
} from '@failsmall/core';
import type { BreakglassActions, BreakglassOutcome } from './breakglass-actions.ts';
import type { BreakglassLog, BreakglassLogEntry } from './breakglass-log.ts';
import { writeAtomic } from './files.ts';
import type { AgentLog } from './log.ts';

/** Refusals logged one by one per minute before they are only counted (see #logRefusal). */
export const REFUSALS_LOGGED = 20;

export interface BreakglassServiceOptions {
  /** PEM of the break-glass key's public half. Never the artifact key: the agent checks they differ. */
  readonly publicKey: string;
  /** The artifact key's PEM, to refuse a setup where the two are the same key. */
  readonly artifactPublicKey?: string;
  /** `host:port` or `unix:/path`; default `unix:<dir>/.breakglass/admin.sock` (a dot-directory: no artifact name can reach it). */
  readonly listen?: string;
  /**
   * Source networks allowed to reach a TCP admin endpoint (CIDR). Default loopback only: an
   * endpoint moved to an out-of-band network must name that network explicitly.
   */
  readonly allow?: readonly string[];
  /** A directory the agent watches for command files (`--via-file`), for fleets where only file distribution survives. */
  readonly watchDir?: string;
  /** How often the directory is scanned (ms). */
  readonly watchIntervalMs?: number;
}

/** HTTP status for each refusal, as the admin endpoint answers it. */
const STATUS: Record<RefusalCode | 'FORBIDDEN_SOURCE', number> = {
  MALFORMED: 400, TOO_LARGE: 413, BAD_SIGNATURE: 401, EXPIRED: 410, NOT_YET_VALID: 425, LIFETIME_TOO_LONG: 400,
  WRONG_NODE: 403, REPLAYED_NONCE: 409, FORBIDDEN_SOURCE: 403,
};

export interface HandleResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** What the admin endpoint needs of the node it serves (the Agent is one). */
export interface BreakglassNode {
  readonly nodeId: string;
  readonly breakglassLog: BreakglassLog;
  readonly breakglass: Pick<BreakglassActions, 'pin' | 'lkg' | 'killSwitch' | 'unpin' | 'drill'>;
  pins(): Pin[];
  serving(): Record<string, string | null>;
  states(): Record<string, string>;
  /** Desired-state answers acted on since the agent started (a drill or a test sees the node is alive and following). */
  readonly polls: number;
  /** ms since the node last heard from the control plane (0 before the first contact). */
  readonly msSinceContact: number;
  /** After every command: report the pins now, not at the next poll. */
  breakglassChanged(): void;
}

/**
 * The agent's break-glass side: an admin endpoint (loopback or a unix socket by default) and,
 * optionally, a watched directory. Both hand a signed envelope to `handle`, which verifies it
 * with the break-glass key, logs it to the node's append-only log whatever the outcome, and
 * carries it out. Nothing here needs the control plane.
 */
export class BreakglassService {
  readonly #agent: BreakglassNode;
  readonly #o: BreakglassServiceOptions;
  readonly #log: AgentLog;
  readonly #key: NonNullable<ReturnType<typeof parsePublicKey> & { ok: true }>['key'];
  readonly #allow = new BlockList();
  #server: Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  /** One command at a time: two pins racing on one artifact would leave it undefined which won. */
  #queue: Promise<unknown> = Promise.resolve();
  /** A TCP endpoint: every peer must have an address in the allow list (a unix socket has none). */
  #tcp = false;
  /** When each refused peer was last logged: a scan of the endpoint must not fill the node's log. */
  readonly #refusedLogged = new Map<string, number>();
  address = '';

  constructor(agent: BreakglassNode, opts: BreakglassServiceOptions, log: AgentLog) {
    this.#agent = agent;
    this.#o = opts;
    this.#log = log;
    const key = parsePublicKey(opts.publicKey);
    if (!key.ok) throw new Error(`break-glass public key: ${key.message}`);
    if (opts.artifactPublicKey !== undefined) {
      const art = parsePublicKeys(opts.artifactPublicKey);
      if (art.ok && art.keys.some((k) => k.equals(key.key))) throw new Error('the break-glass key is the artifact key: break-glass needs its own key pair (failsmall keys init --name breakglass)');
    }
    this.#key = key.key;
    for (const cidr of opts.allow ?? ['127.0.0.0/8', '::1/128']) {
      const [net, bits] = cidr.split('/');
      const family = isIP(net ?? '');
      if (!net || family === 0 || bits === undefined || !/^\d+$/.test(bits)) throw new Error(`--admin-allow: "${cidr}" is not a CIDR block (e.g. 10.0.0.0/8)`);
      this.#allow.addSubnet(net, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  async start(): Promise<void> {
    const listen = this.#o.listen ?? `unix:${join(this.#agentDir(), '.breakglass', 'admin.sock')}`;
    const address = parseAdminAddress(listen);
    if (!address) throw new Error(`--admin-listen: "${listen}" is not host:port or unix:/path`);
    this.#tcp = address.kind === 'tcp';
    const server = createServer((req, res) => { void this.#serve(req, res); });
    server.requestTimeout = 30_000;
    if (address.kind === 'unix') {
      await mkdir(dirname(address.path), { recursive: true });
      await rm(address.path, { force: true }); // a socket file left by a killed agent
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(address.path, resolve); });
      await chmod(address.path, 0o600); // only the agent's user (and root) may speak to it
      this.address = `unix:${address.path}`;
    } else {
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(address.port, address.host, resolve); });
      const a = server.address();
      this.address = typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : listen;
    }
    this.#server = server;
    this.#log.info(`break-glass admin endpoint on ${this.address}`);
    if (this.#o.watchDir) {
      const every = this.#o.watchIntervalMs ?? 1000;
      const tick = () => {
        this.#scanning = this.#scan().catch((err) => this.#log.warn(`break-glass directory ${this.#o.watchDir}: ${err instanceof Error ? err.message : String(err)}`))
          .finally(() => { if (this.#server) this.#timer = setTimeout(tick, every); });
      };
      tick();
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    const server = this.#server;
    this.#server = undefined;
    await this.#scanning;
    if (server) await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
  }

  /** Verifies, logs and carries out one envelope. Serialised: commands act one after another. */
  handle(text: string, via: string): Promise<HandleResult> {
    // The node's clock as the command arrived, before any queueing: every answer carries it, so the
    // operator can see a node's skew even when the node refuses the command because of it.
    const arrived = new Date().toISOString();
    const run = this.#queue.then(() => this.#handle(text, via)).then((r) => ({ ...r, body: { ...r.body, now: arrived } }));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Refusals are logged one by one up to REFUSALS_LOGGED a minute; past that they are counted, and
   * the next refusal after the minute logs one summary line. Every caller still gets its answer:
   * the limit is on what a flood of garbage can write to the node's log and, through it, to the
   * control plane's event log (300 garbage commands once made 300 lines and 316 events).
   */
  #refusals = { start: 0, logged: 0, unlogged: 0 };

  async #logRefusal(entry: Omit<BreakglassLogEntry, 'seq'> & { code: string; message: string }): Promise<void> {
    const now = Date.now();
    const w = this.#refusals;
    if (now - w.start >= 60_000) {
      if (w.unlogged > 0) {
        await this.#agent.breakglassLog.append({
          at: new Date().toISOString(), node: this.#agent.nodeId, outcome: 'refused', code: 'REFUSALS_SUMMARISED', via: 'admin endpoint',
          message: `${w.unlogged} more command(s) refused between ${new Date(w.start).toISOString()} and now, not logged one by one (over ${REFUSALS_LOGGED} a minute)`,
        });
        this.#log.warn(`break-glass: ${w.unlogged} more refused command(s) in the last minute were not logged one by one`);
      }
      this.#refusals = { start: now, logged: 0, unlogged: 0 };
    }
    if (this.#refusals.logged >= REFUSALS_LOGGED) { this.#refusals.unlogged++; return; }
    this.#refusals.logged++;
    await this.#agent.breakglassLog.append(entry);
    this.#log.warn(`break-glass command refused (${entry.code}) via ${entry.via}: ${entry.message}`);
    this.#agent.breakglassChanged();
  }

  async #handle(text: string, via: string): Promise<HandleResult> {
    const nodeId = this.#agent.nodeId;
    const log = this.#agent.breakglassLog;
    const envelope = parseEnvelope(text);
    const checked = envelope.ok
      ? checkEnvelope(envelope.value, { publicKey: this.#key, nodeId, now: Date.now(), seen: (n) => log.seen(n) })
      : envelope;
    if (!checked.ok) {
      // A refusal carries the command only when its signature verified: then the envelope goes with it, so the
      // control plane can check the entry against what the operator signed. Garbage carries none.
      const c = 'command' in checked ? checked.command : undefined;
      await this.#logRefusal({
        at: new Date().toISOString(), node: nodeId, outcome: 'refused', code: checked.refusal.code, message: checked.refusal.message, via,
        ...(c && envelope.ok ? { ...describeCommand(c), envelope: envelope.value } : {}),
      });
      return { status: STATUS[checked.refusal.code], body: { error: { code: checked.refusal.code, message: checked.refusal.message, hint: checked.refusal.hint }, node: nodeId } };
    }
    const c = checked.value;
    await log.spend(c.nonce);
    const outcome = await this.#enact(c);
    const drill = outcome.ok ? outcome.drill : undefined;
    await log.append({
      at: new Date().toISOString(), node: nodeId, outcome: !outcome.ok ? 'refused' : drill ? 'checked' : 'applied', via, ...describeCommand(c),
      message: outcome.message, ...(outcome.ok ? {} : { code: outcome.code }), ...(outcome.result ? { result: outcome.result } : {}), ...(drill ? { drill } : {}),
      // The bytes the operator signed: the control plane stores this entry only if they verify and say the same (docs/breakglass.md).
      ...(envelope.ok ? { envelope: envelope.value } : {}),
    });
    this.#agent.breakglassChanged();
    if (!outcome.ok) return { status: 422, body: { error: { code: outcome.code, message: outcome.message, hint: outcome.hint }, node: nodeId, result: outcome.result ?? [] } };
    return {
      status: 200,
      body: {
        ok: true, node: nodeId, action: c.action, target: c.target, message: outcome.message, result: outcome.result, pins: this.#agent.pins(),
        ...(drill ? { drill } : {}),
      },
    };
  }

  async #tooLarge(via: string): Promise<HandleResult> {
    const message = `the command is over ${MAX_ENVELOPE_BYTES} bytes`;
    await this.#logRefusal({ at: new Date().toISOString(), node: this.#agent.nodeId, outcome: 'refused', code: 'TOO_LARGE', message, via });
    return { status: 413, body: { error: { code: 'TOO_LARGE', message, hint: 'pin a version already on the node instead of sending its content' }, node: this.#agent.nodeId } };
  }

  #enact(c: BreakglassCommand): Promise<BreakglassOutcome> {
    const actor = { operator: c.operator, reason: c.reason, nonce: c.nonce };
    switch (c.action) {
      case 'pin': {
        const supplied = c.content !== undefined && c.sha256 !== undefined && c.artifact_signature !== undefined
          ? { content: Buffer.from(c.content, 'base64'), sha256: c.sha256, signature: c.artifact_signature } : undefined;
        return this.#agent.breakglass.pin(c.target, c.version as string, supplied, actor);
      }
      case 'lkg': return this.#agent.breakglass.lkg(c.target, actor);
      case 'kill-switch': return this.#agent.breakglass.killSwitch(c.target, actor);
      case 'unpin': return this.#agent.breakglass.unpin(c.target, actor);
      case 'drill': return this.#agent.breakglass.drill(c.target);
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    try {
      const remote = req.socket.remoteAddress;
      // On a unix socket the file mode is the guard. On TCP every peer must be in the allow list, and a
      // peer whose address is unknown (a connection reset before we looked) is refused, never taken for local.
      if (this.#tcp && (remote === undefined || !this.#allowed(remote))) {
        const who = remote ?? 'an unknown address';
        const message = `the admin endpoint does not accept connections from ${who}`;
        const last = this.#refusedLogged.get(who) ?? 0;
        if (Date.now() - last >= 60_000) {
          if (this.#refusedLogged.size > 1000) this.#refusedLogged.clear();
          this.#refusedLogged.set(who, Date.now());
          await this.#agent.breakglassLog.append({ at: new Date().toISOString(), node: this.#agent.nodeId, outcome: 'refused', code: 'FORBIDDEN_SOURCE', message: `${message} (logged once a minute per address)`, via: `http ${who}` });
          this.#log.warn(`break-glass: ${message}`);
        }
        req.resume();
        return send(403, { error: { code: 'FORBIDDEN_SOURCE', message, hint: 'reach it from the node itself, or start the agent with --admin-allow CIDR for an out-of-band network' } });
      }
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/v1/breakglass' && req.method === 'GET') {
        return send(200, { node: this.#agent.nodeId, pins: this.#agent.pins(), serving: this.#agent.serving(), states: this.#agent.states(), polls: this.#agent.polls, ms_since_contact: this.#agent.msSinceContact });
      }
      if (path === '/v1/breakglass/log' && req.method === 'GET') {
        return send(200, { node: this.#agent.nodeId, entries: this.#agent.breakglassLog.entries() });
      }
      if (path !== '/v1/breakglass') return send(404, { error: { code: 'NOT_FOUND', message: `no ${req.method} ${path} here`, hint: 'POST /v1/breakglass with a signed command; GET /v1/breakglass for pins' } });
      if (req.method !== 'POST') return send(405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} ${path}`, hint: 'POST a signed command' } });
      const body = await readBody(req, MAX_ENVELOPE_BYTES);
      const r = body === undefined ? await this.#tooLarge(`http ${remote ?? 'unix'}`) : await this.handle(body, `http ${remote ?? 'unix'}`);
      return send(r.status, r.body);
    } catch (err) {
      this.#log.warn(`break-glass endpoint: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(500, { error: { code: 'INTERNAL', message: 'the agent failed to handle the command; see its log', hint: 'retry, or use --via-file' } });
    }
  }

  #allowed(remote: string): boolean {
    const v4 = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
    const family = isIP(v4);
    return family !== 0 && this.#allow.check(v4, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Carries out each new command file once; the log remembers which were done, across restarts. */
  async #scan(): Promise<void> {
    const dir = this.#o.watchDir as string;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      if (!this.#server || this.#agent.breakglassLog.fileDone(name)) continue;
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      // A file still being written (a copy in progress) is left for the next scan.
      if (!info?.isFile() || Date.now() - info.mtimeMs < 300) continue;
      let r: HandleResult;
      if (info.size > MAX_ENVELOPE_BYTES) {
        r = await this.#tooLarge(`file ${name}`);
      } else {
        const text = await readFile(path, 'utf8');
        // A file that does not parse yet may still be arriving (a copy without a rename): give it 10 s before refusing it for good.
        if (!parseEnvelope(text).ok && Date.now() - info.mtimeMs < 10_000) continue;
        r = await this.handle(text, `file ${name}`);
      }
      // A receipt beside the agent's own state: file distribution is one-way, the receipt is for whoever inspects the node.
      await writeAtomic(join(this.#agentDir(), '.breakglass', 'receipts', `${name}`), `${JSON.stringify({ status: r.status, ...r.body })}\n`);
    }
  }

  #agentDir(): string {
    return dirname(dirname(this.#agent.breakglassLog.path));
  }
}

function describeCommand(c: BreakglassCommand): Record<string, string> {
  return {
    action: c.action, target: c.target, ...(c.version !== undefined ? { version: c.version } : {}),
    operator: c.operator, reason: c.reason, nonce: c.nonce, issued_at: c.issued_at, expires_at: c.expires_at,
  };
}

/** The request body as text, or undefined past `limit` bytes (the rest is drained, not buffered). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { over = true; chunks.length = 0; return; }
      if (!over) chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
