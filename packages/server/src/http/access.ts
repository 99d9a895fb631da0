import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Store, TokenRole } from '../store/types.ts';
import { authenticate, authenticateNode, type Caller } from './auth.ts';

/**
 * What a route needs from its caller, declared in the route's own definition
 * (`config: { access: 'deployer' }`). `public` routes need nothing (health, the control plane's
 * own Prometheus metrics); `node` routes speak for the node in the `:id` path parameter (its own
 * credential, the fleet token for a node not yet bound, or an admin).
 */
export type Access = 'public' | 'node' | TokenRole;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** Who made the call: set before the body is read, for every route that is not public. */
    caller?: Caller;
  }
}

/**
 * Registers the two hooks that make access a property of the route table rather than of each
 * handler: `onRoute` refuses to build an app with a route that declares no access (a new route
 * cannot ship open by mistake), and `onRequest` authenticates before the body is read or parsed
 * (an unauthenticated caller cannot make the server read 16 MiB, or write an event).
 */
export interface RouteAccess {
  readonly method: string;
  readonly url: string;
  readonly access: Access;
}

export function enforceAccess(app: FastifyInstance, store: Store, now: () => number, table?: RouteAccess[]): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const access = (route.config as { access?: Access } | undefined)?.access;
    // HEAD routes are made by Fastify from GET routes and carry their config.
    if (access === undefined) throw new Error(`route ${String(route.method)} ${route.url} declares no access (config: { access: … })`);
    table?.push({ method: String(route.method), url: route.url, access });
  });
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    // Unknown URLs fall to the not-found handler, which has no config: a 404 leaks nothing.
    if (access === undefined || access === 'public') return;
    req.caller = access === 'node'
      ? await authenticateNode(store, req, nodeParam(req), now())
      : await authenticate(store, req, access, now());
  });
}

/** The caller a non-public route was authenticated as (the onRequest hook always sets it). */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw new Error(`route ${req.routeOptions.url ?? req.url} read its caller but declares public access`);
  return req.caller;
}

function nodeParam(req: FastifyRequest): string {
  const id = (req.params as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : '';
}
