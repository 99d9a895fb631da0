import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, freshPostgres, testServer, waitFor } from './fixtures.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

/** One stage, every node, no gates: a rollout completes as soon as the nodes report the load. */
const DECLARATIONS = `
modules:
  bot-management: { on_load_failure: serve-stale }
artifacts:
  features: { kind: feature-file, module: bot-management, policy: at-once }
policies:
  at-once:
    interval: 100ms
    bake: 100ms
    load_timeout: 10s
    stages:
      - { name: all, scope: 100% nodes, health_gates: [] }
`;
const NODES = ['n0', 'n1'];

const HARD_BOT_CHECK = { depends_on: [{ on: 'bot-check', hard: true }, { on: 'session-store', hard: false, fallback: 'read-only cached sessions' }] };

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`the dependency gate at rollout start (${engine} store)`, () => {
    let s: Server;
    let agent: string;
    /** Two people's admin tokens, both made by the first admin: alice approves, bob starts. */
    let alice: string;
    let bob: string;
    let pgdb: Awaited<ReturnType<typeof freshPostgres>> | undefined;

    async function push(version: string, manifest?: unknown, headers: Record<string, string> = {}) {
      return call(s.url, 'POST', `/v1/artifacts/features/versions?version=${version}`, {
        token: s.admin, body: `["${version}"]`,
        headers: { ...(manifest !== undefined ? { 'x-failsmall-manifest': JSON.stringify(manifest) } : {}), ...headers },
      });
    }

    async function start(version: string, extra: Record<string, unknown> = {}, token = s.admin) {
      return call(s.url, 'POST', '/v1/rollouts', { token, json: { artifact: 'features', version, ...extra } });
    }

    /** An approval, made with the given token (the approver is that token's name). */
    async function approve(version: string, token: string, body: Record<string, unknown> = { reason: 'reviewed: bot-check runs beside the proxy in every colo; INC-2211' }) {
      return call(s.url, 'POST', '/v1/approvals', { token, json: { artifact: 'features', version, ...body } });
    }

    /** Every node reports the version loaded; the rollout completes and the version becomes current. */
    async function complete(id: string, version: string): Promise<void> {
      for (const node of NODES) {
        const r = await call(s.url, 'POST', `/v1/nodes/${node}/loads`, { token: agent, json: { artifact: 'features', version, ok: true, serving: version, error: null } });
        assert.equal(r.status, 200);
      }
      await waitFor(`rollout ${id} to complete`, async () => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout.status === 'completed');
    }

    async function rolloutCount(): Promise<number> {
      return (await call(s.url, 'GET', '/v1/rollouts')).body.rollouts.length;
    }

    before(async () => {
      if (engine === 'postgres') pgdb = await freshPostgres();
      s = await testServer(pgdb ? { store: pgdb.url } : {});
      agent = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } })).body.token;
      alice = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'alice', role: 'admin' } })).body.token;
      bob = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'bob', role: 'admin' } })).body.token;
      assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
      for (const id of NODES) await call(s.url, 'POST', '/v1/nodes/register', { token: agent, json: { id, labels: {}, modules: ['bot-management'] } });
      // v1 declares nothing and becomes current.
      assert.equal((await push('v1')).status, 201);
      const v1 = await start('v1');
      assert.equal(v1.status, 201);
      assert.deepEqual(v1.body.dependency_gate, { findings: [], overridden: null });
      await complete(v1.body.rollout.id, 'v1');
    });
    after(async () => {
      await s.cleanup();
      await pgdb?.drop();
    });

    it('stores the manifest with the version', async () => {
      const r = await push('v2', HARD_BOT_CHECK);
      assert.equal(r.status, 201);
      assert.deepEqual(r.body.version.manifest, HARD_BOT_CHECK);
      const listed = (await call(s.url, 'GET', '/v1/artifacts/features')).body.versions as { version: string; manifest: unknown }[];
      assert.deepEqual(listed.map((v) => [v.version, v.manifest]), [['v1', null], ['v2', HARD_BOT_CHECK]]);
    });

    it('refuses a rollout that adds a hard dependency, naming it, with a hint, and creates nothing', async () => {
      const before = await rolloutCount();
      const r = await start('v2');
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'DEPENDENCY_GATE');
      assert.match(r.body.error.message, /^dependency gate refused features v1 → v2: v2 adds a hard dependency on bot-check, which the current version does not depend on: whenever bot-check is down, this version is down too \[new-hard-dependency\]$/);
      assert.match(r.body.error.hint, /failsmall rollout approve features v2 --reason TEXT\), then start it with --override-dependency-gate/);
      assert.deepEqual(r.body.error.details.findings.map((f: { dependency: string; kind: string }) => [f.dependency, f.kind]), [['bot-check', 'new-hard-dependency']],
        'the soft dependency with a fallback is not a finding');
      assert.equal(await rolloutCount(), before, 'no rollout was created');
      assert.equal((await call(s.url, 'GET', '/v1/artifacts/features')).body.artifact.current_version, 'v1');
    });

    it('refuses an override with no approval on record, with the caller\'s own approval, or in the old unauthenticated shape', async () => {
      const none = await start('v2', { override_dependency_gate: true });
      assert.equal(none.status, 409);
      assert.equal(none.body.error.code, 'NO_APPROVAL');
      assert.match(none.body.error.message, /no approval is on record/);
      assert.match(none.body.error.hint, /failsmall rollout approve features v2 --reason TEXT/);
      assert.equal(none.body.error.details.findings[0].dependency, 'bot-check');
      // The approver used to be a name the caller typed: that shape is refused, not silently ignored.
      const old = await start('v2', { override: { approver: 'alice', reason: 'needed' } });
      assert.equal(old.status, 400);
      assert.equal(old.body.error.code, 'BAD_REQUEST');
      const mine = await approve('v2', s.admin);
      assert.equal(mine.status, 201);
      assert.equal(mine.body.approval.approver, 'admin', 'the approver is the token\'s name');
      const self = await start('v2', { override_dependency_gate: true });
      assert.equal(self.status, 403);
      assert.equal(self.body.error.code, 'SELF_APPROVAL');
      assert.equal(await rolloutCount(), 1);
    });

    it('treats a token and the tokens it made as one person, and one name as one person', async () => {
      for (const name of ['Admin ', 'ALICE', 'ａｌｉｃｅ']) {
        const r = await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name, role: 'admin' } });
        assert.equal(r.status, 409, name);
        assert.equal(r.body.error.code, 'TOKEN_NAME_TAKEN');
      }
      // The first admin mints "mallory" and approves with it: still the first admin's own approval.
      const mallory = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'mallory', role: 'admin' } })).body.token as string;
      assert.equal((await approve('v2', mallory)).status, 201);
      const r = await start('v2', { override_dependency_gate: true });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'SELF_APPROVAL');
      assert.equal(await rolloutCount(), 1);
    });

    it('refuses a bad approval and changes nothing', async () => {
      const before = (await call(s.url, 'GET', '/v1/approvals')).body.approvals.length;
      for (const body of [{}, { reason: '   ' }, { reason: 'x'.repeat(2001) }, { reason: 'ok', expires_in_s: 5 }, { reason: 'ok', expires_in_s: 8 * 86400 }, { reason: 'ok', approver: 'bob' }, { reason: 'a\u0007b' }]) {
        const r = await approve('v2', alice, body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.body.error.code, 'BAD_REQUEST');
      }
      assert.equal((await call(s.url, 'POST', '/v1/approvals', { json: { artifact: 'features', version: 'v2', reason: 'ok' } })).status, 401);
      assert.equal((await approve('v9', alice)).body.error.code, 'NOT_FOUND');
      const nothing = await approve('v1', alice);
      assert.equal(nothing.status, 409);
      assert.equal(nothing.body.error.code, 'NOTHING_TO_APPROVE');
      assert.equal((await call(s.url, 'GET', '/v1/approvals')).body.approvals.length, before);
    });

    it('starts with someone else\'s approval, spends it, and records both in the event log', async () => {
      const approval = await approve('v2', alice);
      assert.equal(approval.status, 201);
      const a = approval.body.approval as { id: string; approver: string; from_version: string; findings: { dependency: string }[]; used_by: string | null };
      assert.deepEqual([a.approver, a.from_version, a.findings.map((f) => f.dependency), a.used_by], ['alice', 'v1', ['bot-check'], null]);
      const r = await start('v2', { override_dependency_gate: true }, bob);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const id = r.body.rollout.id as string;
      assert.deepEqual([r.body.dependency_gate.overridden.approver, r.body.dependency_gate.overridden.approval], ['alice', a.id]);

      const events = (await call(s.url, 'GET', `/v1/rollouts/${id}/events`)).body.events as { type: string; payload: Record<string, unknown> }[];
      assert.deepEqual(events.slice(0, 2).map((e) => e.type), ['rollout.started', 'rollout.dependency_gate_overridden']);
      const audit = events[1]?.payload ?? {};
      assert.deepEqual([audit['approver'], audit['approval'], audit['reason'], audit['actor'], audit['from_version'], audit['to_version']],
        ['alice', a.id, 'reviewed: bot-check runs beside the proxy in every colo; INC-2211', 'bob', 'v1', 'v2']);
      assert.deepEqual((audit['findings'] as { dependency: string }[]).map((f) => f.dependency), ['bot-check']);
      const listed = (await call(s.url, 'GET', '/v1/approvals?artifact=features')).body.approvals as { id: string; used_by: string | null }[];
      assert.equal(listed.find((x) => x.id === a.id)?.used_by, id, 'the approval is spent by this rollout');
      const log = (await call(s.url, 'GET', '/v1/events?limit=5000', { token: s.admin })).body.events as { type: string; payload: Record<string, unknown> }[];
      assert.ok(log.some((e) => e.type === 'approval.created' && e.payload.id === a.id && e.payload.approver === 'alice'), 'the approval is in the event log');

      const status = await call(s.url, 'GET', `/v1/rollouts/${id}`);
      assert.equal(status.body.dependency_gate.overridden.approver, 'alice');
      await complete(id, 'v2');
    });

    it('lets through a version whose only new dependency is soft with a fallback, and one that keeps a hard dependency', async () => {
      const soft = { depends_on: [...HARD_BOT_CHECK.depends_on, { on: 'geo-ip', hard: false, fallback: 'treat the client as unknown-country' }] };
      assert.equal((await push('v3', soft)).status, 201);
      const r = await start('v3');
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.body.dependency_gate, { findings: [], overridden: null });
      const events = (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}/events`)).body.events as { type: string }[];
      assert.ok(!events.some((e) => e.type === 'rollout.dependency_gate_overridden'), 'a clear gate records nothing');
      assert.equal((await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.dependency_gate.overridden, null);
      await complete(r.body.rollout.id, 'v3');
    });

    it('refuses a soft dependency without a fallback as a hard one in disguise', async () => {
      await push('v4', { depends_on: [{ on: 'bot-check', hard: true }, { on: 'geo-ip', hard: false }] });
      const r = await start('v4');
      assert.equal(r.status, 409);
      assert.deepEqual(r.body.error.details.findings.map((f: { dependency: string; kind: string }) => [f.dependency, f.kind]), [['geo-ip', 'soft-without-fallback']]);
      assert.match(r.body.error.message, /v3 → v4: v4 drops the fallback of its soft dependency on geo-ip/);
    });

    it('lets one rollout through per approval: after an abort, the same version needs a new one', async () => {
      assert.equal((await approve('v4', alice, { reason: 'geo-ip has a cache in the proxy now' })).status, 201);
      const first = await start('v4', { override_dependency_gate: true }, bob);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal((await call(s.url, 'POST', `/v1/rollouts/${first.body.rollout.id}/abort`, { token: s.admin, json: { reason: 'changed my mind' } })).status, 200);
      await waitFor('the abort', async () => (await call(s.url, 'GET', `/v1/rollouts/${first.body.rollout.id}`)).body.rollout.status === 'aborted');
      const again = await start('v4', { override_dependency_gate: true }, bob);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'NO_APPROVAL');
      assert.match(again.body.error.message, /already used \(by r-/);
    });

    it('refuses a bad manifest with a clear message and stores nothing', async () => {
      const cases: [unknown, RegExp][] = [
        [{ depends_on: [{ on: 'bot-check', hard: 'yes' }] }, /^invalid manifest: depends_on\[0\]\.hard: /],
        [{ depends_on: [{ on: 'bot check', hard: true }] }, /depends_on\[0\]\.on: a dependency name uses letters/],
        [{ depends_on: [{ on: 'a', hard: true }, { on: 'a', hard: false, fallback: 'x' }] }, /depends_on\[1\]\.on: depends on "a" twice/],
        [{ depends_on: [{ on: 'a', hard: true, fallbak: 'x' }] }, /depends_on\[0\]: .*fallbak/],
        [{ dependson: [] }, /^invalid manifest: /],
      ];
      for (const [manifest, message] of cases) {
        const r = await push('v-bad', manifest);
        assert.equal(r.status, 400, JSON.stringify(manifest));
        assert.equal(r.body.error.code, 'BAD_MANIFEST');
        assert.match(r.body.error.message, message);
        assert.match(r.body.error.hint, /depends_on/);
      }
      const notJson = await push('v-bad', undefined, { 'x-failsmall-manifest': '{ depends_on: [' });
      assert.equal(notJson.status, 400);
      assert.match(notJson.body.error.message, /header is not JSON/);
      const huge = await push('v-bad', { depends_on: Array.from({ length: 40 }, (_, i) => ({ on: `s${i}`, hard: false, fallback: 'cache' })) });
      assert.equal(huge.status, 400);
      assert.match(huge.body.error.message, /at most 32 dependencies/);
      const versions = (await call(s.url, 'GET', '/v1/artifacts/features')).body.versions as { version: string }[];
      assert.ok(!versions.some((v) => v.version === 'v-bad'), 'nothing was stored');
    });

    it('keeps versions immutable, manifest included', async () => {
      const again = await push('v2', HARD_BOT_CHECK);
      assert.equal(again.status, 200, 'the same content and manifest is a no-op');
      const other = await push('v2', { depends_on: [] });
      assert.equal(other.status, 409);
      assert.equal(other.body.error.code, 'VERSION_CONFLICT');
      assert.match(other.body.error.message, /the same content but another manifest/);
    });
  });
}
