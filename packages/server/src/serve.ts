import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from './app.ts';
import { Controller, systemClock, type Clock } from './controller/controller.ts';
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
  const store = await openStore(parseStoreUrl(opts.store ?? '.failsmall/failsmall.db'));
  const clock = opts.clock ?? systemClock;
  let adminToken: string | undefined;
  if ((await store.countTokens('admin')) === 0) {
    adminToken = newToken('admin');
    await store.createToken({ name: 'admin', role: 'admin', hash: hashToken(adminToken) }, clock.now());
  }
  const hub = new DesiredHub(store);
  await hub.refresh();
  const controller = new Controller({ store, hub, clock, log: pino({ level: 'warn' }, pino.destination(2)), tickMs: opts.tickMs ?? 250 });
  const app = await buildApp({ store, hub, controller, clock, maxArtifactBytes: opts.maxArtifactBytes ?? 16 * 1024 * 1024, maxWaitMs: opts.maxWaitMs ?? 60_000 }, { logger: opts.logger ?? false });
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
