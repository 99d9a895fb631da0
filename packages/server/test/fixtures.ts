import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateSigningKeys } from '@failsmall/core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer, type RunningServer, type ServeOptions } from '../src/index.ts';

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };

/** A fresh PostgreSQL database for one test file; fails loudly (never skips) when PostgreSQL is missing. */
export async function freshPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `failsmall_api_${randomBytes(4).toString('hex')}`;
  const root = new pg.Client({ ...PG, database: 'postgres' });
  try {
    await root.connect();
    await root.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    throw new Error(`PostgreSQL 15 is required on ${PG.host}:${PG.port} (user postgres, trust auth): ${(err as Error).message}. Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`);
  } finally {
    await root.end().catch(() => {});
  }
  return {
    url: `postgres://${PG.user}@${PG.host}:${PG.port}/${name}`,
    async drop() {
      const c = new pg.Client({ ...PG, database: 'postgres' });
      await c.connect();
      try { await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } finally { await c.end(); }
    },
  };
}

/** A control plane on a temp SQLite file (or the given store), on a free loopback port. */
export async function testServer(opts: ServeOptions = {}): Promise<RunningServer & { admin: string; dir: string; publicKey: string; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-api-'));
  const keys = generateSigningKeys();
  writeFileSync(join(dir, 'artifact.key'), keys.privateKey, { mode: 0o600 });
  // Errors only: a test's rollback is a warn line, and the test's output is not the place for it.
  const server = await startServer({ store: join(dir, 'fs.db'), port: 0, tickMs: 50, signingKeyFile: join(dir, 'artifact.key'), log: 'error', ...opts });
  if (!server.adminToken && opts.store === undefined) throw new Error('a fresh store must create an admin token');
  if (server.adminToken) readers.set(server.url, server.adminToken);
  return Object.assign(server, {
    admin: server.adminToken ?? '', dir, publicKey: keys.publicKey,
    async cleanup() { await server.close(); rmSync(dir, { recursive: true, force: true }); },
  });
}

/** fetch against the server with an optional bearer token; returns status and parsed body. */
/**
 * Reads need a viewer token (docs/security.md); tests that only follow a rollout read as the
 * server's first admin unless they pass a token of their own. Mutating calls never get one by
 * default, so a test of an unauthenticated write stays one.
 */
const readers = new Map<string, string>();

/** Reads against `base` go as `token` (a test that restarts a server on its old store). */
export function readAs(base: string, token: string): void {
  readers.set(base, token);
}

export async function call(base: string, method: string, path: string, opts: { token?: string; json?: unknown; body?: Uint8Array | string; type?: string; headers?: Record<string, string>; anonymous?: boolean } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const token = opts.token ?? (method === 'GET' && opts.anonymous !== true ? readers.get(base) : undefined);
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | Uint8Array | undefined;
  if (opts.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(opts.json); }
  else if (opts.body !== undefined) { headers['content-type'] = opts.type ?? 'application/octet-stream'; body = opts.body; }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  // A test reads arbitrary JSON and asserts on it; `any` stays inside the tests.
  let parsed: any;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
  return { status: res.status, body: parsed, headers: res.headers };
}

export const DECLARATIONS = `
modules:
  bot-management: { on_load_failure: serve-stale }
  proxy: { on_load_failure: serve-stale }
artifacts:
  features:
    kind: feature-file
    module: bot-management
    policy: quick
    validation: { max_entries: 200, max_bytes: 65536 }
policies:
  quick:
    interval: 200ms
    bake: 400ms
    load_timeout: 2s
    max_extension: 2s
    stages:
      - name: canary
        scope: 10% nodes
        health_gates: &gates
          - { module: bot-management, metric: load_success_rate, threshold: 0.999, window: 2s }
      - { name: global, scope: 100% nodes, health_gates: *gates }
  held:
    stages:
      - { name: canary, scope: 1 nodes, health_gates: [], approval: manual }
      - { name: global, scope: 100% nodes, health_gates: [] }
`;

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
