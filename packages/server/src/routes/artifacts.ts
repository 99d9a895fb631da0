import { createHash } from 'node:crypto';
import { runCommand } from '@failsmall/agent';
import { signVersion, validateContent, verifyVersion } from '@failsmall/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { authenticate } from '../http/auth.ts';
import { ApiError, notFound } from '../http/errors.ts';

const VersionLabel = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a version is 1-64 of A-Z a-z 0-9 . _ - and starts with a letter or digit');

/** Artifact versions are immutable and content-addressed; the server refuses what breaks declared limits. */
export async function artifactRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: ctx.maxArtifactBytes }, (_req, body, done) => done(null, body));

  r.get('/v1/artifacts', async () => ({ artifacts: await ctx.store.listArtifacts() }));

  r.get('/v1/artifacts/:name', { schema: { params: z.object({ name: z.string() }) } }, async (req) => {
    const a = await ctx.store.getArtifact(req.params.name);
    if (!a) throw notFound('artifact', req.params.name, 'declare it with failsmall apply');
    return { artifact: a, versions: await ctx.store.listVersions(a.name) };
  });

  r.post('/v1/artifacts/:name/versions', {
    bodyLimit: ctx.maxArtifactBytes,
    schema: {
      params: z.object({ name: z.string() }),
      querystring: z.object({ version: VersionLabel.optional(), force: z.enum(['true', 'false']).optional() }),
    },
  }, async (req, reply) => {
    const caller = await authenticate(ctx.store, req, 'admin');
    if (!Buffer.isBuffer(req.body)) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'push the version as the raw body with Content-Type: application/octet-stream', 'failsmall artifact push does this');
    const content = req.body;
    const artifact = await ctx.store.getArtifact(req.params.name);
    if (!artifact) throw notFound('artifact', req.params.name, 'declare it with failsmall apply before pushing versions');
    const force = req.query.force === 'true';
    const problems: { code: string; message: string }[] = validateContent(content, artifact.validation);
    if (artifact.validation.command) {
      // Declared by an admin in the artifact; agents never run commands received over the network.
      const r = await runCommand(artifact.validation.command, {
        stdin: content, env: { FAILSMALL_ARTIFACT: artifact.name, FAILSMALL_VERSION: req.query.version ?? '' },
        timeoutMs: artifact.validation.timeout_ms ?? 10_000, what: 'validator command',
      });
      if (!r.ok) problems.push({ code: 'COMMAND', message: r.error });
    }
    if (problems.length > 0 && !force) {
      throw new ApiError(422, 'VALIDATION_FAILED', `version refused: ${problems.map((p) => p.message).join('; ')}`, 'fix the generator; --force pushes it anyway, for tests and drills only (agents still refuse it)', { problems });
    }
    const sha256 = createHash('sha256').update(content).digest('hex');
    const version = req.query.version ?? sha256.slice(0, 12);
    const given = req.headers['x-failsmall-signature'];
    let signature: string | null = null;
    if (typeof given === 'string' && given !== '') {
      if (ctx.verifier) {
        const v = verifyVersion(ctx.verifier, artifact.name, version, sha256, given);
        if (!v.ok) throw new ApiError(422, 'BAD_SIGNATURE', `version refused: ${v.message}`, 'sign with the key whose public half this server trusts (failsmall keys init)');
      }
      signature = given;
    } else if (ctx.signer) {
      signature = signVersion(ctx.signer, artifact.name, version, sha256);
    }
    const put = await ctx.store.putVersion({ artifact: artifact.name, version, sha256, content, forced: problems.length > 0, created_at: ctx.clock.now(), signature }, { actor: caller.name });
    if (!put.ok) throw new ApiError(409, 'VERSION_CONFLICT', `version ${version} of ${artifact.name} already exists with different content (sha256 ${put.existing.sha256.slice(0, 12)}…)`, 'versions are immutable: push under a new version label');
    const warnings = signature === null ? ['stored unsigned: this server has no signing key (serve --signing-key); agents with a public key will refuse it'] : [];
    return reply.code(put.created ? 201 : 200).send({ version: put.version, created: put.created, problems, warnings });
  });

  r.get('/v1/artifacts/:name/versions/:version/content', { schema: { params: z.object({ name: z.string(), version: z.string() }) } }, async (req, reply) => {
    // Content may be sensitive (rules, customer lists): only agents and admins read it.
    await authenticate(ctx.store, req, 'agent');
    const v = await ctx.store.getVersion(req.params.name, req.params.version);
    const content = v ? await ctx.store.getVersionContent(req.params.name, req.params.version) : undefined;
    if (!v || !content) throw notFound('version', `${req.params.name}@${req.params.version}`);
    const r = reply.header('content-type', 'application/octet-stream').header('x-failsmall-sha256', v.sha256).header('etag', `"${v.sha256}"`);
    if (v.signature) r.header('x-failsmall-signature', v.signature);
    return r.send(content);
  });
}
