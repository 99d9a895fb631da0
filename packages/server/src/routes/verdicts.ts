import type { Verdict } from '@failsmall/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { notFound } from '../http/errors.ts';

/** The most evaluations one answer holds: the newest, enough for a chart of a long bake. */
const MAX_EVALUATIONS = 5000;

/**
 * A rollout's gate verdicts over time, from its `gates.evaluated` events: what the dashboard
 * charts (value against baseline and threshold, per gate and stage). The state holds only the
 * latest verdicts; the log holds every one.
 */
export async function verdictRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/v1/rollouts/:id/verdicts', {
    config: { access: 'viewer' },
    schema: { params: z.object({ id: z.string().min(1).max(100) }), querystring: z.object({ limit: z.coerce.number().int().min(1).max(MAX_EVALUATIONS).optional() }) },
  }, async (req) => {
    const state = await ctx.store.getRollout(req.params.id);
    if (!state) throw notFound('rollout', req.params.id, 'failsmall rollout status lists rollouts');
    const events = await ctx.store.listEvents({ rolloutId: state.id, types: ['gates.evaluated'], afterSeq: 0, newest: true, limit: req.query.limit ?? MAX_EVALUATIONS });
    const verdicts = events.flatMap((e) => (e.payload.verdicts as Verdict[] | undefined) ?? []);
    return { verdicts, evaluations: events.length, now: ctx.clock.now() };
  });
}
