import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.ts';
import { describeVerdict, type ChainVerdict } from '../store/event-chain.ts';

/**
 * The event log's hash chain, checked by the control plane itself (`failsmall audit verify`
 * checks a store, or a copy, without it). Answers 200 either way: `ok` says whether the chain
 * is intact, `first_broken` names the first broken link, `message` says it in a sentence.
 */
export async function auditRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // One walk at a time: callers that ask while one runs share its answer (a walk reads the whole log).
  let running: Promise<ChainVerdict> | undefined;

  r.get('/v1/audit/verify', { config: { access: 'viewer' } }, async () => {
    running ??= ctx.store.verifyEvents().finally(() => { running = undefined; });
    const verdict = await running;
    return { ...verdict, message: describeVerdict(verdict) };
  });
}
