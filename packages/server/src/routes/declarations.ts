import { parseDeclarations, type FailsmallError, type PolicySpec, type Warning } from '@failsmall/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { checkDeclarations, sealSafeDefaults } from '../declarations/trust.ts';
import { callerOf } from '../http/access.ts';
import { invalidDeclarations, notFound } from '../http/errors.ts';

const ApplyBody = z.object({
  text: z.string().describe('the YAML declarations file'),
  file: z.string().max(4096).optional().describe('its name, for error positions'),
  dry_run: z.boolean().optional(),
});

/** `failsmall apply`: modules, artifacts and policies, parsed on the server against what it already knows. */
export async function declarationRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/apply', { config: { access: 'admin' }, schema: { body: ApplyBody }, bodyLimit: 2 * 1024 * 1024 }, async (req, reply) => {
    const caller = callerOf(req);
    const [modules, artifacts, policies] = await Promise.all([ctx.store.listModules(), ctx.store.listArtifacts(), ctx.store.listPolicies()]);
    const trust = { validators: ctx.validators, ...(ctx.signer ? { signer: ctx.signer } : {}), ...(ctx.verifier ? { verifier: ctx.verifier } : {}) };
    let parsed = parseDeclarations(req.body.text, { file: req.body.file ?? 'request', known: { modules, artifacts, policies }, check: (d) => checkDeclarations(d, trust) });
    if (!parsed.ok) throw invalidDeclarations(parsed.errors);
    parsed = { ...parsed, value: { ...parsed.value, modules: sealSafeDefaults(parsed.value.modules, ctx.signer) } };
    const checked = await checkPrometheusGates(parsed.value.policies, ctx, req.body.file ?? 'request');
    if (checked.errors.length > 0) throw invalidDeclarations(checked.errors);
    parsed = { ...parsed, warnings: [...parsed.warnings, ...checked.warnings] };
    if (req.body.dry_run) return reply.send({ changes: [], warnings: parsed.warnings, dry_run: true });
    const result = await ctx.store.applyDeclarations(parsed.value, { actor: caller.name, ...(req.body.file ? { file: req.body.file } : {}) });
    await ctx.hub.refresh();
    return reply.send({ changes: result.changes, warnings: parsed.warnings });
  });

  r.get('/v1/modules', { config: { access: 'viewer' } }, async () => ({ modules: await ctx.store.listModules() }));
  r.get('/v1/policies', { config: { access: 'viewer' } }, async () => ({ policies: await ctx.store.listPolicies() }));
  r.get('/v1/policies/:name', { config: { access: 'viewer' }, schema: { params: z.object({ name: z.string() }) } }, async (req) => {
    const p = await ctx.store.getPolicy(req.params.name);
    if (!p) throw notFound('policy', req.params.name, 'failsmall apply a file that declares it');
    return { policy: p, history: await ctx.store.declarationHistory('policy', req.params.name) };
  });
}

/**
 * Asks the installation's Prometheus whether each prometheus gate's query parses, so that a
 * query Prometheus would refuse (400) is an error at apply, not an inconclusive gate later.
 * When Prometheus cannot be asked, the gate is kept with a warning: it will be inconclusive
 * until it can.
 */
async function checkPrometheusGates(policies: readonly PolicySpec[], ctx: AppContext, file: string): Promise<{ errors: FailsmallError[]; warnings: Warning[] }> {
  const errors: FailsmallError[] = [];
  const warnings: Warning[] = [];
  for (const p of policies) {
    p.stages.forEach((stage, si) => stage.health_gates.forEach((gate, gi) => {
      if (gate.source !== 'prometheus') return;
      const path = `policies.${p.name}.stages[${si}].health_gates[${gi}].query`;
      if (!ctx.prometheus) {
        warnings.push({ severity: 'warning', code: 'NO_PROMETHEUS', file, path, message: `gate ${gate.name} of policy ${p.name} reads Prometheus, but this control plane has none configured: it will be inconclusive`, hint: 'start the server with failsmall serve --prometheus-url URL' });
      }
    }));
  }
  if (!ctx.prometheus) return { errors, warnings };
  for (const p of policies) {
    for (const [si, stage] of p.stages.entries()) {
      for (const [gi, gate] of stage.health_gates.entries()) {
        if (gate.source !== 'prometheus' || gate.query === undefined) continue;
        const path = `policies.${p.name}.stages[${si}].health_gates[${gi}].query`;
        const v = await ctx.prometheus.validate(gate.query);
        if (v.ok) continue;
        if (v.checked) errors.push({ code: v.code === 'BAD_TEMPLATE' ? 'UNKNOWN_PLACEHOLDER' : 'BAD_QUERY', file, path, message: `gate ${gate.name} of policy ${p.name}: ${v.message}`, hint: 'Prometheus refused the query; try it in the Prometheus UI with {{cohort_selector}} replaced by node="x"' });
        else warnings.push({ severity: 'warning', code: 'PROMETHEUS_UNCHECKED', file, path, message: `gate ${gate.name} of policy ${p.name}: could not ask Prometheus whether the query parses (${v.message})`, hint: 'it will be checked at every evaluation; a failing query is inconclusive' });
      }
    }
  }
  return { errors, warnings };
}
