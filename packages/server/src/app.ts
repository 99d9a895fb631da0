import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppContext } from './context.ts';
import { enforceAccess, type RouteAccess } from './http/access.ts';
import { registerErrorHandler } from './http/errors.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { declarationRoutes } from './routes/declarations.ts';
import { nodeRoutes } from './routes/nodes.ts';
import { opsRoutes } from './routes/ops.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { rolloutRoutes } from './routes/rollouts.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { auditRoutes } from './routes/audit.ts';

export interface AppOptions {
  /** pino options, or false to keep the server quiet (tests, demo). */
  readonly logger: boolean | { level: string };
  /** Filled with every route and the access it declares, as they are registered (the route-table test). */
  readonly routeTable?: RouteAccess[];
}

/** Composes the route plugins; each context owns its routes and schemas. */
export async function buildApp(ctx: AppContext, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger,
    bodyLimit: 1024 * 1024,
    // Long-polls hold requests open; keep sockets alive long enough for them.
    keepAliveTimeout: 120_000,
    requestTimeout: 0,
    forceCloseConnections: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  await app.register(async (scope) => {
    // First: the hooks see every route registered after them (and refuse one that declares no access).
    enforceAccess(scope, ctx.store, () => ctx.clock.now(), opts.routeTable);
    await declarationRoutes(scope, ctx);
    await artifactRoutes(scope, ctx);
    await rolloutRoutes(scope, ctx);
    await approvalRoutes(scope, ctx);
    await nodeRoutes(scope, ctx);
    await opsRoutes(scope, ctx);
    await incidentRoutes(scope, ctx);
    await auditRoutes(scope, ctx);
  });
  return app;
}
