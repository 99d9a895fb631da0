import { randomBytes } from 'node:crypto';
import {
  checkDependencyChange, DEFAULT_APPROVAL_TTL_MS, findingsDigest, MAX_APPROVAL_TTL_MS, type DependencyFinding, type GateApproval,
} from '@failsmall/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { callerOf } from '../http/access.ts';
import { ApiError, notFound } from '../http/errors.ts';
import type { ArtifactRecord, VersionRecord } from '../store/types.ts';

const PrintableText = (max: number) => z.string().trim().min(1).max(max).regex(/^[^\x00-\x1f\x7f]+$/, 'no control characters');

const ApproveBody = z.object({
  artifact: z.string().min(1).max(128),
  version: z.string().min(1).max(128),
  reason: PrintableText(2000),
  /** How long the approval waits to be used (s); default a day, at most a week. */
  expires_in_s: z.number().int().min(60).max(MAX_APPROVAL_TTL_MS / 1000).optional(),
}).strict();

/** What the dependency gate finds for a rollout of `version` over the artifact's current version. */
export async function gateFindings(ctx: AppContext, artifact: ArtifactRecord, version: VersionRecord): Promise<DependencyFinding[]> {
  const current = artifact.current_version === null ? undefined : await ctx.store.getVersion(artifact.name, artifact.current_version);
  return checkDependencyChange(current?.manifest ?? null, version.manifest);
}

/**
 * Dependency-gate approvals: a second person, with their own admin token, approves one version
 * past the gate's current findings. The name on the approval is the token's, not one typed by
 * whoever starts the rollout; `POST /v1/rollouts` with `override_dependency_gate` spends it.
 */
export async function approvalRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/approvals', { config: { access: 'approver' }, schema: { body: ApproveBody } }, async (req, reply) => {
    const caller = callerOf(req);
    const artifact = await ctx.store.getArtifact(req.body.artifact);
    if (!artifact) throw notFound('artifact', req.body.artifact, 'declare it with failsmall apply');
    const version = await ctx.store.getVersion(artifact.name, req.body.version);
    if (!version) throw notFound('version', `${artifact.name}@${req.body.version}`, 'push it first with failsmall artifact push');
    const findings = await gateFindings(ctx, artifact, version);
    if (findings.length === 0) {
      throw new ApiError(409, 'NOTHING_TO_APPROVE', `the dependency gate finds nothing in ${artifact.name} ${artifact.current_version ?? '(none)'} → ${version.version}`, 'a rollout of it starts without an approval');
    }
    const now = ctx.clock.now();
    const approval: GateApproval = {
      id: `a-${randomBytes(5).toString('hex')}`, artifact: artifact.name, version: version.version, from_version: artifact.current_version,
      findings, digest: findingsDigest(findings), approver: caller.name, reason: req.body.reason,
      created_at: now, expires_at: now + (req.body.expires_in_s === undefined ? DEFAULT_APPROVAL_TTL_MS : req.body.expires_in_s * 1000), used_by: null, used_at: null,
    };
    await ctx.store.approvals.create(approval);
    return reply.code(201).send({ approval });
  });

  r.get('/v1/approvals', { config: { access: 'viewer' }, schema: { querystring: z.object({ artifact: z.string().min(1).max(128).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }) } }, async (req) => ({
    approvals: await ctx.store.approvals.list(req.query),
  }));
}
