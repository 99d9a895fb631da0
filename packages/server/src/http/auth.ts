import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Store, TokenRole } from '../store/types.ts';
import { ApiError } from './errors.ts';

/** Only a token's sha256 is stored: a copy of the database never leaks a usable token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(role: TokenRole): string {
  return `fs_${role}_${randomBytes(24).toString('base64url')}`;
}

export interface Caller {
  readonly name: string;
  readonly role: TokenRole;
}

/**
 * Checks the bearer token of a mutating call. `agent` tokens may only do what an agent
 * does (register, report, push metrics); everything else needs `admin`.
 */
/** Known tokens by hash, per store: tokens are never revoked yet, so a hit never goes stale. */
const known = new WeakMap<Store, Map<string, Caller>>();

export async function authenticate(store: Store, req: FastifyRequest, need: TokenRole): Promise<Caller> {
  const header = req.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
  if (!token) throw new ApiError(401, 'UNAUTHENTICATED', 'this call changes state and needs a bearer token', 'pass --token or set FAILSMALL_TOKEN (serve printed the admin token on first start)');
  const hash = hashToken(token);
  let cache = known.get(store);
  if (!cache) { cache = new Map(); known.set(store, cache); }
  const found = cache.get(hash) ?? (await store.findToken(hash));
  if (found) cache.set(hash, found);
  if (!found) throw new ApiError(401, 'UNAUTHENTICATED', 'unknown token', 'check FAILSMALL_TOKEN; tokens are shown once, when created');
  if (need === 'admin' && found.role !== 'admin') throw new ApiError(403, 'FORBIDDEN', `a ${found.role} token cannot do this`, 'use an admin token');
  return found;
}
