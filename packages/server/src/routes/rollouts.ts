import { randomBytes } from 'node:crypto';
import {
  applyCommand, pickApproval, ROLLOUT_STATUSES, stageSizeWarnings, startRollout, TERMINAL_STATUSES, type ChangeTouches, type Command, type DependencyFinding, type FleetNode, type GateApproval, type RolloutEvent, type RolloutState, type RolloutStatus,
} from '@failsmall/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { fleetFor } from '../controller/observations.ts';
import { callerOf } from '../http/access.ts';
import { ApiError, notFound } from '../http/errors.ts';
import { gateFindings } from './approvals.ts';
import { startRefused } from './empty-cohort.ts';
import { nextEvents } from './events.ts';

const Names = z.array(z.string().trim().min(1).max(256)).max(100);
/** What this change touches beyond its module, added to what the artifact declares (`touches:`); triage and incidents read it. */
const Touches = z.object({ dependencies: Names, services: Names, regions: Names }).partial().strict();
const StartBody = z.object({
  artifact: z.string().min(1),
  version: z.string().min(1),
  policy: z.string().min(1).optional(),
  touches: Touches.optional(),
  /** Starts past the dependency gate's findings with a second person's approval on record (POST /v1/approvals); recorded in the event log. */
  override_dependency_gate: z.boolean().optional(),
  /** Why: kept in the rollout.started event, as pause, resume, promote and abort keep theirs. */
  reason: z.string().trim().min(1).max(2000).optional(),
}).strict();
const GATE_OVERRIDDEN = 'rollout.dependency_gate_overridden';
const CommandBody = z.object({ reason: z.string().max(2000).optional() }).optional();
const IdParams = z.object({ id: z.string().min(1).max(100) });
/** `status=running,paused`: one or more statuses, comma-separated. */
const Statuses = z.string().transform((text, zctx) => {
  const names = text.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const bad = names.filter((x) => !(ROLLOUT_STATUSES as readonly string[]).includes(x));
  if (names.length === 0 || bad.length > 0) {
    zctx.addIssue({ code: 'custom', message: `${bad.length > 0 ? `unknown status ${bad.map((b) => `"${b}"`).join(', ')}` : 'no status named'} (one or more of ${ROLLOUT_STATUSES.join(', ')}, comma-separated)` });
    return z.NEVER;
  }
  return names as RolloutStatus[];
});
const ListQuery = z.object({
  active: z.enum(['true', 'false']).optional(),
  artifact: z.string().optional(),
  status: Statuses.optional(),
  /** A keyset cursor: rollouts older than this one (the previous page's `next`). */
  before: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** Rollouts: start one, follow it, and steer it by hand (pause, resume, promote, abort). */
export async function rolloutRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/rollouts', { config: { access: 'deployer' }, schema: { body: StartBody } }, async (req, reply) => {
    const caller = callerOf(req);
    const artifact = await ctx.store.getArtifact(req.body.artifact);
    if (!artifact) throw notFound('artifact', req.body.artifact, 'declare it with failsmall apply');
    const version = await ctx.store.getVersion(artifact.name, req.body.version);
    if (!version) throw notFound('version', `${artifact.name}@${req.body.version}`, 'push it first with failsmall artifact push');
    const policyName = req.body.policy ?? artifact.policy;
    if (!policyName) throw new ApiError(400, 'POLICY_REQUIRED', `artifact ${artifact.name} names no default policy`, 'pass --policy NAME, or set policy: on the artifact');
    const policy = await ctx.store.getPolicy(policyName);
    if (!policy) throw notFound('policy', policyName, 'failsmall apply a file that declares it');
    if (policy.artifact !== undefined && policy.artifact !== artifact.name) {
      throw new ApiError(409, 'POLICY_MISMATCH', `policy ${policy.name} is for artifact ${policy.artifact}, not ${artifact.name}`, 'use a policy without artifact:, or the one bound to this artifact');
    }
    if (artifact.current_version === version.version) {
      throw new ApiError(409, 'NO_CHANGE', `${artifact.name} is already at ${version.version}`, 'push a new version first');
    }
    const active = await ctx.store.listRollouts({ active: true, artifact: artifact.name });
    if (active[0]) throw activeError(artifact.name, active[0]);
    const findings = await gateFindings(ctx, artifact, version);
    let approval: GateApproval | undefined;
    if (findings.length > 0) {
      if (!req.body.override_dependency_gate) throw dependencyGateError(artifact.name, artifact.current_version, version.version, findings);
      // Four eyes: the approval is someone else's, made with their own token, against these very findings.
      const picked = pickApproval(await ctx.store.approvals.forVersion(artifact.name, version.version), findings, caller.name, ctx.clock.now(), await ctx.store.tokenLineage());
      if (!picked.ok) {
        throw new ApiError(picked.code === 'SELF_APPROVAL' ? 403 : 409, picked.code, `${artifact.name} ${version.version} cannot pass the dependency gate: ${picked.message}`,
          picked.hint.replace('ARTIFACT VERSION', `${artifact.name} ${version.version}`), { findings });
      }
      approval = picked.approval;
    }
    const nodes = await ctx.store.listNodes();
    const fleet = fleetFor(nodes, artifact.module, artifact.name);
    // A gate split by a label no node has would judge nothing and hold every stage: refuse it up front.
    const labels = new Set(fleet.flatMap((n) => Object.keys(n.labels)));
    for (const stage of policy.stages) {
      for (const g of stage.health_gates) {
        if (g.by !== undefined && fleet.length > 0 && !labels.has(g.by)) {
          throw new ApiError(422, 'UNKNOWN_LABEL', `gate ${g.name} on stage ${stage.name} is split by: ${g.by}, and no node of ${artifact.name}'s fleet has that label`,
            `labels the fleet's nodes have: ${[...labels].sort().join(', ') || 'none'}; agents set theirs with --labels KEY=VALUE`);
        }
      }
    }
    const touches = mergeTouches(artifact.touches, req.body.touches);
    const start = (f: readonly FleetNode[]) => startRollout({
      id: `r-${randomBytes(5).toString('hex')}`, artifact: artifact.name, module: artifact.module, policy,
      fromVersion: artifact.current_version, toVersion: version.version, fleet: f, actor: caller.name, now: ctx.clock.now(), ...(touches ? { touches } : {}), ...(req.body.reason ? { reason: req.body.reason } : {}),
    });
    const started = start(fleet);
    if ('error' in started) {
      throw startRefused(started.error, { nodes, module: artifact.module, artifact: artifact.name, selects: (f) => !('error' in start(f)) });
    }
    const overridden = approval
      ? { findings, approval: approval.id, approver: approval.approver, reason: approval.reason, approved_at: approval.created_at, actor: caller.name }
      : null;
    const events: RolloutEvent[] = [...started.events];
    // Right after rollout.started, in the same transaction: the log never shows the rollout without why it was let through.
    if (overridden) {
      events.splice(1, 0, {
        type: GATE_OVERRIDDEN, at: started.state.created_at, rollout_id: started.state.id,
        payload: { artifact: artifact.name, from_version: artifact.current_version, to_version: version.version, ...overridden },
      });
    }
    const created = await ctx.store.createRollout(started.state, events, approval ? { spendApproval: approval.id } : {});
    if (!created.ok && created.code === 'APPROVAL_SPENT') {
      throw new ApiError(409, 'APPROVAL_SPENT', `approval ${created.approval} was used by another rollout a moment ago`, `ask for a new one: failsmall rollout approve ${artifact.name} ${version.version} --reason TEXT`);
    }
    if (!created.ok && created.code === 'CURRENT_CHANGED') {
      throw new ApiError(409, 'CURRENT_CHANGED', `${artifact.name} moved from ${artifact.current_version ?? '(none)'} to ${created.current ?? '(none)'} while this rollout was being started`, 'run the command again: it will start from the version the fleet runs now');
    }
    if (!created.ok) {
      const other = await ctx.store.getRollout(created.active);
      throw other ? activeError(artifact.name, other) : new ApiError(409, 'ROLLOUT_ACTIVE', `artifact ${artifact.name} already has an active rollout`, 'wait for it, or abort it');
    }
    await ctx.hub.refresh();
    ctx.controller.poke();
    // Said now rather than found by watching: a stage that adds no node on this fleet bakes for nothing.
    const warnings = stageSizeWarnings(policy.stages, fleet);
    return reply.code(201).send({ rollout: started.state, dependency_gate: { findings, overridden }, warnings });
  });

  r.get('/v1/rollouts', { config: { access: 'viewer' }, schema: { querystring: ListQuery } }, async (req) => {
    const limit = req.query.limit ?? 100;
    let before: { created_at: number; id: string } | undefined;
    if (req.query.before !== undefined) {
      const from = await ctx.store.getRollout(req.query.before);
      if (!from) throw new ApiError(400, 'BAD_CURSOR', `before=${req.query.before}: no such rollout`, 'before takes the id of a rollout, the "next" of the page before');
      before = { created_at: from.created_at, id: from.id };
    }
    // One more than asked: whether there is an older page is known without a second query.
    const rows = await ctx.store.listRollouts({
      ...(req.query.active ? { active: req.query.active === 'true' } : {}),
      ...(req.query.artifact ? { artifact: req.query.artifact } : {}),
      ...(req.query.status ? { status: req.query.status } : {}),
      ...(before ? { before } : {}),
      limit: limit + 1,
    });
    const rollouts = rows.slice(0, limit);
    return { rollouts, next: rows.length > limit ? rollouts.at(-1)?.id ?? null : null };
  });

  r.get('/v1/rollouts/:id', { config: { access: 'viewer' }, schema: { params: IdParams } }, async (req) => {
    const state = await ctx.store.getRollout(req.params.id);
    if (!state) throw notFound('rollout', req.params.id, 'failsmall rollout status lists rollouts');
    const loads = await ctx.store.listLoads(state.artifact);
    const assigned = new Set(state.assigned);
    let loaded = 0; let failed = 0;
    for (const l of loads) if (assigned.has(l.node_id) && l.version === state.to_version) { loaded++; if (!l.ok) failed++; }
    const [gate] = await ctx.store.listEvents({ rolloutId: state.id, types: [GATE_OVERRIDDEN], limit: 1 });
    // `now`: the control plane's clock, which every time in the rollout is on; a watch measures bake against it.
    return { rollout: state, cohort: { nodes: state.assigned.length, reported: loaded, failed_loads: failed }, dependency_gate: { overridden: gate?.payload ?? null }, now: ctx.clock.now() };
  });

  r.get('/v1/rollouts/:id/events', {
    config: { access: 'viewer' },
    schema: { params: IdParams, querystring: z.object({ after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(), wait: z.coerce.number().int().min(0).max(60_000).optional(), limit: z.coerce.number().int().min(1).max(5000).optional() }) },
  }, async (req) => {
    const state = await ctx.store.getRollout(req.params.id);
    if (!state) throw notFound('rollout', req.params.id);
    const filter = { rolloutId: state.id, afterSeq: req.query.after ?? 0, limit: req.query.limit ?? 1000 };
    let events = await ctx.store.listEvents(filter);
    const wait = Math.min(req.query.wait ?? 0, ctx.maxWaitMs);
    if (events.length === 0 && wait > 0 && !TERMINAL_STATUSES.includes(state.status)) {
      await nextEvents(ctx, wait, (c) => c.rollouts.includes(state.id));
      if (!ctx.closing?.aborted) events = await ctx.store.listEvents(filter);
    }
    return { events };
  });

  // Stopping is never harder than starting: whoever may start a rollout may pause or abort it.
  // Promoting skips the gates' judgement, so it is an approver's.
  for (const type of ['pause', 'resume', 'promote', 'abort'] as const) {
    r.post(`/v1/rollouts/:id/${type}`, { config: { access: type === 'promote' ? 'approver' : 'deployer' }, schema: { params: IdParams, body: CommandBody } }, async (req) => {
      const caller = callerOf(req);
      const cmd: Command = { type, actor: caller.name, ...(req.body?.reason ? { reason: req.body.reason } : {}) };
      // Compare-and-set can lose to the controller's own tick: decide again on fresh state.
      for (let attempt = 0; attempt < 5; attempt++) {
        const state = await ctx.store.getRollout(req.params.id);
        if (!state) throw notFound('rollout', req.params.id);
        const fleet = type === 'promote' ? fleetFor(await ctx.store.listNodes(), state.module, state.artifact) : [];
        const out = applyCommand(state, cmd, fleet, ctx.clock.now());
        if ('error' in out) throw new ApiError(409, out.error.code, out.error.message, out.error.hint);
        if (await ctx.controller.commit(out.state, out.events)) {
          ctx.controller.poke();
          return { rollout: out.state };
        }
      }
      throw new ApiError(409, 'CONFLICT', `rollout ${req.params.id} kept changing; try again`, 'retry the command');
    });
  }
}

function activeError(artifact: string, active: RolloutState): ApiError {
  return new ApiError(409, 'ROLLOUT_ACTIVE', `artifact ${artifact} already has rollout ${active.id} (${active.status}, ${active.from_version ?? 'none'} → ${active.to_version})`,
    `one rollout per artifact at a time: wait for it, or failsmall rollout abort ${active.id}`, { active: active.id });
}

/** 409 DEPENDENCY_GATE: each finding's sentence, and how to get past it. */
function dependencyGateError(artifact: string, from: string | null, to: string, findings: readonly DependencyFinding[]): ApiError {
  return new ApiError(409, 'DEPENDENCY_GATE',
    `dependency gate refused ${artifact} ${from ?? '(none)'} → ${to}: ${findings.map((f) => `${to} ${f.reason} [${f.kind}]`).join('; ')}`,
    `declare a fallback (hard: false, fallback: "…") in a new version; or have someone else review it and approve it with their own token (failsmall rollout approve ${artifact} ${to} --reason TEXT), then start it with --override-dependency-gate`,
    { findings, from_version: from, to_version: to });
}

/** The names of both, per kind, without repeats; undefined when neither names anything. */
function mergeTouches(a: ChangeTouches | undefined, b: ChangeTouches | undefined): ChangeTouches | undefined {
  const out: { -readonly [K in keyof ChangeTouches]: ChangeTouches[K] } = {};
  for (const k of ['dependencies', 'services', 'regions'] as const) {
    const names = [...new Set([...(a?.[k] ?? []), ...(b?.[k] ?? [])])];
    if (names.length > 0) out[k] = names;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
