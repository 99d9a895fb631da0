import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { personKey } from '@failsmall/core';
import { authenticate, hashToken, newToken } from '../http/auth.ts';
import { ApiError } from '../http/errors.ts';

/** Health, Prometheus metrics about the control plane itself, and token creation. */
export async function opsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'failsmall_server_' });
  new Gauge({
    name: 'failsmall_rollouts', help: 'Rollouts by status (active ones, and the last 1000 finished).', labelNames: ['status', 'artifact'], registers: [registry],
    async collect() {
      this.reset();
      for (const r of await ctx.store.listRollouts({ limit: 1000 })) this.inc({ status: r.status, artifact: r.artifact });
    },
  });
  new Gauge({
    name: 'failsmall_rollout_stage', help: 'Current stage index of each active rollout.', labelNames: ['rollout', 'artifact', 'stage'], registers: [registry],
    async collect() {
      this.reset();
      for (const r of await ctx.store.listRollouts({ active: true })) this.set({ rollout: r.id, artifact: r.artifact, stage: r.policy_spec.stages[r.stage_index]?.name ?? '' }, r.stage_index);
    },
  });
  new Gauge({
    name: 'failsmall_nodes', help: 'Registered nodes.', registers: [registry],
    async collect() { this.set((await ctx.store.listNodes()).length); },
  });
  new Gauge({
    name: 'failsmall_desired_long_polls', help: 'Agents currently holding a desired-state long-poll.', registers: [registry],
    collect() { this.set(ctx.hub.waiting); },
  });

  r.get('/metrics', async (_req, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()));
  r.get('/healthz', async () => ({ ok: true, store: ctx.store.engine }));

  r.post('/v1/tokens', {
    schema: {
      body: z.object({
        name: z.string().min(1).max(100), role: z.enum(['admin', 'agent']),
        // Re-enrols a token that already exists outside this database (a control plane rebuilt after
        // losing its store): the fleet reconnects without touching every node.
        token: z.string().regex(/^fs_(admin|agent)_[A-Za-z0-9_-]{32}$/, 'an existing token looks like fs_agent_ followed by 32 characters').optional(),
      }).refine((b) => b.token === undefined || b.token.startsWith(`fs_${b.role}_`), { message: 'the token\'s prefix does not match its role' }),
    },
  }, async (req, reply) => {
    const caller = await authenticate(ctx.store, req, 'admin');
    // Admin tokens are people: one name, one person, however it is spelt (the four-eyes check compares them).
    if (req.body.role === 'admin' && (await ctx.store.tokenLineage()).has(personKey(req.body.name))) {
      throw new ApiError(409, 'TOKEN_NAME_TAKEN', `an admin token named ${JSON.stringify(req.body.name)} exists already (names are compared without case, spacing or width)`, 'give each person one admin token, under their own name');
    }
    const token = req.body.token ?? newToken(req.body.role);
    await ctx.store.createToken({ name: req.body.name, role: req.body.role, hash: hashToken(token), created_by: caller.name }, ctx.clock.now());
    await ctx.store.appendEvents([{ type: 'token.created', at: ctx.clock.now(), rollout_id: null, payload: { name: req.body.name, role: req.body.role, actor: caller.name } }]);
    return reply.code(201).send({ name: req.body.name, role: req.body.role, token, note: 'shown once: only its hash is stored' });
  });

  r.get('/v1/events', { schema: { querystring: z.object({ after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(), limit: z.coerce.number().int().min(1).max(5000).optional() }) } }, async (req) => ({
    events: await ctx.store.listEvents({ afterSeq: req.query.after ?? 0, limit: req.query.limit ?? 1000 }),
  }));
}
