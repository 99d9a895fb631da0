import { COUNT_MAX, COUNTER_NAME, currentModuleState, LATENCY_BUCKETS_MS, MAX_ENVELOPE_BYTES, NAME, NAME_HINT, NODE_ID, NODE_ID_HINT, summarizeFleet, verifyReport } from '@failsmall/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { callerOf } from '../http/access.ts';
import { isFleetToken, type Caller } from '../http/auth.ts';
import { ApiError, notFound } from '../http/errors.ts';

const NodeId = z.string().regex(NODE_ID, NODE_ID_HINT);
/** Module and artifact names: the one name rule (core/names), the same the agent applies. */
const Name = z.string().regex(NAME, NAME_HINT);
const Label = z.string().min(1).max(256);
const Text = (max: number) => z.string().min(1).max(max);
/** A break-glass pin as the agent reports it. */
const Pin = z.object({
  artifact: Name, action: z.enum(['pin', 'lkg', 'kill-switch']), version: Name.nullable(), state: Text(32),
  operator: Text(200), reason: Text(2000), nonce: Text(128), since: Text(64), replaced: z.array(Text(128)).max(64).optional(),
}).strict();
const Pins = z.array(Pin).max(1024);
const RegisterBody = z.object({
  id: NodeId,
  labels: z.record(z.string().regex(/^[A-Za-z0-9_.\/-]{1,63}$/, 'label keys are 1-63 of A-Z a-z 0-9 _ . / -'), Label).default({}),
  modules: z.array(Name).max(256).default([]),
  pins: Pins.optional(),
  /**
   * The sha256 of the node's own credential, which the agent made and keeps: the first
   * registration binds it to the id, and from then on only that credential (or an admin) speaks
   * for the node. Registering again with the same hash is always accepted, so a lost answer or
   * a rebuilt control plane never locks a node out.
   */
  credential_hash: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256, 64 lowercase hex digits').optional(),
});
/** A line of the node's break-glass log; only the fields the control plane reads are checked, the rest is kept as reported. */
const BreakglassEntry = z.object({ seq: z.number().int().min(1).max(1e12), at: Text(64), outcome: z.enum(['applied', 'refused', 'checked']) }).passthrough();
const BreakglassBody = z.object({ entries: z.array(BreakglassEntry).max(500), pins: Pins });
/**
 * A report may carry one entry whose envelope is a pin with its version's content (an envelope is
 * at most MAX_ENVELOPE_BYTES); the agent sends such an entry alone, and others in reports of 1 MiB.
 */
const BREAKGLASS_REPORT_BYTES = MAX_ENVELOPE_BYTES + 4 * 1024 * 1024;
/** How many rejection reasons one breakglass.report_rejected event keeps. */
const REJECTION_REASONS = 5;
const Sha256Params = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256, 64 lowercase hex digits') });
const LoadBody = z.object({
  artifact: Name,
  version: Name.nullable(),
  ok: z.boolean(),
  serving: z.string().nullable(),
  error: z.string().max(4000).nullable().default(null),
  module_state: z.enum(['serving', 'stale', 'fail-open', 'fail-closed', 'empty']).optional(),
});
const Count = z.number().int().min(0).max(COUNT_MAX);
const Counters = z.object({
  requests: Count.default(0),
  errors: Count.default(0),
  loads_attempted: Count.default(0),
  loads_succeeded: Count.default(0),
  latency_buckets: z.array(Count).length(LATENCY_BUCKETS_MS.length + 1).optional(),
  counters: z.record(z.string().regex(COUNTER_NAME), Count).default({}),
}).refine((c) => c.errors <= c.requests, { message: 'errors cannot exceed requests' })
  .refine((c) => c.loads_succeeded <= c.loads_attempted, { message: 'loads_succeeded cannot exceed loads_attempted' });
/**
 * Why the agent sends no request metrics for a module (its scrape of the application failed),
 * per module: replaces the node's set when present (an empty object clears it), left as it is when absent.
 * `for_ms` is how long it has lasted, so the agent's clock does not matter.
 */
const SignalProblems = z.record(Name, z.object({
  source: z.enum(['scrape']), reason: z.string().regex(/^[a-z_]{1,32}$/), message: Text(500), for_ms: z.number().int().min(0).max(1e12),
})).refine((p) => Object.keys(p).length <= 256, { message: 'at most 256 modules' });
const MetricsBody = z.object({ modules: z.record(Name, Counters), signal_problems: SignalProblems.optional() });
const NodeParams = z.object({ id: NodeId });

/** The agent-facing API: register, long-poll desired state, report loads, push metrics. */
export async function nodeRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/nodes/register', { config: { access: 'agent' }, schema: { body: RegisterBody } }, async (req) => {
    const { pins, credential_hash: hash, ...registration } = req.body;
    const caller = callerOf(req);
    if (caller.node !== undefined && caller.node !== registration.id) throw wrongNode(caller.node, registration.id);
    const now = ctx.clock.now();
    // First enrolment wins, and is checked before the node row is touched, so a refused impostor changes nothing.
    let enrolled = false;
    if (isFleetToken(caller)) {
      const bound = await ctx.store.credentials.hashOf(registration.id);
      if (bound !== undefined && bound !== hash) throw nodeBound(registration.id);
      if (bound === undefined && hash !== undefined) {
        enrolled = await ctx.store.credentials.bind(registration.id, hash, now);
        // Lost a race: fine if the winner enrolled the same secret (the same agent, retrying).
        if (!enrolled && (await ctx.store.credentials.hashOf(registration.id)) !== hash) throw nodeBound(registration.id);
      }
    }
    await ctx.store.upsertNode(registration, now, await admits(ctx, caller, registration.id));
    // A control plane that comes back (even on an empty database) learns the pins before anything else: it must not undo them.
    if (pins !== undefined) await ctx.store.setNodePins(registration.id, pins, now);
    const node = await ctx.store.getNode(registration.id);
    return { node, enrolled };
  });

  /** An admin admits a node the fleet token registered: from now on it counts in cohorts, baselines and gates. */
  r.post('/v1/nodes/:id/approve', { config: { access: 'admin' }, schema: { params: NodeParams } }, async (req) => {
    const node = await ctx.store.getNode(req.params.id);
    if (!node) throw notFound('node', req.params.id, 'failsmall nodes --pending lists the nodes waiting');
    const approved = await ctx.store.approveNode(req.params.id, callerOf(req).name, ctx.clock.now());
    if (approved) { await ctx.hub.refresh(); ctx.controller.poke(); }
    return { node: req.params.id, enrolment: 'approved', changed: approved };
  });

  /** Forget a node's credential (a rebuilt node that lost it): its next registration with the fleet token enrols again. */
  r.delete('/v1/nodes/:id/credential', { config: { access: 'admin' }, schema: { params: NodeParams } }, async (req) => {
    const caller = callerOf(req);
    const released = await ctx.store.credentials.release(req.params.id, caller.name, ctx.clock.now());
    if (!released) throw notFound('node credential', req.params.id, 'failsmall nodes shows which nodes have one');
    return { released: req.params.id };
  });

  /**
   * What an agent reports of break-glass: its log lines (idempotent by line) and its pins now. A node's
   * credential is not an operator's signature: each line is checked against the signed envelope it
   * carries (core verifyReport). An `applied` or `checked` line that none backs is not stored; the
   * request's rejections make one breakglass.report_rejected event, however many lines it held.
   */
  r.post('/v1/nodes/:id/breakglass', { config: { access: 'node' }, schema: { params: NodeParams, body: BreakglassBody }, bodyLimit: BREAKGLASS_REPORT_BYTES }, async (req) => {
    const node = req.params.id;
    if (!(await ctx.store.getNode(node))) throw notFound('node', node, 'register first');
    const now = ctx.clock.now();
    const keep = [];
    const rejected: { seq: number; outcome: string; reason: string }[] = [];
    for (const entry of req.body.entries) {
      const verdict = verifyReport(entry, node, ctx.breakglassVerifier);
      if (verdict.status === 'rejected') rejected.push({ seq: entry.seq, outcome: entry.outcome, reason: verdict.reason });
      else keep.push(verdict.record);
    }
    const recorded = await ctx.store.recordBreakglass(node, keep, now);
    if (rejected.length > 0) {
      await ctx.store.appendEvents([{ type: 'breakglass.report_rejected', at: now, rollout_id: null, payload: { node, count: rejected.length, reasons: rejected.slice(0, REJECTION_REASONS) } }]);
    }
    await ctx.store.setNodePins(node, req.body.pins, now);
    return { recorded, rejected: rejected.length };
  });

  /**
   * Every break-glass command the nodes reported, newest first: who, what, why, what came of it, and
   * whether the control plane verified it (an entry stored before it verified reports shows `verified: false`).
   */
  r.get('/v1/breakglass', { config: { access: 'viewer' }, schema: { querystring: z.object({ node: NodeId.optional(), limit: z.coerce.number().int().min(1).max(5000).optional() }) } }, async (req) => {
    const [entries, nodes] = [await ctx.store.listBreakglass({ ...(req.query.node ? { node: req.query.node } : {}), limit: req.query.limit ?? 500 }), await ctx.store.listNodes()];
    return {
      entries: entries.map((e) => (typeof e.verified === 'boolean' ? e : { ...e, verified: false, verification: 'recorded before the control plane verified break-glass reports' })),
      pins: nodes.flatMap((n) => n.pins.map((p) => ({ node: n.id, ...p }))),
    };
  });

  /** The signed envelope behind a break-glass record (its `envelope_sha256`): anyone with the break-glass public key can verify it again. */
  r.get('/v1/breakglass/envelopes/:sha256', { config: { access: 'viewer' }, schema: { params: Sha256Params } }, async (req) => {
    const envelope = await ctx.store.getBreakglassEnvelope(req.params.sha256);
    if (!envelope) throw notFound('break-glass envelope', req.params.sha256, 'GET /v1/breakglass lists each record\'s envelope_sha256');
    return { sha256: req.params.sha256, envelope };
  });

  /**
   * The fleet at a glance (core summarizeFleet): nodes grouped by one label's value, counted by the
   * version of ARTIFACT they serve and its state, off-target, pinned, pending, unseen, with the
   * newest refusals. Aggregates only, so a page shows 10,000 nodes without 10,000 rows.
   */
  r.get('/v1/fleet', {
    config: { access: 'viewer' },
    schema: {
      querystring: z.object({
        artifact: z.string().regex(NAME, NAME_HINT).optional(),
        by: z.string().regex(/^[A-Za-z0-9_.\/-]{1,63}$/, 'a label key: 1-63 of A-Z a-z 0-9 _ . / -').optional(),
      }).strict(),
    },
  }, async (req) => {
    const artifact = req.query.artifact ?? null;
    if (artifact !== null && !(await ctx.store.getArtifact(artifact))) throw notFound('artifact', artifact, 'failsmall artifact list shows the declared ones');
    const [nodes, loads] = [await ctx.store.listNodes(), artifact === null ? [] : await ctx.store.listLoads(artifact)];
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const desired = (id: string) => {
      const n = byId.get(id);
      return n && artifact !== null ? ctx.hub.desiredFor(n).desired.artifacts.find((a) => a.artifact === artifact)?.version : undefined;
    };
    return summarizeFleet({ nodes, loads, desired, artifact, by: req.query.by ?? null, now: ctx.clock.now() });
  });

  r.get('/v1/nodes', { config: { access: 'viewer' } }, async () => {
    const [nodes, bound, now] = [await ctx.store.listNodes(), await ctx.store.credentials.boundNodes(), ctx.clock.now()];
    const out = [];
    for (const n of nodes) {
      const desired = new Map(ctx.hub.desiredFor(n).desired.artifacts.map((a) => [a.artifact, a.version]));
      const loads = (await ctx.store.listNodeLoads(n.id)).map((l) => ({ ...l, module_state: currentModuleState(l, desired.get(l.artifact)) }));
      out.push({ ...n, credential: bound.has(n.id), seconds_since_seen: Math.round((now - n.last_seen_at) / 1000), loads });
    }
    return { nodes: out };
  });

  /**
   * Long-poll: with If-None-Match equal to the current ETag, the request is held until the
   * node's desired state changes or `wait` ms pass (then 304). Each poll also counts as a heartbeat.
   */
  r.get('/v1/nodes/:id/desired', { config: { access: 'node' }, schema: { params: NodeParams, querystring: z.object({ wait: z.coerce.number().int().min(0).max(300_000).optional() }) } }, async (req, reply) => {
    const node = await ctx.store.getNode(req.params.id);
    if (!node) throw notFound('node', req.params.id, 'the agent registers itself with POST /v1/nodes/register first');
    await ctx.store.touchNode(node.id, ctx.clock.now());
    const ifNoneMatch = req.headers['if-none-match'];
    const gone = new AbortController();
    const hangUp = () => gone.abort();
    // The socket, not the request: a GET's request stream "closes" as soon as it has been read.
    req.raw.socket.once('close', hangUp);
    const result = await ctx.hub.wait(node, typeof ifNoneMatch === 'string' ? ifNoneMatch : undefined, Math.min(req.query.wait ?? 0, ctx.maxWaitMs), gone.signal)
      .finally(() => req.raw.socket.off('close', hangUp));
    if (result === null) return reply.code(304).send();
    return reply.header('etag', result.etag).send(result.desired);
  });

  r.post('/v1/nodes/:id/loads', { config: { access: 'node' }, schema: { params: NodeParams, body: LoadBody } }, async (req) => {
    if (!(await ctx.store.getNode(req.params.id))) throw notFound('node', req.params.id, 'register first');
    await ctx.store.recordLoad({ node_id: req.params.id, ...req.body, at: ctx.clock.now() });
    ctx.controller.poke();
    return { recorded: true };
  });

  r.post('/v1/nodes/:id/metrics', { config: { access: 'node' }, schema: { params: NodeParams, body: MetricsBody }, bodyLimit: 256 * 1024 }, async (req) => {
    const now = ctx.clock.now();
    if (!(await ctx.store.getNode(req.params.id))) throw notFound('node', req.params.id, 'register first');
    const modules = Object.fromEntries(Object.entries(req.body.modules).map(([m, c]) => [m, {
      ...c, latency_buckets: c.latency_buckets ?? new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
    }]));
    // The server's clock stamps samples: agents' clocks may drift, windows must not.
    await ctx.store.insertMetrics(req.params.id, now, modules);
    if (req.body.signal_problems) {
      await ctx.store.setNodeSignalProblems(req.params.id, Object.entries(req.body.signal_problems).map(([module, p]) => ({
        module, source: p.source, reason: p.reason, message: p.message, since: now - p.for_ms,
      })), now);
    }
    await ctx.store.touchNode(req.params.id, now);
    return { recorded: true };
  });
}

/**
 * Whether a registration admits the node into the fleet (docs/security.md, "Enrolment"): an
 * admin's, a join token's while it has uses left, or any under open enrolment. The fleet token
 * alone registers a node as pending: it gets the stable versions, and counts in no gate.
 */
async function admits(ctx: AppContext, caller: Caller, nodeId: string): Promise<boolean> {
  if (caller.role === 'admin' || ctx.enrolment === 'open') return true;
  if (caller.role !== 'join' || caller.token_hash === undefined) return false;
  const known = await ctx.store.getNode(nodeId);
  if (known && known.enrolment !== 'pending') return true;
  return ctx.store.takeJoinUse(caller.token_hash);
}

function wrongNode(mine: string, id: string): ApiError {
  return new ApiError(403, 'WRONG_NODE', `this credential belongs to node ${mine}, not ${id}`, 'each agent uses the credential it made for its own --node-id');
}

function nodeBound(id: string): ApiError {
  return new ApiError(403, 'NODE_BOUND', `node ${id} is enrolled with another credential`, `if this node was rebuilt and lost its credential, release it first: failsmall nodes release ${id}`);
}

