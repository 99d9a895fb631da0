import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { personKey } from '@failsmall/core';
import { callerOf } from '../http/access.ts';
import { forgetToken, grants, hashToken, newToken } from '../http/auth.ts';
import { TOKEN_ROLES } from '../store/types.ts';
import { ApiError, notFound } from '../http/errors.ts';

/** Health, Prometheus metrics about the control plane itself (telemetry/metrics.ts), and token creation. */
export async function opsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/metrics', { config: { access: 'public' } }, async (_req, reply) => reply.header('content-type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
  r.get('/healthz', { config: { access: 'public' } }, async () => ({ ok: true, store: ctx.store.engine }));

  /**
   * This replica, among those sharing one store: its name, whether it hears the others' commits
   * (PostgreSQL's LISTEN; always on SQLite), and the rollouts whose controller work it holds.
   */
  r.get('/v1/replica', { config: { access: 'viewer' } }, async () => ({
    replica: ctx.controller.leases.holder, store: ctx.store.engine, hearing: ctx.store.hearing,
    lease_ms: ctx.controller.leases.ttlMs, rollouts: ctx.controller.held(),
  }));

  /**
   * Who the token is and what it may do: the dashboard shows only the actions its role allows. `grants`:
   * every role whose routes it may call (an approver's includes deployer and viewer).
   */
  r.get('/v1/whoami', { config: { access: 'viewer' } }, async (req) => {
    const caller = callerOf(req);
    return { name: caller.name, role: caller.role, grants: TOKEN_ROLES.filter((role) => grants(caller.role, role)) };
  });

  r.post('/v1/tokens', {
    config: { access: 'admin' },
    schema: {
      body: z.object({
        name: z.string().min(1).max(100), role: z.enum(TOKEN_ROLES),
        // Re-enrols a token that already exists outside this database (a control plane rebuilt after
        // losing its store): the fleet reconnects without touching every node.
        token: z.string().regex(/^fs_[a-z]+_[A-Za-z0-9_-]{32}$/, 'an existing token looks like fs_agent_ followed by 32 characters').optional(),
        /** Seconds from now until the token stops working; none means it lives until revoked. */
        expires_in_s: z.number().int().min(60).max(10 * 365 * 86_400).optional(),
        /** Join tokens: how many nodes it may admit; none means no limit (until it expires or is revoked). */
        uses: z.number().int().min(1).max(1_000_000).optional(),
      }).strict()
        .refine((b) => b.token === undefined || b.token.startsWith(`fs_${b.role}_`), { message: 'the token\'s prefix does not match its role' })
        .refine((b) => b.uses === undefined || b.role === 'join', { message: 'only a join token has uses' }),
    },
  }, async (req, reply) => {
    const caller = callerOf(req);
    // Admin tokens are people: one name, one person, however it is spelt (the four-eyes check compares them).
    if (req.body.role === 'admin' && (await ctx.store.tokenLineage()).has(personKey(req.body.name))) {
      throw new ApiError(409, 'TOKEN_NAME_TAKEN', `an admin token named ${JSON.stringify(req.body.name)} exists already (names are compared without case, spacing or width)`, 'give each person one admin token, under their own name');
    }
    const now = ctx.clock.now();
    const token = req.body.token ?? newToken(req.body.role);
    const expires_at = req.body.expires_in_s === undefined ? null : now + req.body.expires_in_s * 1000;
    const uses_left = req.body.uses ?? null;
    const hash = hashToken(token);
    try {
      await ctx.store.createToken({ name: req.body.name, role: req.body.role, hash, created_by: caller.name, expires_at, uses_left }, now);
    } catch (err) {
      // Only a token given to re-enrol can collide (a new one is 24 random bytes): one this store holds already, live or revoked.
      if (req.body.token !== undefined) throw new ApiError(409, 'TOKEN_EXISTS', 'this token is in the store already (enrolled, or revoked: a revoked token cannot come back)', 'failsmall token list shows it');
      throw err;
    }
    await ctx.store.appendEvents([{ type: 'token.created', at: now, rollout_id: null, payload: { name: req.body.name, role: req.body.role, actor: caller.name, expires_at, uses: uses_left } }]);
    return reply.code(201).send({ name: req.body.name, role: req.body.role, token, expires_at, uses: uses_left, note: 'shown once: only its hash is stored' });
  });

  /** Every token, live or not: name, role, who made it, when it expires or was revoked. Never a token or its full hash. */
  r.get('/v1/tokens', { config: { access: 'admin' } }, async () => ({ tokens: await ctx.store.listTokens() }));

  r.post('/v1/tokens/:name/revoke', { config: { access: 'admin' }, schema: { params: z.object({ name: z.string().min(1).max(100) }) } }, async (req) => {
    const caller = callerOf(req);
    const live = (await ctx.store.listTokens()).filter((t) => t.revoked_at === null);
    if (live.some((t) => t.name === req.params.name && t.role === 'admin') && !live.some((t) => t.name !== req.params.name && t.role === 'admin')) {
      throw new ApiError(409, 'LAST_ADMIN', 'this is the last live admin token: revoking it would lock every admin out', 'create another admin token first (failsmall token create NAME --role admin)');
    }
    const revoked = await ctx.store.revokeTokens(req.params.name, caller.name, ctx.clock.now());
    if (revoked === 0) throw notFound('live token', req.params.name, 'failsmall token list shows the tokens and which are live');
    forgetToken(ctx.store, req.params.name);
    return { revoked, name: req.params.name };
  });
}
