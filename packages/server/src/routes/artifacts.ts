import { createHash } from 'node:crypto';
import { runCommand } from '@failsmall/io';
import { checkContent, DEPENDENCY_NAME, keyFingerprint, MANIFEST_LIMITS, signVersion, verifyVersion, versionSigningKey, type VersionCheck, type VersionManifest, type VersionSigner } from '@failsmall/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { callerOf } from '../http/access.ts';
import { ApiError, notFound } from '../http/errors.ts';

const VersionLabel = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a version is 1-64 of A-Z a-z 0-9 . _ - and starts with a letter or digit');

/** The manifest a version may carry in the `x-failsmall-manifest` header (the same edges as the audit's graph file). */
const Manifest = z.object({
  depends_on: z.array(z.object({
    on: z.string().max(MANIFEST_LIMITS.name_chars, `a dependency name has at most ${MANIFEST_LIMITS.name_chars} characters`)
      .regex(DEPENDENCY_NAME, 'a dependency name uses letters, digits, ".", "_" and "-", and starts with a letter or digit'),
    hard: z.boolean(),
    fallback: z.string().max(MANIFEST_LIMITS.fallback_chars, `a fallback has at most ${MANIFEST_LIMITS.fallback_chars} characters`).optional(),
  }).strict()).max(MANIFEST_LIMITS.dependencies, `a manifest lists at most ${MANIFEST_LIMITS.dependencies} dependencies`),
}).strict().superRefine((m, ctx) => {
  const seen = new Set<string>();
  m.depends_on.forEach((e, i) => {
    if (seen.has(e.on)) ctx.addIssue({ code: 'custom', path: ['depends_on', i, 'on'], message: `depends on "${e.on}" twice; an edge is either hard or soft` });
    seen.add(e.on);
  });
});
const MANIFEST_HINT = 'a manifest is {"depends_on":[{"on":"bot-check","hard":true},{"on":"session-store","hard":false,"fallback":"read-only cached sessions"}]}; failsmall artifact push --manifest FILE checks it with line and column first';

/** Artifact versions are immutable and content-addressed; the server refuses what breaks declared limits. */
export async function artifactRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: ctx.maxArtifactBytes }, (_req, body, done) => done(null, body));

  r.get('/v1/artifacts', { config: { access: 'viewer' } }, async () => ({ artifacts: await ctx.store.listArtifacts() }));

  r.get('/v1/artifacts/:name', { config: { access: 'viewer' }, schema: { params: z.object({ name: z.string() }) } }, async (req) => {
    const a = await ctx.store.getArtifact(req.params.name);
    if (!a) throw notFound('artifact', req.params.name, 'declare it with failsmall apply');
    return { artifact: a, versions: await ctx.store.listVersions(a.name) };
  });

  r.post('/v1/artifacts/:name/versions', {
    config: { access: 'deployer' },
    bodyLimit: ctx.maxArtifactBytes,
    schema: {
      params: z.object({ name: z.string() }),
      querystring: z.object({ version: VersionLabel.optional(), force: z.enum(['true', 'false']).optional() }),
    },
  }, async (req, reply) => {
    const caller = callerOf(req);
    if (!Buffer.isBuffer(req.body)) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'push the version as the raw body with Content-Type: application/octet-stream', 'failsmall artifact push does this');
    const manifest = manifestFrom(req.headers['x-failsmall-manifest']);
    const content = req.body;
    const artifact = await ctx.store.getArtifact(req.params.name);
    if (!artifact) throw notFound('artifact', req.params.name, 'declare it with failsmall apply before pushing versions');
    const force = req.query.force === 'true';
    const checked = checkContent(content, artifact.validation);
    const problems: { code: string; message: string }[] = [...checked.refusals];
    const checks: VersionCheck[] = [...checked.checks];
    const command = ctx.validators[artifact.name];
    if (artifact.validation.command !== undefined && artifact.validation.command !== command) {
      // Declared before validators moved to the server's configuration, or edited in the store: refuse rather than skip it.
      throw new ApiError(422, 'VALIDATOR_NOT_CONFIGURED', `${artifact.name} declares a validator command this control plane is not configured to run`, `start the server with --validator ${artifact.name}=COMMAND (validator commands come from the server's configuration, not from declarations), or apply the artifact without command`);
    }
    if (command !== undefined) {
      // From the server's own configuration (serve --validator). It runs with a bare environment: the
      // server's (store URL, tokens) is none of a validator's business.
      const r = await runCommand(command, {
        stdin: content, env: { FAILSMALL_ARTIFACT: artifact.name, FAILSMALL_VERSION: req.query.version ?? '' }, bareEnv: true,
        timeoutMs: artifact.validation.timeout_ms ?? 10_000, what: 'validator command',
      });
      if (!r.ok) problems.push({ code: 'COMMAND', message: r.error });
      checks.push({ check: 'command', outcome: r.ok ? 'passed' : 'failed', message: r.ok ? `${command} exited 0` : r.error });
    }
    if (problems.length > 0 && !force) {
      throw new ApiError(422, 'VALIDATION_FAILED', `version refused: ${problems.map((p) => p.message).join('; ')}`, 'fix the generator; --force pushes it anyway, for tests and drills only (agents still refuse it)', { problems });
    }
    const sha256 = createHash('sha256').update(content).digest('hex');
    const version = req.query.version ?? sha256.slice(0, 12);
    const given = req.headers['x-failsmall-signature'];
    let signature: string | null = null;
    let signer: VersionSigner | null = null;
    if (typeof given === 'string' && given !== '') {
      if (ctx.verifier) {
        const v = verifyVersion(ctx.verifier, artifact.name, version, sha256, given);
        if (!v.ok) throw new ApiError(422, 'BAD_SIGNATURE', `version refused: ${v.message}`, 'sign with the key whose public half this server trusts (failsmall keys init)');
        const key = versionSigningKey(ctx.verifier, artifact.name, version, sha256, given);
        signer = { by: 'offline', key: key ? keyFingerprint(key) : null, verified: true };
      } else {
        // No key to check it with: stored as given, and said so; every agent with a key still verifies it.
        signer = { by: 'offline', key: null, verified: false };
      }
      signature = given;
    } else if (ctx.signer) {
      signature = signVersion(ctx.signer, artifact.name, version, sha256);
      signer = { by: 'control-plane', key: keyFingerprint(ctx.signer), verified: true };
    } else if (ctx.verifier) {
      // Offline signing (serve --verify-key without --signing-key): the control plane holds no key,
      // so an unsigned version could never be loaded by an agent; say so now, not at the canary.
      throw new ApiError(422, 'UNSIGNED', `version refused: ${artifact.name}@${version} is unsigned, and this control plane only accepts versions signed offline`, `sign it where the key lives: failsmall artifact push ${artifact.name} FILE --version ${version} --sign KEY, or failsmall artifact sign ${artifact.name} FILE --version ${version} --key KEY and push with --signature SIG`);
    }
    const put = await ctx.store.putVersion({ artifact: artifact.name, version, sha256, content, forced: problems.length > 0, created_at: ctx.clock.now(), signature, manifest, entries: checked.entries, signer, checks }, { actor: caller.name });
    if (!put.ok) {
      const what = put.existing.sha256 === sha256 ? 'the same content but another manifest' : `different content (sha256 ${put.existing.sha256.slice(0, 12)}…)`;
      throw new ApiError(409, 'VERSION_CONFLICT', `version ${version} of ${artifact.name} already exists with ${what}`, 'versions are immutable, manifest included: push under a new version label');
    }
    const warnings = signature === null ? ['stored unsigned: this server has no signing key (serve --signing-key); agents with a public key will refuse it'] : [];
    return reply.code(put.created ? 201 : 200).send({ version: put.version, created: put.created, problems, warnings });
  });

  r.get('/v1/artifacts/:name/versions/:version/content', { config: { access: 'agent' }, schema: { params: z.object({ name: z.string(), version: z.string() }) } }, async (req, reply) => {
    // Content may be sensitive (rules, customer lists): only agents and admins read it.
    const v = await ctx.store.getVersion(req.params.name, req.params.version);
    const content = v ? await ctx.store.getVersionContent(req.params.name, req.params.version) : undefined;
    if (!v || !content) throw notFound('version', `${req.params.name}@${req.params.version}`);
    const r = reply.header('content-type', 'application/octet-stream').header('x-failsmall-sha256', v.sha256).header('etag', `"${v.sha256}"`);
    if (v.signature) r.header('x-failsmall-signature', v.signature);
    return r.send(content);
  });
}

/**
 * The manifest header: compact JSON (UTF-8; the CLI escapes anything past ASCII), null when
 * absent. Headers are small, hence MANIFEST_LIMITS.json_bytes; a bad one refuses the push.
 */
function manifestFrom(header: string | string[] | undefined): VersionManifest | null {
  if (header === undefined) return null;
  if (Array.isArray(header)) throw new ApiError(400, 'BAD_MANIFEST', 'send one x-failsmall-manifest header, not several', MANIFEST_HINT);
  // Node reads header bytes as latin1; a client that sent raw UTF-8 gets it back this way.
  const text = Buffer.from(header, 'latin1').toString('utf8');
  if (Buffer.byteLength(text) > MANIFEST_LIMITS.json_bytes) {
    throw new ApiError(400, 'BAD_MANIFEST', `the manifest is ${Buffer.byteLength(text)} bytes; the limit is ${MANIFEST_LIMITS.json_bytes}`, 'list only what this version calls directly, with short fallbacks');
  }
  let json: unknown;
  try { json = JSON.parse(text); } catch (err) {
    throw new ApiError(400, 'BAD_MANIFEST', `the x-failsmall-manifest header is not JSON: ${err instanceof Error ? err.message : String(err)}`, MANIFEST_HINT);
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: issuePath(i.path), message: i.message }));
    const first = issues[0];
    throw new ApiError(400, 'BAD_MANIFEST', `invalid manifest: ${first ? `${first.path}: ${first.message}` : 'schema mismatch'}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, MANIFEST_HINT, { issues });
  }
  return parsed.data;
}

/** `depends_on[1].hard`, the way the manifest file would spell it. */
function issuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'the manifest';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}
