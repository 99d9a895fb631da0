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
}

/** A node's own credential: made by its agent, its sha256 bound to the node id at registration. */
export const NODE_CREDENTIAL_PREFIX = 'fs_node_';

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
  if (token.startsWith(NODE_CREDENTIAL_PREFIX)) {
    const node = await store.credentials.nodeOf(hash);
    if (!node) throw new ApiError(401, 'UNKNOWN_NODE_CREDENTIAL', 'the control plane does not know this node credential', 'the agent enrols again with the fleet token (the control plane was rebuilt, or the node was released)');
    if (need === 'admin') throw new ApiError(403, 'FORBIDDEN', 'a node credential cannot do this', 'use an admin token');
    return { name: `node:${node}`, role: 'agent', node };
  }
  const found = cache.get(hash) ?? (await store.findToken(hash));
  if (found) cache.set(hash, found);
  if (!found) throw new ApiError(401, 'UNAUTHENTICATED', 'unknown token', 'check FAILSMALL_TOKEN; tokens are shown once, when created');
  if (need === 'admin' && found.role !== 'admin') throw new ApiError(403, 'FORBIDDEN', `a ${found.role} token cannot do this`, 'use an admin token');
  return found;
}

/**
 * A call that speaks for node `nodeId`: its own credential, or an admin. The fleet token
 * (role agent) may speak only for a node that has not enrolled a credential of its own, so a
 * node holding the fleet token cannot report loads or metrics as another node.
 */
export async function authenticateNode(store: Store, req: FastifyRequest, nodeId: string): Promise<Caller> {
  const caller = await authenticate(store, req, 'agent');
  if (caller.node !== undefined && caller.node !== nodeId) {
    throw new ApiError(403, 'WRONG_NODE', `this credential belongs to node ${caller.node}, not ${nodeId}`, 'each agent uses the credential it made for its own --node-id');
  }
  if (caller.node === undefined && caller.role === 'agent' && (await store.credentials.hashOf(nodeId)) !== undefined) {
    throw new ApiError(403, 'NODE_BOUND', `node ${nodeId} has its own credential; the fleet token cannot speak for it`, `if the node was rebuilt and lost its credential, release it: failsmall nodes release ${nodeId}`);
  }
  return caller;
}
