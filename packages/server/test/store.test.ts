import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { envelopeSha256, type Declarations, type ModuleCounters, type PolicySpec, type RolloutEvent, type RolloutState } from '@failsmall/core';
import { FLEET_FULL_EVERY_MS, FLEET_LAG_MS, FleetView } from '../src/controller/fleet-view.ts';
import { METRICS_LAG_MS, MetricsView } from '../src/controller/metrics-view.ts';
import { openStore, parseStoreUrl, type SqlStore, type StoreConfig } from '../src/store/index.ts';

const T0 = 1_760_000_000_000;
const PG_HOST = '127.0.0.1';
const PG_PORT = 5432;

/** One engine under test: hands out a fresh, empty store location per test. */
interface Engine {
  readonly name: 'sqlite' | 'postgres';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  freshConfig(): Promise<StoreConfig>;
}

function sqliteEngine(): Engine {
  let dir = '';
  let n = 0;
  return {
    name: 'sqlite',
    async setup() { dir = mkdtempSync(join(tmpdir(), 'failsmall-store-')); },
    async teardown() { if (dir) rmSync(dir, { recursive: true, force: true }); },
    // A nested, missing directory also checks that the store creates it.
    async freshConfig() { return { engine: 'sqlite', path: join(dir, `t${++n}`, 'failsmall.db') }; },
  };
}

/** One database per run (dropped afterwards), one schema per test inside it. */
function postgresEngine(): Engine {
  const database = `failsmall_test_${randomBytes(6).toString('hex')}`;
  let admin: pg.Client | undefined;
  let unavailable: Error | undefined;
  let n = 0;
  const connect = async (db: string): Promise<pg.Client> => {
    const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database: db });
    await client.connect();
    return client;
  };
  return {
    name: 'postgres',
    // A missing PostgreSQL fails every postgres test with this message: never a silent skip.
    async setup() {
      try {
        const root = await connect('postgres');
        try { await root.query(`CREATE DATABASE ${database}`); } finally { await root.end(); }
        admin = await connect(database);
      } catch (err) {
        unavailable = new Error(
          `PostgreSQL is required for the postgres store tests but is not usable at ${PG_HOST}:${PG_PORT} ` +
          `(user postgres, trust auth, database "postgres"): ${(err as Error).message}. ` +
          'Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
          { cause: err },
        );
      }
    },
    async teardown() {
      await admin?.end();
      if (!admin) return;
      const root = await connect('postgres');
      try { await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`); } finally { await root.end(); }
    },
    async freshConfig() {
      if (unavailable) throw unavailable;
      if (!admin) throw new Error('PostgreSQL test database was not created');
      const schema = `t${++n}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      const options = encodeURIComponent(`-c search_path=${schema}`);
      return { engine: 'postgres', url: `postgres://postgres@${PG_HOST}:${PG_PORT}/${database}?options=${options}` };
    },
  };
}

// ── fixtures ──────────────────────────────────────────────────────────────────

const policy: PolicySpec = {
  name: 'default',
  stages: [{
    name: 'canary',
    scope: { type: 'percent', percent: 1, selector: [], text: '1%' },
    health_gates: [],
    rollback_on_failure: true,
    bake_ms: 60_000,
    interval_ms: 5_000,
    load_timeout_ms: 30_000,
    max_extension_ms: 120_000,
    on_inconclusive: 'pause',
    manual_approval: false,
  }],
};

const declarations: Declarations = {
  modules: [{ name: 'bot-management', on_load_failure: 'serve-stale' }],
  artifacts: [{ name: 'bot-features', kind: 'feature-file', module: 'bot-management', validation: { max_entries: 200, max_bytes: 1_000_000 } }],
  policies: [policy],
};

function rollout(over: Partial<RolloutState> = {}): RolloutState {
  return {
    id: 'r1', artifact: 'bot-features', module: 'bot-management', policy: 'default', policy_spec: policy,
    from_version: 'v1', to_version: 'v2', status: 'running', phase: 'applying', stage_index: 0,
    stage_started_at: T0, bake_started_at: null, last_evaluated_at: null, assigned: [],
    paused_phase: null, paused_status: null, pause_reason: null, extension_base: null,
    rollback_cause: null, rollback_started_at: null, last_verdicts: [], outcome: null,
    created_at: T0, updated_at: T0, created_by: 'alice', rev: 1,
    ...over,
  };
}

function event(type: string, rolloutId: string | null, at = T0, payload: Record<string, unknown> = {}): RolloutEvent {
  return { type, at, rollout_id: rolloutId, payload };
}

function counters(over: Partial<ModuleCounters> = {}): ModuleCounters {
  return {
    requests: 100, errors: 1, loads_attempted: 1, loads_succeeded: 1,
    latency_buckets: [10, 20, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40], counters: { blocked: 3 },
    ...over,
  };
}

// ── the suite, run once per engine ────────────────────────────────────────────

for (const engine of [sqliteEngine(), postgresEngine()]) {
  describe(`store on ${engine.name}`, () => {
    const open: SqlStore[] = [];
    before(() => engine.setup());
    after(async () => {
      for (const s of open) await s.close().catch(() => undefined);
      await engine.teardown();
    });

    async function freshStore(): Promise<{ store: SqlStore; config: StoreConfig }> {
      const config = await engine.freshConfig();
      const store = await openStore(config);
      open.push(store);
      return { store, config };
    }

    it('runs migrations once: reopening keeps the data and migrates nothing twice', async () => {
      const { store, config } = await freshStore();
      assert.equal(store.engine, engine.name);
      await store.createToken({ name: 'ci', role: 'admin', hash: 'h1' }, T0);
      await store.close();
      const again = await openStore(config);
      open.push(again);
      assert.deepEqual(await again.findToken('h1'), { name: 'ci', role: 'admin', expires_at: null });
      const third = await openStore(config);
      open.push(third);
      assert.equal(await third.countTokens(), 1);
    });

    it('applies declarations idempotently, versions changes and keeps the history', async () => {
      const { store } = await freshStore();
      const first = await store.applyDeclarations(declarations, { actor: 'alice', file: 'failsmall.yaml' });
      assert.deepEqual(first.changes.map((c) => [c.kind, c.name, c.change, c.version]), [
        ['module', 'bot-management', 'created', 1],
        ['artifact', 'bot-features', 'created', 1],
        ['policy', 'default', 'created', 1],
      ]);
      const applied = await store.listEvents({ types: ['declarations.applied'] });
      assert.equal(applied.length, 1);
      assert.equal(applied[0]?.payload['actor'], 'alice');
      assert.equal(applied[0]?.payload['file'], 'failsmall.yaml');

      const second = await store.applyDeclarations(declarations, { actor: 'bob' });
      assert.ok(second.changes.every((c) => c.change === 'unchanged' && c.version === 1));
      assert.equal((await store.listEvents({ types: ['declarations.applied'] })).length, 1, 'an unchanged apply appends no event');

      // Same spec with keys in another order is still unchanged.
      const reordered: Declarations = { ...declarations, modules: [{ on_load_failure: 'serve-stale', name: 'bot-management' }] };
      assert.equal((await store.applyDeclarations(reordered, { actor: 'bob' })).changes[0]?.change, 'unchanged');

      const changed: Declarations = {
        ...declarations,
        modules: [{ name: 'bot-management', on_load_failure: 'fail-closed', reason: 'never serve unscored bot traffic' }],
      };
      const third = await store.applyDeclarations(changed, { actor: 'carol' });
      assert.deepEqual(third.changes.map((c) => c.change), ['updated', 'unchanged', 'unchanged']);
      assert.equal(third.changes[0]?.version, 2);
      const events = await store.listEvents({ types: ['declarations.applied'] });
      assert.equal(events.length, 2);
      assert.deepEqual(events[1]?.payload['changes'], [{ kind: 'module', name: 'bot-management', change: 'updated', version: 2 }]);

      assert.deepEqual(await store.getModule('bot-management'), changed.modules[0]);
      assert.deepEqual(await store.listModules(), changed.modules);
      assert.deepEqual(await store.listPolicies(), declarations.policies);
      assert.deepEqual(await store.getPolicy('default'), declarations.policies[0]);
      assert.equal(await store.getPolicy('nope'), undefined);

      const history = await store.declarationHistory('module', 'bot-management');
      assert.deepEqual(history.map((h) => [h.version, h.actor, h.spec]), [
        [1, 'alice', declarations.modules[0]],
        [2, 'carol', changed.modules[0]],
      ]);
      assert.equal(typeof history[0]?.applied_at, 'number');
    });

    it('keeps an artifact\'s current version across re-applies', async () => {
      const { store } = await freshStore();
      await store.applyDeclarations(declarations, { actor: 'alice' });
      assert.deepEqual(await store.getArtifact('bot-features'), { ...declarations.artifacts[0], current_version: null, declaration_version: 1 });

      assert.deepEqual(await store.createRollout(rollout({ from_version: null }), []), { ok: true });
      assert.equal(await store.transitionRollout(rollout({ status: 'completed', rev: 2 }), []), true);
      const limits: Declarations = {
        ...declarations,
        artifacts: [{ name: 'bot-features', kind: 'feature-file', module: 'bot-management', validation: { max_entries: 400 } }],
      };
      await store.applyDeclarations(limits, { actor: 'alice' });
      const artifact = await store.getArtifact('bot-features');
      assert.equal(artifact?.current_version, 'v2');
      assert.equal(artifact?.declaration_version, 2);
      assert.deepEqual(artifact?.validation, { max_entries: 400 });
      assert.deepEqual((await store.listArtifacts()).map((a) => a.name), ['bot-features']);
    });

    it('stores versions immutably: same sha is a no-op, another sha conflicts, content round-trips byte for byte', async () => {
      const { store } = await freshStore();
      const content = Buffer.from([0, 1, 2, 255, 254, 0, 10, 13, 0x80, 0x7f]);
      const v = { artifact: 'bot-features', version: 'v1', sha256: 'aa'.repeat(32), content, forced: false, created_at: T0 };
      const first = await store.putVersion(v, { actor: 'ci' });
      assert.deepEqual(first, {
        ok: true, created: true,
        version: {
          artifact: 'bot-features', version: 'v1', sha256: v.sha256, size: 10, forced: false, created_at: T0, signature: null, manifest: null,
          entries: null, pushed_by: 'ci', signer: null, checks: null,
        },
      });
      const again = await store.putVersion({ ...v, created_at: T0 + 5 }, { actor: 'ci' });
      assert.deepEqual(again, { ok: true, created: false, version: first.ok ? first.version : undefined });
      const conflict = await store.putVersion({ ...v, sha256: 'bb'.repeat(32) }, { actor: 'ci' });
      assert.equal(conflict.ok, false);
      assert.equal(!conflict.ok && conflict.code, 'VERSION_CONFLICT');
      assert.equal(!conflict.ok && conflict.existing.sha256, v.sha256);

      const pushed = await store.listEvents({ types: ['artifact.version_pushed'] });
      assert.equal(pushed.length, 1, 'only the creating push is logged');
      assert.equal(pushed[0]?.payload['actor'], 'ci');

      const got = await store.getVersionContent('bot-features', 'v1');
      assert.ok(got && Buffer.isBuffer(got));
      assert.ok(got.equals(content));
      assert.equal(await store.getVersionContent('bot-features', 'v9'), undefined);
      await store.putVersion({ ...v, version: 'v2', sha256: 'cc'.repeat(32), forced: true, created_at: T0 + 1 }, { actor: 'ci' });
      assert.deepEqual((await store.listVersions('bot-features')).map((r) => [r.version, r.forced]), [['v1', false], ['v2', true]]);
      assert.equal((await store.getVersion('bot-features', 'v2'))?.forced, true);
      await store.putVersion({ ...v, version: 'v3', sha256: 'dd'.repeat(32), signature: 'c2lnbmVk', created_at: T0 + 2 }, { actor: 'ci' });
      assert.equal((await store.getVersion('bot-features', 'v3'))?.signature, 'c2lnbmVk', 'the signature is kept with the version');
      // What a push established round-trips through the engine's columns (bigint on PostgreSQL, JSON text).
      const provenance = {
        entries: 4_000_000_000, signer: { by: 'offline' as const, key: 'sha256:0123456789abcdef', verified: true },
        checks: [{ check: 'max_entries' as const, outcome: 'failed' as const, message: '4000000000 entries > max_entries 200 ≥ “quoted”' }, { check: 'json_schema' as const, outcome: 'skipped' as const, message: 'not run: max_entries failed first' }],
      };
      await store.putVersion({ ...v, version: 'v4', sha256: 'ee'.repeat(32), signature: 'c2lnbmVk', created_at: T0 + 3, ...provenance }, { actor: 'release-bot' });
      const v4 = await store.getVersion('bot-features', 'v4');
      assert.deepEqual({ entries: v4?.entries, signer: v4?.signer, checks: v4?.checks, pushed_by: v4?.pushed_by }, { ...provenance, pushed_by: 'release-bot' });
      assert.deepEqual((await store.listVersions('bot-features')).at(-1), v4);
    });

    it('keeps a version\'s manifest with it: pushing it again with another manifest conflicts', async () => {
      const { store } = await freshStore();
      const manifest = { depends_on: [{ on: 'bot-check', hard: true, at: { line: 2, col: 5 } }, { on: 'session-store', hard: false, fallback: 'read-only cached sessions' }] };
      const v = { artifact: 'bot-features', version: 'v1', sha256: 'aa'.repeat(32), content: Buffer.from('[]'), forced: false, created_at: T0, manifest };
      const first = await store.putVersion(v, { actor: 'ci' });
      const stored = { depends_on: [{ on: 'bot-check', hard: true }, { on: 'session-store', hard: false, fallback: 'read-only cached sessions' }] };
      assert.deepEqual(first.ok && first.version.manifest, stored, 'stored without where a file declared it');
      assert.deepEqual((await store.getVersion('bot-features', 'v1'))?.manifest, stored);
      assert.deepEqual((await store.listVersions('bot-features'))[0]?.manifest, stored);
      const pushed = await store.listEvents({ types: ['artifact.version_pushed'] });
      assert.deepEqual(pushed[0]?.payload['manifest'], stored, 'the event log records what the version declared');

      const again = await store.putVersion({ ...v, manifest: stored }, { actor: 'ci' });
      assert.equal(again.ok && again.created, false, 'the same manifest (same edges) is a no-op');
      for (const other of [null, { depends_on: [] }, { depends_on: [{ on: 'bot-check', hard: false, fallback: 'allow' }] }]) {
        const conflict = await store.putVersion({ ...v, manifest: other }, { actor: 'ci' });
        assert.equal(!conflict.ok && conflict.code, 'VERSION_CONFLICT', JSON.stringify(other));
      }
      const { manifest: _, ...withoutManifest } = v;
      const bare = await store.putVersion({ ...withoutManifest, version: 'v2', sha256: 'bb'.repeat(32) }, { actor: 'ci' });
      assert.equal(bare.ok && bare.version.manifest, null, 'a version pushed without a manifest has none');
    });

    it('registers nodes, logs only registration and real changes, and tracks last_seen_at', async () => {
      const { store } = await freshStore();
      const created = await store.upsertNode({ id: 'n1', labels: { region: 'eu', tier: 'free' }, modules: ['bot-management'] }, T0);
      assert.deepEqual(created, { id: 'n1', labels: { region: 'eu', tier: 'free' }, modules: ['bot-management'], registered_at: T0, last_seen_at: T0, pins: [], signal_problems: [], enrolment: 'approved' });
      await store.upsertNode({ id: 'n1', labels: { tier: 'free', region: 'eu' }, modules: ['bot-management'] }, T0 + 1000);
      await store.touchNode('n1', T0 + 2000);
      assert.equal((await store.getNode('n1'))?.last_seen_at, T0 + 2000);
      assert.deepEqual((await store.listEvents({})).map((e) => e.type), ['node.registered']);

      const updated = await store.upsertNode({ id: 'n1', labels: { region: 'us' }, modules: ['bot-management', 'waf'] }, T0 + 3000);
      assert.deepEqual(updated, { id: 'n1', labels: { region: 'us' }, modules: ['bot-management', 'waf'], registered_at: T0, last_seen_at: T0 + 3000, pins: [], signal_problems: [], enrolment: 'approved' });
      const events = await store.listEvents({});
      assert.deepEqual(events.map((e) => e.type), ['node.registered', 'node.updated']);
      assert.deepEqual(events[1]?.payload['labels'], { region: 'us' });
      await store.upsertNode({ id: 'n0', labels: {}, modules: [] }, T0);
      assert.deepEqual((await store.listNodes()).map((n) => n.id), ['n0', 'n1']);
      assert.equal(await store.getNode('nope'), undefined);
    });

    it('keeps incidents: timeline idempotent by dedup, alerts by fingerprint, changes by id, polls, cursors, metric buckets', async () => {
      const { store } = await freshStore();
      const inc = store.incidents;
      const incident = { id: 'inc-1', title: 't', severity: 'sev2' as const, status: 'open' as const, opened_by: 'alert' as const, opened_at: T0, resolved_at: null, rollout_id: null };
      await inc.create(incident, [{ at: T0, kind: 'status', text: 'opened', data: {} }]);
      assert.equal(await inc.addTimeline('inc-1', [{ at: T0 + 2, kind: 'rollout', text: 'b', data: { n: 1 }, dedup: 'event:7' }, { at: T0 + 1, kind: 'note', text: 'a', data: {} }]), 2);
      assert.equal(await inc.addTimeline('inc-1', [{ at: T0 + 2, kind: 'rollout', text: 'b', data: { n: 1 }, dedup: 'event:7' }]), 0, 'the same source twice is recorded once');
      assert.deepEqual((await inc.timeline('inc-1')).map((e) => e.text), ['opened', 'a', 'b'], 'in time order');
      const a = { fingerprint: 'f1', name: 'A', labels: { x: '1' }, status: 'firing' as const, starts_at: T0, ends_at: null };
      assert.equal((await inc.upsertAlerts('inc-1', [a, { ...a, fingerprint: 'f2' }], T0)).fresh.length, 2);
      const again = await inc.upsertAlerts('inc-1', [{ ...a, status: 'resolved', ends_at: T0 + 9 }], T0 + 10);
      assert.deepEqual([again.fresh.length, again.resolved.map((x) => x.fingerprint)], [0, ['f1']]);
      assert.deepEqual((await inc.alerts('inc-1')).map((x) => [x.fingerprint, x.status, x.receipts]), [['f1', 'resolved', 2], ['f2', 'firing', 1]]);
      const change = { id: 'chg-1', summary: 's', timestamp: new Date(T0).toISOString(), services: ['x'], links: [], custom_details: {} };
      assert.equal(await inc.addChange(change, T0), true);
      assert.equal(await inc.addChange(change, T0), false);
      assert.deepEqual((await inc.changes(T0 - 1, T0 + 1)).map((c) => c.id), ['chg-1']);
      await inc.addVendorPoll({ vendor: 'v', at_ms: T0, reachable: false, error: { code: 'TIMEOUT', message: 'no answer in 5000 ms' } });
      assert.equal((await inc.lastVendorPoll('v'))?.reachable, false);
      assert.equal(await inc.cursor('r'), 0);
      await inc.setCursor('r', 5);
      await inc.setCursor('r', 9);
      assert.equal(await inc.cursor('r'), 9);
      assert.equal(await inc.holdingAlerts(['f2', 'nope']), 'inc-1', 'a resolved-only post finds the incident that holds its alerts');
      const joined = await inc.join('inc-1', { about: { artifacts: ['features'], modules: [], dependencies: [], alerts: ['A'] }, at: T0 + 5, rollout: { id: 'r-9', title: 'features v9: gate x failed' } });
      assert.deepEqual([joined?.rollout_id, joined?.title, joined?.about?.artifacts, joined?.about?.alerts, joined?.last_signal_at], ['r-9', 'features v9: gate x failed', ['features'], ['A'], T0 + 5]);
      assert.deepEqual((await inc.get('inc-1'))?.about, joined?.about, 'what it is about is stored');
      const resolved = await inc.setStatus('inc-1', 'resolved', T0 + 60_000, { at: T0 + 60_000, kind: 'status', text: 'resolved', data: {} });
      assert.equal(resolved?.resolved_at, T0 + 60_000);
      assert.deepEqual(await inc.list({ open: true }), []);
      assert.equal(await inc.holdingAlerts(['f2']), undefined, 'a resolved incident holds nothing new');
      await store.upsertNode({ id: 'n1', labels: {}, modules: [] }, T0);
      const counters = { requests: 10, errors: 1, loads_attempted: 0, loads_succeeded: 0, latency_buckets: new Array<number>(14).fill(0), counters: {} };
      const base = Math.floor(T0 / 30_000) * 30_000; // buckets are aligned to the epoch
      await store.insertMetrics('n1', base + 1_000, { proxy: counters });
      await store.insertMetrics('n1', base + 29_000, { proxy: counters });
      await store.insertMetrics('n1', base + 31_000, { proxy: counters });
      const buckets = await inc.metricBuckets(base, base + 60_000, 30_000);
      assert.deepEqual(buckets.map((b) => [b.bucket - base, b.requests, b.errors]).sort((x, y) => x[0]! - y[0]!), [[0, 20, 2], [30_000, 10, 1]]);
    });

    it('keeps break-glass pins per node and the nodes\' break-glass logs, once per entry', async () => {
      const { store } = await freshStore();
      await store.upsertNode({ id: 'n1', labels: {}, modules: [] }, T0);
      const pin = { artifact: 'bot-features', action: 'lkg' as const, version: 'v1', state: 'serving', operator: 'alice', reason: 'bad feature file', nonce: 'n'.repeat(16), since: '2026-11-26T10:00:00.000Z' };
      await store.setNodePins('n1', [pin], T0 + 1);
      await store.setNodePins('n1', [pin], T0 + 2); // unchanged: no second event
      assert.deepEqual((await store.getNode('n1'))?.pins, [pin]);
      const entry = { seq: 1, at: '2026-11-26T10:00:00.000Z', outcome: 'applied' as const, action: 'lkg', operator: 'alice' };
      assert.equal(await store.recordBreakglass('n1', [entry], T0 + 3), 1);
      assert.equal(await store.recordBreakglass('n1', [entry, { ...entry, seq: 2, outcome: 'refused' as const }], T0 + 4), 1, 'a resent entry is ignored');
      const log = await store.listBreakglass({ node: 'n1' });
      assert.deepEqual(log.map((e) => [e.seq, e.outcome, e.node_id]), [[2, 'refused', 'n1'], [1, 'applied', 'n1']]);
      await store.setNodePins('n1', [], T0 + 5);
      assert.deepEqual((await store.getNode('n1'))?.pins, []);
      assert.deepEqual((await store.listEvents({})).map((e) => e.type), ['node.registered', 'node.pins_changed', 'breakglass.command', 'breakglass.command', 'node.pins_changed']);
    });

    it('keeps each reported break-glass envelope once, by sha256; entries and their events carry only the sha256', async () => {
      const { store } = await freshStore();
      await store.upsertNode({ id: 'n1', labels: {}, modules: [] }, T0);
      await store.upsertNode({ id: 'n2', labels: {}, modules: [] }, T0);
      // One fan-out: the same envelope reaches two nodes; a pin's may carry 16 MiB of content, so it is kept once.
      const envelope = { payload: Buffer.from('x'.repeat(300_000)).toString('base64'), signature: 'c2ln' };
      const entry = { seq: 1, at: '2026-11-26T10:00:00.000Z', outcome: 'applied' as const, action: 'pin', operator: 'alice', verified: true, envelope };
      assert.equal(await store.recordBreakglass('n1', [entry], T0 + 1), 1);
      assert.equal(await store.recordBreakglass('n2', [entry, { ...entry, seq: 2, outcome: 'refused' as const, envelope: undefined }], T0 + 2), 2);
      const sha = envelopeSha256(envelope);
      assert.deepEqual(await store.getBreakglassEnvelope(sha), envelope);
      assert.equal(await store.getBreakglassEnvelope('0'.repeat(64)), undefined);
      const rows = await store.db.selectFrom('breakglass_envelopes').select('sha256').execute();
      assert.deepEqual(rows.map((r) => r.sha256), [sha], 'stored once for both nodes');
      const log = await store.listBreakglass({});
      assert.deepEqual(log.map((e) => [e.node_id, e.seq, e.envelope_sha256 ?? null, 'envelope' in e]), [['n2', 2, null, false], ['n2', 1, sha, false], ['n1', 1, sha, false]]);
      const events = await store.listEvents({ types: ['breakglass.command'] });
      assert.deepEqual(events.map((e) => [e.payload.node, e.payload.envelope_sha256 ?? null, 'envelope' in e.payload, e.payload.verified]), [['n1', sha, false, true], ['n2', sha, false, true], ['n2', null, false, true]]);
    });

    it('keeps the latest load per node and artifact, logging only changes', async () => {
      const { store } = await freshStore();
      const report = { node_id: 'n1', artifact: 'bot-features', version: 'v2', ok: false, serving: 'v1', error: 'too many entries: 400 > 200', at: T0, module_state: 'stale' };
      await store.recordLoad(report);
      await store.recordLoad({ ...report, at: T0 + 10_000 });
      await store.recordLoad({ ...report, at: T0 + 20_000 });
      assert.deepEqual(await store.listLoads('bot-features'), [{ ...report, at: T0 + 20_000 }]);
      let logged = await store.listEvents({ types: ['node.load_reported'] });
      assert.equal(logged.length, 1, 'periodic re-reports do not spam the log');
      assert.deepEqual(logged[0]?.payload, { node: 'n1', artifact: 'bot-features', version: 'v2', ok: false, serving: 'v1', error: 'too many entries: 400 > 200', module_state: 'stale' });

      await store.recordLoad({ ...report, version: 'v1', ok: true, serving: 'v1', error: null, at: T0 + 30_000 });
      await store.recordLoad({ node_id: 'n2', artifact: 'bot-features', version: 'v1', ok: true, serving: 'v1', error: null, at: T0 });
      await store.recordLoad({ node_id: 'n1', artifact: 'waf-rules', version: null, ok: true, serving: null, error: null, at: T0 });
      logged = await store.listEvents({ types: ['node.load_reported'] });
      assert.equal(logged.length, 4);
      assert.deepEqual((await store.listLoads('bot-features')).map((l) => [l.node_id, l.version, l.ok]), [['n1', 'v1', true], ['n2', 'v1', true]]);
      assert.deepEqual((await store.listNodeLoads('n1')).map((l) => l.artifact), ['bot-features', 'waf-rules']);
    });

    it('sums metrics per node over a window, excluding samples outside it and other modules', async () => {
      const { store } = await freshStore();
      await store.insertMetrics('n1', T0, { 'bot-management': counters(), waf: counters({ requests: 999 }) });
      await store.insertMetrics('n1', T0 + 10_000, {
        'bot-management': counters({ requests: 50, errors: 0, loads_attempted: 0, loads_succeeded: 0, counters: { blocked: 1, challenged: 2 } }),
      });
      await store.insertMetrics('n2', T0 + 5_000, { 'bot-management': counters({ requests: 7, errors: 7, loads_succeeded: 0 }) });
      await store.insertMetrics('n1', T0 - 1, { 'bot-management': counters({ requests: 1_000_000 }) });
      await store.insertMetrics('n3', T0 + 10_001, { 'bot-management': counters() });

      const byNode = await store.metricsByNode('bot-management', T0, T0 + 10_000);
      assert.deepEqual([...byNode.keys()].sort(), ['n1', 'n2']);
      assert.deepEqual(byNode.get('n1'), {
        requests: 150, errors: 1, loads_attempted: 1, loads_succeeded: 1,
        latency_buckets: [20, 40, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 80],
        counters: { blocked: 4, challenged: 2 }, nodes: 1,
      });
      assert.deepEqual(byNode.get('n2'), { ...counters({ requests: 7, errors: 7, loads_succeeded: 0 }), nodes: 1 });
      assert.equal((await store.metricsByNode('nothing', T0, T0 + 10_000)).size, 0);

      assert.equal(await store.pruneMetrics(T0), 1);
      assert.equal(await store.pruneMetrics(T0), 0);
    });

    it('allows one active rollout per artifact, and a new one once the first is terminal', async () => {
      const { store } = await freshStore();
      assert.deepEqual(await store.createRollout(rollout(), [event('rollout.created', 'r1')]), { ok: true });
      assert.deepEqual(await store.createRollout(rollout({ id: 'r2' }), [event('rollout.created', 'r2')]), { ok: false, code: 'ROLLOUT_ACTIVE', active: 'r1' });
      assert.equal(await store.getRollout('r2'), undefined);
      assert.deepEqual((await store.listEvents({})).map((e) => e.rollout_id), ['r1'], 'a refused create writes no event');

      // Another artifact is independent.
      assert.deepEqual(await store.createRollout(rollout({ id: 'w1', artifact: 'waf-rules', created_at: T0 + 1 }), []), { ok: true });

      assert.equal(await store.transitionRollout(rollout({ status: 'aborted', rev: 2 }), []), true);
      assert.deepEqual(await store.createRollout(rollout({ id: 'r2', created_at: T0 + 2 }), []), { ok: true });

      assert.deepEqual((await store.listRollouts()).map((r) => r.id), ['r2', 'w1', 'r1']);
      assert.deepEqual((await store.listRollouts({ active: true })).map((r) => r.id), ['r2', 'w1']);
      assert.deepEqual((await store.listRollouts({ active: false })).map((r) => r.id), ['r1']);
      assert.deepEqual((await store.listRollouts({ artifact: 'bot-features', limit: 1 })).map((r) => r.id), ['r2']);
      assert.deepEqual(await store.getRollout('r1'), rollout({ status: 'aborted', rev: 2 }));
      assert.deepEqual((await store.listRollouts({ status: ['aborted'] })).map((r) => r.id), ['r1']);
      assert.deepEqual((await store.listRollouts({ status: ['running', 'aborted'] })).map((r) => r.id), ['r2', 'w1', 'r1']);
      assert.deepEqual((await store.listRollouts({ status: [] })).map((r) => r.id), []);
    });

    it('leases: one holder at a time, renewed by its holder, taken over once expired with a new epoch; a stale holder\'s fenced write is refused', async () => {
      const { store } = await freshStore();
      const a = await store.leases.acquire('rollout:r1', 'replica-a', T0, 1000);
      assert.deepEqual(a, { name: 'rollout:r1', holder: 'replica-a', epoch: 1, expires_at: T0 + 1000 });
      assert.equal(await store.leases.acquire('rollout:r1', 'replica-b', T0 + 999, 1000), null, 'held and not expired');
      const renewed = await store.leases.acquire('rollout:r1', 'replica-a', T0 + 500, 1000);
      assert.deepEqual(renewed, { name: 'rollout:r1', holder: 'replica-a', epoch: 1, expires_at: T0 + 1500 }, 'a renewal keeps the epoch');
      assert.equal(await store.leases.acquire('rollout:r1', 'replica-b', T0 + 1499, 1000), null);

      // A writes under its lease; then it stalls past it, B takes over, and A's late write is refused.
      assert.deepEqual(await store.createRollout(rollout(), []), { ok: true });
      const fenceA = { name: 'rollout:r1', holder: 'replica-a', epoch: 1 };
      assert.equal(await store.transitionRollout(rollout({ rev: 2, phase: 'baking' }), [], { ...fenceA, now: T0 + 600 }), true);
      assert.equal(await store.transitionRollout(rollout({ rev: 3 }), [], { ...fenceA, now: T0 + 1500 }), false, 'expired by the writer\'s own clock');
      const b = await store.leases.acquire('rollout:r1', 'replica-b', T0 + 1500, 1000);
      assert.deepEqual(b, { name: 'rollout:r1', holder: 'replica-b', epoch: 2, expires_at: T0 + 2500 });
      assert.equal(await store.transitionRollout(rollout({ rev: 3 }), [event('x', 'r1')], { ...fenceA, now: T0 + 1200 }), false, 'a stale holder whose clock says it still holds: the epoch says no');
      assert.equal((await store.getRollout('r1'))?.rev, 2);
      assert.deepEqual((await store.listEvents({})).map((e) => e.type), [], 'the refused write appended nothing');
      assert.equal(await store.transitionRollout(rollout({ rev: 3 }), [], { name: 'rollout:r1', holder: 'replica-b', epoch: 2, now: T0 + 1600 }), true);
      // A comes back: it is a new taker now, so a further epoch.
      assert.equal(await store.leases.acquire('rollout:r1', 'replica-a', T0 + 2000, 1000), null);
      await store.leases.release('rollout:r1', 'replica-a');
      assert.equal((await store.leases.get('rollout:r1'))?.holder, 'replica-b', 'only the holder can release');
      await store.leases.release('rollout:r1', 'replica-b');
      assert.equal((await store.leases.acquire('rollout:r1', 'replica-a', T0 + 2001, 1000))?.epoch, 3, 'released: taken at once, with a new epoch');
      assert.equal(await store.transitionRollout(rollout({ rev: 4 }), [], { name: 'rollout:nope', holder: 'replica-a', epoch: 1, now: T0 }), false, 'no such lease');
      assert.deepEqual((await store.leases.list('rollout:')).map((l) => l.name), ['rollout:r1']);
      await store.leases.drop('rollout:r1');
      assert.equal(await store.leases.get('rollout:r1'), undefined);
    });

    it('leases: of many replicas racing for a free lease, exactly one wins', async () => {
      const { store } = await freshStore();
      const taken = await Promise.all(Array.from({ length: 8 }, (_, i) => store.leases.acquire('job:recorder', `replica-${i}`, T0, 1000)));
      assert.equal(taken.filter((l) => l !== null).length, 1, JSON.stringify(taken));
      assert.equal(taken.find((l) => l !== null)?.epoch, 1);
    });

    it('the controller\'s fleet view reads only what changed: not heartbeats, and everything again after a takeover or a minute', async () => {
      const { store } = await freshStore();
      let now = T0;
      const view = new FleetView(store, { now: () => now });
      for (let i = 0; i < 50; i++) await store.upsertNode({ id: `n${String(i).padStart(2, '0')}`, labels: { region: i % 2 ? 'eu' : 'us' }, modules: ['bot'] }, T0 - 60_000);
      for (let i = 0; i < 50; i++) await store.recordLoad({ node_id: `n${String(i).padStart(2, '0')}`, artifact: 'features', version: 'v1', ok: true, serving: 'v1', error: null, at: T0 - 60_000 });
      await view.sync(['features']);
      assert.equal(view.lastRead, 100, 'the first sync reads everything');
      assert.deepEqual(view.nodes().map((n) => n.id), (await store.listNodes()).map((n) => n.id));
      now = T0 + 10_000;
      await view.sync(['features']);
      assert.equal(view.lastRead, 0, 'nothing changed: nothing read');
      // A heartbeat and an unchanged registration are not changes; a pin, a label, a load report are.
      await store.touchNode('n00', now);
      await store.upsertNode({ id: 'n01', labels: { region: 'eu' }, modules: ['bot'] }, now);
      await store.setNodePins('n02', [{ artifact: 'features', action: 'pin', version: 'v1', operator: 'alice', reason: 'test', since: '2026-12-06T00:00:00Z' } as never], now);
      await store.upsertNode({ id: 'n03', labels: { region: 'ap' }, modules: ['bot'] }, now);
      await store.recordLoad({ node_id: 'n04', artifact: 'features', version: 'v2', ok: false, serving: 'v1', error: 'too many features', at: now });
      await store.upsertNode({ id: 'n99', labels: {}, modules: ['bot'] }, now);
      now += 1000;
      await view.sync(['features']);
      assert.equal(view.lastRead, 4, 'three nodes and one load report');
      const byId = new Map(view.nodes().map((n) => [n.id, n]));
      assert.equal(byId.size, 51);
      assert.equal(byId.get('n02')?.pins.length, 1);
      assert.deepEqual(byId.get('n03')?.labels, { region: 'ap' });
      assert.deepEqual(view.loads('features').find((l) => l.node_id === 'n04')?.error, 'too many features');
      // The view equals a full read, but for heartbeats (last_seen_at), which it does not follow.
      const rollout_relevant = (nodes: readonly { last_seen_at: number }[]) => nodes.map(({ last_seen_at: _, ...rest }) => rest);
      assert.deepEqual(rollout_relevant(view.nodes()), rollout_relevant(await store.listNodes()));
      assert.deepEqual(view.loads('features').sort((a, b) => a.node_id.localeCompare(b.node_id)), await store.listLoads('features'));
      // Rows are read again while they are within FLEET_LAG_MS of the last look, then no more.
      now += 1000;
      await view.sync(['features']);
      assert.equal(view.lastRead, 4, 'still within the lag of the last look');
      now += FLEET_LAG_MS + 1;
      await view.sync(['features']);
      now += 1000;
      await view.sync(['features']);
      assert.equal(view.lastRead, 0);
      view.invalidate();
      await view.sync(['features']);
      assert.equal(view.lastRead, 101, 'after a takeover: everything');
      now += FLEET_FULL_EVERY_MS;
      await view.sync(['features']);
      assert.equal(view.lastRead, 101, 'and every minute whatever the deltas said');
      await view.sync([]);
      assert.deepEqual(view.loads('features'), [], 'an artifact no rollout watches is forgotten');
    });

    it('the controller\'s metric windows in memory sum each node exactly as metricsByNode does, reading only new pushes', async () => {
      const { store } = await freshStore();
      let now = T0;
      const view = new MetricsView(store, { now: () => now });
      const push = async (node: number, at: number, i: number) => store.insertMetrics(`n${node}`, at, {
        proxy: { requests: 100 + i, errors: i % 3, loads_attempted: i % 2, loads_succeeded: 0, latency_buckets: i % 4 === 0 ? [] : [i, 2 * i, 3], counters: i % 5 === 0 ? { retries: i } : {} },
        other: { requests: 1, errors: 0, loads_attempted: 0, loads_succeeded: 0, latency_buckets: [], counters: {} },
      });
      for (let i = 0; i < 120; i++) await push(i % 20, T0 - 60_000 + i * 500, i);
      const sorted = (m: Map<string, unknown> | undefined) => [...(m ?? new Map()).entries()].sort(([a], [b]) => a.localeCompare(b));
      await view.sync([{ module: 'proxy', fromMs: T0 - 60_000 }]);
      assert.equal(view.lastRead, 120);
      for (const [from, to] of [[T0 - 60_000, T0], [T0 - 30_000, T0 - 10_000], [T0 - 59_500, T0 - 59_500]] as const) {
        assert.deepEqual(sorted(view.byNode('proxy', from, to)), sorted(await store.metricsByNode('proxy', from, to)), `[${from - T0}, ${to - T0}]`);
      }
      assert.equal(view.byNode('proxy', T0 - 61_000, T0), undefined, 'a window wider than held is the store\'s to answer');
      assert.equal(view.byNode('other', T0 - 60_000, T0), undefined, 'a module not watched');
      // New pushes: only they are read (and the lag's re-reads, deduplicated).
      now = T0 + 2000;
      for (let i = 120; i < 140; i++) await push(i % 20, T0 + 1000 + (i - 120), i);
      await view.sync([{ module: 'proxy', fromMs: T0 - 50_000 }]);
      assert.equal(view.lastRead, 20, 'the new pushes only: ids above the highest seen');
      assert.deepEqual(sorted(view.byNode('proxy', T0 - 50_000, now)), sorted(await store.metricsByNode('proxy', T0 - 50_000, now)));
      // Every METRICS_LAG_MS, the last METRICS_LAG_MS are read again (late commits on PostgreSQL), and count once.
      now += METRICS_LAG_MS;
      await view.sync([{ module: 'proxy', fromMs: T0 - 50_000 }]);
      assert.equal(view.lastRead, (await store.metricSamplesSince('proxy', { atMs: T0 + 2000 - METRICS_LAG_MS })).length, 'the pushes within the lag of the last look, read again');
      assert.deepEqual(sorted(view.byNode('proxy', T0 - 50_000, now)), sorted(await store.metricsByNode('proxy', T0 - 50_000, now)), 'samples read twice count once');
    });

    it('pages rollouts newest first with a keyset cursor, ties on created_at broken by id', async () => {
      const { store } = await freshStore();
      // Five rollouts of five artifacts; c and d start in the same millisecond.
      const made = [['a', T0], ['b', T0 + 1], ['c', T0 + 2], ['d', T0 + 2], ['e', T0 + 3]] as const;
      for (const [id, at] of made) assert.deepEqual(await store.createRollout(rollout({ id, artifact: `art-${id}`, created_at: at }), []), { ok: true });
      const pages: string[][] = [];
      let before: { created_at: number; id: string } | undefined;
      for (;;) {
        const page = await store.listRollouts({ limit: 2, ...(before ? { before } : {}) });
        if (page.length === 0) break;
        pages.push(page.map((r) => r.id));
        const last = page.at(-1)!;
        before = { created_at: last.created_at, id: last.id };
      }
      assert.deepEqual(pages, [['e', 'd'], ['c', 'b'], ['a']], 'every rollout once, none twice, across the tie');
      assert.deepEqual((await store.listRollouts({ before: { created_at: T0 + 2, id: 'd' }, artifact: 'art-a' })).map((r) => r.id), ['a']);
    });

    it('refuses concurrent creates of active rollouts for one artifact: exactly one wins', async () => {
      const { store } = await freshStore();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.createRollout(rollout({ id: `c${i}` }), [event('rollout.created', `c${i}`)])));
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.equal((await store.listRollouts({ active: true })).length, 1);
      assert.equal((await store.listEvents({})).length, 1);
    });

    it('transitions with compare-and-set: a stale rev writes nothing; completing sets the current version', async () => {
      const { store } = await freshStore();
      await store.applyDeclarations(declarations, { actor: 'alice' });
      assert.deepEqual(await store.createRollout(rollout({ from_version: null }), [event('rollout.created', 'r1')]), { ok: true });
      const baking = rollout({ phase: 'baking', bake_started_at: T0 + 1000, assigned: ['n1'], updated_at: T0 + 1000, rev: 2 });
      assert.equal(await store.transitionRollout(baking, [event('stage.baking', 'r1', T0 + 1000)]), true);

      const before = await store.listEvents({ rolloutId: 'r1' });
      assert.equal(await store.transitionRollout(rollout({ status: 'completed', rev: 2 }), [event('rollout.completed', 'r1')]), false);
      assert.equal(await store.transitionRollout(rollout({ status: 'completed', rev: 5 }), [event('rollout.completed', 'r1')]), false);
      assert.equal(await store.transitionRollout(rollout({ id: 'missing', rev: 2 }), [event('x', 'missing')]), false);
      assert.deepEqual(await store.getRollout('r1'), baking);
      assert.deepEqual(await store.listEvents({}).then((e) => e.filter((x) => x.rollout_id !== null)), before);
      assert.equal((await store.getArtifact('bot-features'))?.current_version, null);

      const done = { ...baking, status: 'completed' as const, outcome: { stage: 'canary', reason: 'all stages passed' }, updated_at: T0 + 2000, rev: 3 };
      assert.equal(await store.transitionRollout(done, [event('rollout.completed', 'r1', T0 + 2000)]), true);
      assert.deepEqual(await store.getRollout('r1'), done);
      assert.equal((await store.getArtifact('bot-features'))?.current_version, 'v2');
      assert.deepEqual((await store.listEvents({ rolloutId: 'r1' })).map((e) => e.type), ['rollout.created', 'stage.baking', 'rollout.completed']);
    });

    it('refuses to create a rollout from a version that is no longer current, and writes nothing', async () => {
      const { store } = await freshStore();
      await store.applyDeclarations(declarations, { actor: 'alice' });
      // Read "current is none", then another rollout to v1 completed before this create.
      assert.deepEqual(await store.createRollout(rollout({ id: 'first', from_version: null, to_version: 'v1' }), []), { ok: true });
      assert.equal(await store.transitionRollout(rollout({ id: 'first', from_version: null, to_version: 'v1', status: 'completed', rev: 2 }), []), true);
      assert.deepEqual(await store.createRollout(rollout({ id: 'late', from_version: null }), [event('rollout.created', 'late')]), { ok: false, code: 'CURRENT_CHANGED', current: 'v1' });
      assert.equal(await store.getRollout('late'), undefined);
      assert.deepEqual((await store.listEvents({ rolloutId: 'late' })), [], 'a refused create writes no event');
      assert.deepEqual(await store.createRollout(rollout({ id: 'late' }), []), { ok: true }, 'from v1, as the fleet runs now, it starts');
    });

    it('lets exactly one of several concurrent transitions with the same expected rev win', async () => {
      const { store } = await freshStore();
      await store.createRollout(rollout(), []);
      for (let round = 2; round <= 4; round++) {
        const contenders = Array.from({ length: 8 }, (_, i) => rollout({ rev: round, stage_index: i, updated_at: T0 + round * 100 + i }));
        const results = await Promise.all(contenders.map((next, i) => store.transitionRollout(next, [event(`contender.${i}`, 'r1', T0 + round)])));
        assert.equal(results.filter(Boolean).length, 1, `round ${round}: exactly one winner`);
        const winner = results.indexOf(true);
        assert.deepEqual(await store.getRollout('r1'), contenders[winner]);
        const roundEvents = (await store.listEvents({ rolloutId: 'r1' })).filter((e) => e.at === T0 + round);
        assert.deepEqual(roundEvents.map((e) => e.type), [`contender.${winner}`], 'only the winner\'s events are written');
      }
    });

    it('keeps the event log append-only: the database refuses UPDATE and DELETE', async () => {
      const { store } = await freshStore();
      await store.appendEvents([event('a', null, T0, { n: 1 }), event('b', 'r1', T0 + 1, { nested: { ok: true } })]);
      await assert.rejects(sql`UPDATE events SET type = 'forged'`.execute(store.db), /append-only/);
      await assert.rejects(sql`DELETE FROM events`.execute(store.db), /append-only/);
      await assert.rejects(store.db.deleteFrom('events').where('type', '=', 'a').execute(), /append-only/);
      if (engine.name === 'postgres') await assert.rejects(sql`TRUNCATE events`.execute(store.db), /append-only/);
      const events = await store.listEvents({});
      assert.deepEqual(events.map((e) => [e.type, e.rollout_id, e.payload]), [['a', null, { n: 1 }], ['b', 'r1', { nested: { ok: true } }]]);
    });

    it('lists events in seq order, after a seq (exclusive), filtered and limited', async () => {
      const { store } = await freshStore();
      const batch = Array.from({ length: 1205 }, (_, i) => event(i % 2 ? 'odd' : 'even', i % 3 ? 'r1' : null, T0 + i));
      await store.appendEvents(batch);
      const page = await store.listEvents({});
      assert.equal(page.length, 1000, 'default limit');
      assert.ok(page.every((e, i) => i === 0 || e.seq > (page[i - 1]?.seq ?? Infinity)));
      assert.equal(typeof page[0]?.seq, 'number');
      const last = page[page.length - 1]?.seq ?? 0;
      const rest = await store.listEvents({ afterSeq: last });
      assert.equal(rest.length, 205);
      assert.ok(rest.every((e) => e.seq > last));
      const odd = await store.listEvents({ types: ['odd'], rolloutId: 'r1', limit: 3 });
      assert.deepEqual(odd.map((e) => e.at), [T0 + 1, T0 + 5, T0 + 7]);
      assert.deepEqual(await store.listEvents({ types: [] }), []);
    });

    it('lists events by type prefix (an underscore is no wildcard), since a time, and the newest N oldest first', async () => {
      const { store } = await freshStore();
      await store.appendEvents([
        event('rollout.started', 'r1', T0), event('rollout.rolled_back', 'r1', T0 + 10), event('rolloutXrolled', 'r1', T0 + 20),
        event('gates.evaluated', 'r1', T0 + 30), event('rollout.rolledXback', 'r2', T0 + 40), event('rollout.completed', 'r2', T0 + 50),
      ]);
      const types = async (f: Parameters<typeof store.listEvents>[0]) => (await store.listEvents(f)).map((e) => e.type);
      assert.deepEqual(await types({ typePrefix: 'rollout.' }), ['rollout.started', 'rollout.rolled_back', 'rollout.rolledXback', 'rollout.completed']);
      assert.deepEqual(await types({ typePrefix: 'rollout.rolled_' }), ['rollout.rolled_back']);
      assert.deepEqual(await types({ since: T0 + 30 }), ['gates.evaluated', 'rollout.rolledXback', 'rollout.completed']);
      assert.deepEqual(await types({ newest: true, limit: 2 }), ['rollout.rolledXback', 'rollout.completed']);
      assert.deepEqual(await types({ newest: true, limit: 2, rolloutId: 'r1', typePrefix: 'rollout' }), ['rollout.rolled_back', 'rolloutXrolled']);
    });

    it('stores tokens by hash and counts them by role', async () => {
      const { store } = await freshStore();
      assert.equal(await store.countTokens(), 0);
      await store.createToken({ name: 'admin', role: 'admin', hash: 'h-admin' }, T0);
      await store.createToken({ name: 'agent-eu', role: 'agent', hash: 'h-eu' }, T0);
      await store.createToken({ name: 'agent-us', role: 'agent', hash: 'h-us' }, T0);
      assert.deepEqual(await store.findToken('h-eu'), { name: 'agent-eu', role: 'agent', expires_at: null });
      assert.equal(await store.findToken('unknown'), undefined);
      assert.equal(await store.countTokens(), 3);
      assert.equal(await store.countTokens('agent'), 2);
      assert.equal(await store.countTokens('admin'), 1);
      await assert.rejects(store.createToken({ name: 'dup', role: 'admin', hash: 'h-admin' }, T0));
    });
  });
}

describe('sqlite store settings and multi-process writers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-store-proc-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uses WAL, a busy timeout, synchronous=NORMAL and foreign keys', async () => {
    const store = await openStore({ engine: 'sqlite', path: join(dir, 'pragmas.db') });
    try {
      const pragma = async (name: string) => Object.values((await sql.raw(`PRAGMA ${name}`).execute(store.db)).rows[0] ?? {})[0];
      assert.equal(String(await pragma('journal_mode')).toLowerCase(), 'wal');
      assert.equal(await pragma('busy_timeout'), 5000);
      assert.equal(await pragma('synchronous'), 1, 'NORMAL');
      assert.equal(await pragma('foreign_keys'), 1);
    } finally {
      await store.close();
    }
  });

  it('lets exactly one of several processes win a create and a transition on the same file', async () => {
    const path = join(dir, 'race.db');
    const setup = await openStore({ engine: 'sqlite', path });
    await setup.close();
    const storeModule = new URL('../src/store/index.ts', import.meta.url).href;
    const go = Date.now() + 1500;
    // Each child reads before it writes (createRollout checks for an active rollout first), so
    // with a deferred BEGIN the losers would fail with SQLITE_BUSY instead of waiting their turn.
    const child = (i: number) => `
      const { openStore } = await import(${JSON.stringify(storeModule)});
      const store = await openStore({ engine: 'sqlite', path: ${JSON.stringify(path)} });
      const base = ${JSON.stringify(rollout())};
      while (Date.now() < ${go}) await new Promise((r) => setTimeout(r, 1));
      const created = await store.createRollout({ ...base, id: 'p${i}' }, [{ type: 'rollout.created', at: 1, rollout_id: 'p${i}', payload: {} }]);
      const active = created.ok ? 'p${i}' : created.active;
      const moved = await store.transitionRollout({ ...base, id: active, stage_index: ${i}, rev: 2 }, [{ type: 'moved', at: 2, rollout_id: active, payload: { by: ${i} } }]);
      await store.close();
      process.stdout.write(JSON.stringify({ created: created.ok, moved }));`;
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => runChild(child(i))));
    assert.equal(results.filter((r) => r.created).length, 1, 'one create wins');
    assert.equal(results.filter((r) => r.moved).length, 1, 'one transition wins');
    const store = await openStore({ engine: 'sqlite', path });
    try {
      assert.equal((await store.listRollouts()).length, 1);
      assert.deepEqual((await store.listEvents({})).map((e) => e.type), ['rollout.created', 'moved']);
    } finally {
      await store.close();
    }
  });
});

async function runChild(script: string): Promise<{ created: boolean; moved: boolean }> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() }, (err, stdout, stderr) => {
      if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as { created: boolean; moved: boolean });
    });
  });
}

describe('parseStoreUrl', () => {
  it('reads sqlite: URLs, plain paths and postgres URLs', () => {
    assert.deepEqual(parseStoreUrl('sqlite:.failsmall/failsmall.db'), { engine: 'sqlite', path: '.failsmall/failsmall.db' });
    assert.deepEqual(parseStoreUrl('sqlite:///var/lib/fs.db'), { engine: 'sqlite', path: '/var/lib/fs.db' });
    assert.deepEqual(parseStoreUrl('sqlite::memory:'), { engine: 'sqlite', path: ':memory:' });
    assert.deepEqual(parseStoreUrl('/var/lib/fs.db'), { engine: 'sqlite', path: '/var/lib/fs.db' });
    assert.deepEqual(parseStoreUrl('data.db'), { engine: 'sqlite', path: 'data.db' });
    assert.deepEqual(parseStoreUrl('postgres://u@db:5432/fs'), { engine: 'postgres', url: 'postgres://u@db:5432/fs' });
    assert.deepEqual(parseStoreUrl('postgresql://u@db/fs'), { engine: 'postgres', url: 'postgresql://u@db/fs' });
  });

  it('rejects empty locations and unknown schemes', () => {
    assert.throws(() => parseStoreUrl(''), /empty/);
    assert.throws(() => parseStoreUrl('sqlite:'), /no path/);
    assert.throws(() => parseStoreUrl('mysql://db/fs'), /unsupported scheme/);
  });
});

describe('in-memory sqlite store', () => {
  it('opens :memory: and works without a file', async () => {
    const store = await openStore({ engine: 'sqlite', path: ':memory:' });
    try {
      await store.createToken({ name: 'a', role: 'admin', hash: 'h' }, T0);
      assert.equal(await store.countTokens('admin'), 1);
    } finally {
      await store.close();
    }
  });
});
