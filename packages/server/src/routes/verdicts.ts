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
 * latest verdicts; the log holds every one. Without `after`, the newest `limit` evaluations;
 * with it, those after that seq, oldest first, so that an open page reads only what is new
 * (`last_seq` is where to go on from).
 */
export async function verdictRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/v1/rollouts/:id/verdicts', {
    config: { access: 'viewer' },
    schema: { params: z.object({ id: z.string().min(1).max(100) }), querystring: z.object({
      limit: z.coerce.number().int().min(1).max(MAX_EVALUATIONS).optional(),
      after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    }) },
  }, async (req) => {
    const state = await ctx.store.getRollout(req.params.id);
    if (!state) throw notFound('rollout', req.params.id, 'failsmall rollout status lists rollouts');
    const after = req.query.after;
    const events = await ctx.store.listEvents({ rolloutId: state.id, types: ['gates.evaluated'], afterSeq: after ?? 0, limit: req.query.limit ?? MAX_EVALUATIONS, ...(after === undefined ? { newest: true } : {}) });
    const verdicts = events.flatMap((e) => (e.payload.verdicts as Verdict[] | undefined) ?? []);
    const last_seq = events.reduce((m, e) => Math.max(m, e.seq), after ?? 0);
    return { verdicts, evaluations: events.length, last_seq, now: ctx.clock.now() };
  });
}
