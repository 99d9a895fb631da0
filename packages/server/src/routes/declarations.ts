import { parseDeclarations } from '@failsmall/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { authenticate } from '../http/auth.ts';
import { invalidDeclarations, notFound } from '../http/errors.ts';

const ApplyBody = z.object({
  text: z.string().describe('the YAML declarations file'),
  file: z.string().max(4096).optional().describe('its name, for error positions'),
  dry_run: z.boolean().optional(),
});

/** `failsmall apply`: modules, artifacts and policies, parsed on the server against what it already knows. */
export async function declarationRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/apply', { schema: { body: ApplyBody }, bodyLimit: 2 * 1024 * 1024 }, async (req, reply) => {
    const caller = await authenticate(ctx.store, req, 'admin');
    const [modules, artifacts, policies] = await Promise.all([ctx.store.listModules(), ctx.store.listArtifacts(), ctx.store.listPolicies()]);
    const parsed = parseDeclarations(req.body.text, { file: req.body.file ?? 'request', known: { modules, artifacts, policies } });
    if (!parsed.ok) throw invalidDeclarations(parsed.errors);
    if (req.body.dry_run) return reply.send({ changes: [], warnings: parsed.warnings, dry_run: true });
    const result = await ctx.store.applyDeclarations(parsed.value, { actor: caller.name, ...(req.body.file ? { file: req.body.file } : {}) });
    await ctx.hub.refresh();
    return reply.send({ changes: result.changes, warnings: parsed.warnings });
  });

  r.get('/v1/modules', async () => ({ modules: await ctx.store.listModules() }));
  r.get('/v1/policies', async () => ({ policies: await ctx.store.listPolicies() }));
  r.get('/v1/policies/:name', { schema: { params: z.object({ name: z.string() }) } }, async (req) => {
    const p = await ctx.store.getPolicy(req.params.name);
    if (!p) throw notFound('policy', req.params.name, 'failsmall apply a file that declares it');
    return { policy: p, history: await ctx.store.declarationHistory('policy', req.params.name) };
  });
}
