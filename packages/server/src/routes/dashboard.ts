import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ApiError } from '../http/errors.ts';

/**
 * The page's own paths: each is the dashboard's index.html, and the page's router picks the view.
 * A new page (artifacts, break-glass, audit) adds its path here and in packages/web/src/routes.ts.
 */
export const DASHBOARD_PATHS = ['/', '/rollouts', '/rollouts/:id', '/fleet', '/incidents', '/incidents/:id', '/incidents/:id/postmortem', '/artifacts', '/audit'] as const;

/**
 * No inline script or style, nothing from another origin: a stored string that reached the page
 * (a reason, a node's error) can never run. uPlot and React set styles through the CSSOM, which
 * style-src does not govern.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Where the built dashboard is: beside the bundle in an installed package and after a build
 * (dist/cli/ → dist/web/), or, from the sources, in the checkout's packages/cli/dist/web/
 * (scripts/build.mjs puts it there).
 */
export function findDashboard(): string | null {
  for (const rel of ['../web/', '../../../cli/dist/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return null;
}

const TYPES: Readonly<Record<string, string>> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', woff2: 'font/woff2' };
/** Vite's asset names: a name, a content hash, an extension; nothing that could climb out of assets/. */
const AssetParams = z.object({ file: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(js|css|svg|png|woff2)$/) });

/**
 * Serves the dashboard (docs/dashboard.md): public, as the page carries no data (every number on
 * it comes from the API, with the visitor's token). `dir` null: the build has not run, and `/`
 * says how to build instead of a bare 404.
 */
export async function dashboardRoutes(app: FastifyInstance, dir: string | null): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const secure = (reply: FastifyReply) => reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
  for (const path of DASHBOARD_PATHS) {
    r.get(path, { config: { access: 'public' } }, async (_req, reply) => {
      if (!dir) throw new ApiError(404, 'DASHBOARD_NOT_BUILT', 'this control plane has no dashboard files', 'build them: npm run build (scripts/build.mjs runs the Vite build into packages/cli/dist/web)');
      // Never cached: a new build's index.html names new asset hashes.
      return secure(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(await readFile(`${dir}index.html`));
    });
  }
  r.get('/assets/:file', { config: { access: 'public' }, schema: { params: AssetParams } }, async (req, reply) => {
    const ext = req.params.file.slice(req.params.file.lastIndexOf('.') + 1);
    let body: Buffer;
    try {
      if (!dir) throw new Error('no dashboard');
      body = await readFile(`${dir}assets/${req.params.file}`);
    } catch {
      throw new ApiError(404, 'NOT_FOUND', `no dashboard asset ${req.params.file}`, 'reload the page: a new build names new files');
    }
    // The name carries a hash of the content: a changed file gets a new name, so this one never changes.
    return secure(reply).header('cache-control', 'public, max-age=31536000, immutable').type(TYPES[ext] ?? 'application/octet-stream').send(body);
  });
}
