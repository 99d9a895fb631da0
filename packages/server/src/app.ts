import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppContext } from './context.ts';
import { enforceAccess, type RouteAccess } from './http/access.ts';
import { registerErrorHandler } from './http/errors.ts';
import { boundJsonDepth, clientErrorHandler } from './http/hostile-input.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { declarationRoutes } from './routes/declarations.ts';
import { nodeRoutes } from './routes/nodes.ts';
import { eventRoutes } from './routes/events.ts';
import { opsRoutes } from './routes/ops.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { rolloutRoutes } from './routes/rollouts.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { auditRoutes } from './routes/audit.ts';
import { dashboardRoutes, findDashboard } from './routes/dashboard.ts';
import { verdictRoutes } from './routes/verdicts.ts';

export interface AppOptions {
  /** The server's log; none keeps the HTTP layer quiet (tests). */
  readonly log?: Logger;
  /** Filled with every route and the access it declares, as they are registered (the route-table test). */
  readonly routeTable?: RouteAccess[];
  /** The built dashboard's folder (index.html, assets/); default: found beside the bundle or in the checkout; null serves none. */
  readonly dashboard?: string | null;
}

/** Composes the route plugins; each context owns its routes and schemas. */
export async function buildApp(ctx: AppContext, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Requests are not logged: an agent's long-poll every minute and metrics push every few seconds
    // would bury the state changes. Errors (500s) are, by the error handler; its own lines are warn and up.
    ...(opts.log ? { loggerInstance: opts.log.child({ component: 'http' }, { level: atLeastWarn(opts.log.level) }) as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Long-polls hold requests open; keep sockets alive long enough for them.
    keepAliveTimeout: 120_000,
    requestTimeout: 0,
    forceCloseConnections: true,
    clientErrorHandler,
    // The router answers some requests before any route or error handler (a path with broken
    // percent-encoding, a parameter over the length limit): in the API's one error shape too.
    frameworkErrors: (err, _req, reply) => {
      const code = err.code === 'FST_ERR_BAD_URL' ? 'BAD_URL' : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'PARAM_TOO_LONG' : 'BAD_REQUEST';
      void (reply as unknown as FastifyReply).code(err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400)
        .send({ error: { code, message: err.message, hint: 'check the path against docs/api.md' } });
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  boundJsonDepth(app);
  await app.register(async (scope) => {
    // First: the hooks see every route registered after them (and refuse one that declares no access).
    enforceAccess(scope, ctx.store, () => ctx.clock.now(), opts.routeTable);
    await declarationRoutes(scope, ctx);
    await artifactRoutes(scope, ctx);
    await rolloutRoutes(scope, ctx);
    await verdictRoutes(scope, ctx);
    await approvalRoutes(scope, ctx);
    await nodeRoutes(scope, ctx);
    await opsRoutes(scope, ctx);
    await eventRoutes(scope, ctx);
    await incidentRoutes(scope, ctx);
    await auditRoutes(scope, ctx);
    await dashboardRoutes(scope, opts.dashboard === undefined ? findDashboard() : opts.dashboard);
  });
  return app;
}

/** The HTTP layer's level: the server's, but never chattier than warn. */
function atLeastWarn(level: string): string {
  return ['trace', 'debug', 'info'].includes(level) ? 'warn' : level;
}
