import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Change } from '../store/change-feed.ts';
import type { EventFilter } from '../store/types.ts';

const Seq = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const EventsQuery = z.object({
  after: Seq.optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
  rollout: z.string().min(1).max(100).optional(),
  /** A prefix of the type: `rollout.` for every rollout transition, `gates.evaluated` for one type. */
  type: z.string().min(1).max(100).regex(/^[a-z0-9_.]+$/, 'an event type or its prefix: lower-case letters, digits, "_" and "."').optional(),
  /** Epoch ms: events at or after it. */
  since: Seq.optional(),
  /** The newest `limit` matching events (still oldest first), instead of the oldest after `after`. */
  newest: z.enum(['true', 'false']).optional(),
  /** Long-poll: when nothing matches yet, wait up to this long for an event that does. */
  wait: z.coerce.number().int().min(0).max(60_000).optional(),
});

/** How often a long-poll reads the store again for events the controller did not write. */
const RECHECK_MS = 1000;

/** The event log, filtered and followed: `failsmall events [--follow]`. */
export async function eventRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/v1/events', { config: { access: 'viewer' }, schema: { querystring: EventsQuery } }, async (req) => {
    const q = req.query;
    const filter: EventFilter = {
      afterSeq: q.after ?? 0, limit: q.limit ?? 1000,
      ...(q.rollout !== undefined ? { rolloutId: q.rollout } : {}),
      ...(q.type !== undefined ? { typePrefix: q.type } : {}),
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.newest === 'true' ? { newest: true } : {}),
    };
    let events = await ctx.store.listEvents(filter);
    const until = Date.now() + Math.min(q.wait ?? 0, ctx.maxWaitMs);
    // A matching commit, here or on another replica, ends the wait at once; the store is read
    // again every RECHECK_MS as well, in case a notice was lost with a connection.
    while (events.length === 0 && Date.now() < until) {
      await nextEvents(ctx, Math.min(RECHECK_MS, until - Date.now()), (c) => (q.rollout === undefined || c.rollouts.includes(q.rollout)) && (q.type === undefined || c.types.some((t) => t.startsWith(q.type ?? ''))));
      if (ctx.closing?.aborted) break;
      events = await ctx.store.listEvents(filter);
    }
    return { events };
  });
}

/**
 * Resolves when a commit that `matches` lands (by this process or, on PostgreSQL, another
 * replica; a resync of the change feed matches everything), or after `waitMs`: a long-poll
 * answers at once instead of on the next poll.
 */
export function nextEvents(ctx: AppContext, waitMs: number, matches: (c: Change) => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ctx.closing?.aborted) { resolve(); return; }
    const timer = setTimeout(done, waitMs);
    const off = ctx.store.onChange((c) => { if (c.resync || matches(c)) done(); });
    // A stopping server ends every wait at once (the caller then reads nothing more).
    ctx.closing?.addEventListener('abort', done, { once: true });
    function done() { clearTimeout(timer); off(); ctx.closing?.removeEventListener('abort', done); resolve(); }
  });
}
