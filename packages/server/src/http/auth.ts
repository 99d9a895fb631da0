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
  /** Set for a node's own credential: the one node it may speak for. */
  readonly node?: string;
  /** The sha256 of the token (not for node credentials): a join token's uses are counted by it. */
  readonly token_hash?: string;
}

/** A node's own credential: made by its agent, its sha256 bound to the node id at registration. */
export const NODE_CREDENTIAL_PREFIX = 'fs_node_';

/**
 * What each role may do. Roles are people's jobs, not levels, except that a wider job includes
 * the narrower ones it needs: a deployer reads what it deploys, an approver can deploy what it
 * approves (the four-eyes rule compares people, not roles), an admin can do everything. `ingest`
 * (Alertmanager, CI change events) and `agent` (nodes) are machines: they read nothing.
 */
const GRANTS: Readonly<Record<TokenRole, readonly TokenRole[]>> = {
  viewer: ['viewer'],
  deployer: ['viewer', 'deployer'],
  approver: ['viewer', 'deployer', 'approver'],
  ingest: ['ingest'],
  agent: ['agent'],
  // A join token speaks for nodes as the fleet token does; what differs is what registering does.
  join: ['agent', 'join'],
  admin: ['viewer', 'deployer', 'approver', 'ingest', 'agent', 'join', 'admin'],
};

export function grants(role: TokenRole, need: TokenRole): boolean {
  return GRANTS[role].includes(need);
}

/**
 * Known tokens by hash, per store. A hit is kept for CACHE_MS at most, and a revoke in this
 * process drops it at once (forgetToken): a revoke made through another process (a second
 * replica on the same database) takes effect within CACHE_MS.
 */
const known = new WeakMap<Store, Map<string, { caller: Caller; expires_at: number | null; until: number }>>();
const CACHE_MS = 5_000;

export function forgetToken(store: Store, name: string): void {
  const cache = known.get(store);
  if (cache) for (const [hash, hit] of cache) if (hit.caller.name === name) cache.delete(hash);
}

/** Checks a bearer token against the role a route needs; the route table declares it (access.ts). */
export async function authenticate(store: Store, req: FastifyRequest, need: TokenRole, now = Date.now()): Promise<Caller> {
  const header = req.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
  if (!token) throw new ApiError(401, 'UNAUTHENTICATED', 'this call needs a bearer token', 'set FAILSMALL_TOKEN, or put the token in a 0600 file named by FAILSMALL_TOKEN_FILE (serve printed the admin token on first start)');
  const hash = hashToken(token);
  let cache = known.get(store);
  if (!cache) { cache = new Map(); known.set(store, cache); }
  if (token.startsWith(NODE_CREDENTIAL_PREFIX)) {
    const node = await store.credentials.nodeOf(hash);
    if (!node) throw new ApiError(401, 'UNKNOWN_NODE_CREDENTIAL', 'the control plane does not know this node credential', 'the agent enrols again with the fleet token (the control plane was rebuilt, or the node was released)');
    if (need !== 'agent') throw new ApiError(403, 'FORBIDDEN', 'a node credential can only do what an agent does', 'use a token with the role this call needs');
    return { name: `node:${node}`, role: 'agent', node };
  }
  let hit = cache.get(hash);
  if (hit && hit.until < now) { cache.delete(hash); hit = undefined; }
  if (!hit) {
    const found = await store.findToken(hash);
    if (!found) throw new ApiError(401, 'UNAUTHENTICATED', 'unknown or revoked token', 'check FAILSMALL_TOKEN; failsmall token list shows the tokens that are live');
    hit = { caller: { name: found.name, role: found.role, token_hash: hash }, expires_at: found.expires_at, until: now + CACHE_MS };
    cache.set(hash, hit);
  }
  if (hit.expires_at !== null && hit.expires_at <= now) {
    throw new ApiError(401, 'TOKEN_EXPIRED', `token ${hit.caller.name} expired at ${new Date(hit.expires_at).toISOString()}`, 'ask an admin for a new one: failsmall token create NAME --role ROLE --expires 30d');
  }
  if (!grants(hit.caller.role, need)) {
    throw new ApiError(403, 'FORBIDDEN', `a ${hit.caller.role} token cannot do this: it needs the ${need} role`, `roles: ${Object.entries(GRANTS).filter(([, g]) => g.includes(need)).map(([r]) => r).join(', ')} may; see docs/security.md`);
  }
  return hit.caller;
}

/** A fleet or join token: speaks for nodes that have no credential of their own, and enrols them. */
export function isFleetToken(caller: Caller): boolean {
  return caller.node === undefined && (caller.role === 'agent' || caller.role === 'join');
}

/**
 * A call that speaks for node `nodeId`: its own credential, or an admin. The fleet token
 * (role agent) may speak only for a node that has not enrolled a credential of its own, so a
 * node holding the fleet token cannot report loads or metrics as another node.
 */
export async function authenticateNode(store: Store, req: FastifyRequest, nodeId: string, now = Date.now()): Promise<Caller> {
  const caller = await authenticate(store, req, 'agent', now);
  if (caller.node !== undefined && caller.node !== nodeId) {
    throw new ApiError(403, 'WRONG_NODE', `this credential belongs to node ${caller.node}, not ${nodeId}`, 'each agent uses the credential it made for its own --node-id');
  }
  if (isFleetToken(caller) && (await store.credentials.hashOf(nodeId)) !== undefined) {
    throw new ApiError(403, 'NODE_BOUND', `node ${nodeId} has its own credential; the fleet token cannot speak for it`, `if the node was rebuilt and lost its credential, release it: failsmall nodes release ${nodeId}`);
  }
  return caller;
}
