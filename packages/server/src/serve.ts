import type { FastifyInstance } from 'fastify';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parsePrivateKey, parsePublicKey } from '@failsmall/core';
import { pino } from 'pino';
import { buildApp } from './app.ts';
import { Controller, systemClock, type Clock } from './controller/controller.ts';
import { PrometheusClient, type PrometheusConfig } from './signals/index.ts';
import { DesiredHub } from './desired/hub.ts';
import { hashToken, newToken } from './http/auth.ts';
import { openStore, parseStoreUrl } from './store/index.ts';
import type { Store } from './store/types.ts';

export interface ServeOptions {
  /** `sqlite:PATH`, a file path, or `postgres://…`. Default `.failsmall/failsmall.db`. */
  readonly store?: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly clock?: Clock;
  readonly tickMs?: number;
  readonly logger?: boolean | { level: string };
  readonly maxArtifactBytes?: number;
  readonly maxWaitMs?: number;
  /** Path of the artifact signing key (PEM, ed25519; failsmall keys init writes it). */
  readonly signingKeyFile?: string;
  /** Path of a public key that pushed signatures must verify against (default: the signing key's). */
  readonly verifyKeyFile?: string;
  /** The installation's Prometheus, for gates with source: prometheus. */
  readonly prometheus?: PrometheusConfig;
}

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly controller: Controller;
  /** Set only on the first start of a store: the admin token, shown once. */
  readonly adminToken: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts the control plane: opens (and migrates) the store, creates the admin token on a
 * first start, resumes every active rollout from the store, and listens.
 */
export async function startServer(opts: ServeOptions = {}): Promise<RunningServer> {
  const { signer, verifier } = await loadKeys(opts);
  const store = await openStore(parseStoreUrl(opts.store ?? '.failsmall/failsmall.db'));
  const clock = opts.clock ?? systemClock;
  let adminToken: string | undefined;
  if ((await store.countTokens('admin')) === 0) {
    adminToken = newToken('admin');
    await store.createToken({ name: 'admin', role: 'admin', hash: hashToken(adminToken) }, clock.now());
  }
  const hub = new DesiredHub(store);
  await hub.refresh();
  const prometheus = opts.prometheus ? new PrometheusClient(opts.prometheus) : undefined;
  const controller = new Controller({ store, hub, clock, log: pino({ level: 'warn' }, pino.destination(2)), tickMs: opts.tickMs ?? 250, ...(prometheus ? { signals: { prometheus } } : {}) });
  const app = await buildApp({ store, hub, controller, clock, maxArtifactBytes: opts.maxArtifactBytes ?? 16 * 1024 * 1024, maxWaitMs: opts.maxWaitMs ?? 60_000, ...(prometheus ? { prometheus } : {}), ...(signer ? { signer } : {}), ...(verifier ? { verifier } : {}) }, { logger: opts.logger ?? false });
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 7070 });
  controller.start();
  return {
    url: address.replace('[::1]', '127.0.0.1'), app, store, controller, adminToken,
    async close() {
      await controller.stop();
      hub.close();
      await app.close();
      await store.close();
    },
  };
}

/** Reads the signing key (and the key that verifies pushed signatures); a bad key stops the start with its reason. */
async function loadKeys(opts: ServeOptions): Promise<{ signer?: KeyObject; verifier?: KeyObject }> {
  const out: { signer?: KeyObject; verifier?: KeyObject } = {};
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
  return out;
}
