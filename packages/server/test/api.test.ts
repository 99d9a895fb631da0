import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from '@failsmall/agent';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { call, DECLARATIONS, freshPostgres, testServer, waitFor } from './fixtures.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

async function agentToken(s: Server): Promise<string> {
  const r = await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'join' } });
  assert.equal(r.status, 201);
  return r.body.token as string;
}

async function register(s: Server, token: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await call(s.url, 'POST', '/v1/nodes/register', { token, json: { id: `n${i}`, labels: { tier: i % 2 ? 'free' : 'pro' }, modules: ['bot-management'] } });
    assert.equal(r.status, 200);
  }
}

describe('API: authentication', () => {
  let s: Server;
  before(async () => { s = await testServer(); });
  after(async () => { await s.cleanup(); });

  it('refuses a mutating call without a token, with an unknown token, and an agent token on an admin call', async () => {
    const none = await call(s.url, 'POST', '/v1/apply', { json: { text: DECLARATIONS } });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'UNAUTHENTICATED');
    assert.ok(none.body.error.hint);
    const wrong = await call(s.url, 'POST', '/v1/apply', { token: 'fs_admin_nope', json: { text: DECLARATIONS } });
    assert.equal(wrong.status, 401);
    const agent = await agentToken(s);
    const forbidden = await call(s.url, 'POST', '/v1/apply', { token: agent, json: { text: DECLARATIONS } });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error.code, 'FORBIDDEN');
    assert.deepEqual((await call(s.url, 'GET', '/v1/policies')).body.policies, [], 'nothing was applied');
  });

  it('stores only the token hash', async () => {
    const rows = await s.store.countTokens();
    assert.ok(rows >= 1);
    const found = await s.store.findToken(s.admin);
    assert.equal(found, undefined, 'the raw token is not a key in the store');
  });
});

describe('API: declarations', () => {
  let s: Server;
  before(async () => { s = await testServer(); });
  after(async () => { await s.cleanup(); });

  it('reports every policy error with file, line and column, and changes nothing', async () => {
    const bad = DECLARATIONS.replace('window: 2s', 'window: 2 seconds').replace('scope: 10% nodes', 'scope: ten percent');
    const r = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: bad, file: 'fleet.yaml' } });
    assert.equal(r.status, 400);
    const errors = r.body.error.details.errors as { code: string; file: string; line: number; col: number }[];
    assert.deepEqual(errors.map((e) => e.code).sort(), ['BAD_DURATION', 'BAD_SCOPE']);
    assert.ok(errors.every((e) => e.file === 'fleet.yaml' && e.line > 0 && e.col > 0));
    assert.deepEqual((await call(s.url, 'GET', '/v1/policies')).body.policies, []);
  });

  it('is idempotent, and versions each change', async () => {
    const first = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
    assert.equal(first.status, 200);
    assert.ok(first.body.changes.every((c: { change: string }) => c.change === 'created'));
    const again = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
    assert.ok(again.body.changes.every((c: { change: string }) => c.change === 'unchanged'));
    const edited = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS.replace('bake: 400ms', 'bake: 500ms') } });
    const quick = edited.body.changes.find((c: { name: string }) => c.name === 'quick');
    assert.deepEqual([quick.change, quick.version], ['updated', 2]);
    const history = await call(s.url, 'GET', '/v1/policies/quick');
    assert.deepEqual(history.body.history.map((h: { version: number }) => h.version), [1, 2]);
  });

  it('refuses hostile YAML (an alias bomb, unknown keys) with a clear error and changes nothing', async () => {
    const bomb = ['x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [i, n] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) bomb.push(`x-${n}: &${n} [${new Array(10).fill(`*${i === 0 ? 'a' : ['b', 'c', 'd', 'e', 'f', 'g', 'h'][i - 1]}`).join(',')}]`);
    bomb.push('modules: { m: { on_load_failure: serve-stale } }');
    const r = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: bomb.join('\n'), file: 'bomb.yaml' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'ALIAS_BOMB');
    const unknown = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: 'modules:\n  m: { on_load_failure: serve-stale, on_load_falure: x }\n', file: 'typo.yaml' } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, 'UNKNOWN_KEY');
    assert.deepEqual((await call(s.url, 'GET', '/v1/modules')).body.modules.map((m: { name: string }) => m.name).filter((n: string) => n === 'm'), []);
  });

  it('refuses an oversized body with 413 and a bad JSON body with 400', async () => {
    const huge = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: 'x'.repeat(3 * 1024 * 1024) } });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'PAYLOAD_TOO_LARGE');
    const broken = await call(s.url, 'POST', '/v1/apply', { token: s.admin, body: '{"text": ', type: 'application/json' });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'BAD_JSON');
    const wrongShape = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: 42 } });
    assert.equal(wrongShape.status, 400);
    assert.equal(wrongShape.body.error.code, 'BAD_REQUEST');
  });
});

describe('API: artifact versions', () => {
  let s: Server;
  before(async () => {
    s = await testServer({ maxArtifactBytes: 100_000, validators: { 'waf-rules': 'grep -qv DROP_ALL' } });
    await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
  });
  after(async () => { await s.cleanup(); });

  const features = (n: number) => Buffer.from(JSON.stringify(Array.from({ length: n }, (_, i) => `f${i}`)));

  it('stores a version content-addressed, and pushing it again is a no-op', async () => {
    const r = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: features(60) });
    assert.equal(r.status, 201);
    assert.equal(r.body.version.sha256.length, 64);
    // What the push established is kept with the version: the Artifacts page and `artifact versions` show it.
    assert.equal(r.body.version.entries, 60);
    assert.equal(r.body.version.pushed_by, 'admin');
    assert.deepEqual(r.body.version.checks, [
      { check: 'max_bytes', outcome: 'passed', message: `${features(60).length} bytes ≤ max_bytes 65536` },
      { check: 'max_entries', outcome: 'passed', message: '60 entries ≤ max_entries 200' },
    ]);
    const listed = (await call(s.url, 'GET', '/v1/artifacts/features')).body.versions.find((v: { version: string }) => v.version === 'v1');
    assert.deepEqual(listed, r.body.version, 'the list answers what the push recorded');
    const again = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: features(60) });
    assert.equal(again.status, 200);
    assert.equal(again.body.created, false);
    assert.equal((await fetch(`${s.url}/v1/artifacts/features/versions/v1/content`)).status, 401, 'content needs a token');
    const content = await fetch(`${s.url}/v1/artifacts/features/versions/v1/content`, { headers: { authorization: `Bearer ${s.admin}` } });
    assert.deepEqual(Buffer.from(await content.arrayBuffer()), features(60));
    const unlabelled = await call(s.url, 'POST', '/v1/artifacts/features/versions', { token: s.admin, body: features(61) });
    assert.match(unlabelled.body.version.version, /^[0-9a-f]{12}$/, 'the default label is the sha256 prefix');
  });

  it('refuses a version over its declared limits unless forced, and a changed version under an old label', async () => {
    const over = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: features(240) });
    assert.equal(over.status, 422);
    assert.equal(over.body.error.code, 'VALIDATION_FAILED');
    assert.match(over.body.error.message, /240 entries > max_entries 200/);
    assert.equal((await call(s.url, 'GET', '/v1/artifacts/features')).body.versions.some((v: { version: string }) => v.version === 'v2'), false);
    const forced = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2&force=true', { token: s.admin, body: features(240) });
    assert.equal(forced.status, 201);
    assert.equal(forced.body.version.forced, true);
    assert.equal(forced.body.version.entries, 240);
    assert.deepEqual(forced.body.version.checks.map((c: { check: string; outcome: string }) => `${c.check} ${c.outcome}`), ['max_bytes passed', 'max_entries failed']);
    assert.equal(forced.body.version.checks[1].message, '240 entries > max_entries 200');
    const conflict = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: features(59) });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'VERSION_CONFLICT');
  });

  it('signs every version it stores, and refuses a push whose own signature does not verify', async () => {
    const { generateSigningKeys, keyFingerprint, parsePrivateKey, parsePublicKey, signVersion, verifyVersion } = await import('@failsmall/core');
    const r = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v-signed', { token: s.admin, body: features(3) });
    assert.equal(r.status, 201);
    const pub = parsePublicKey(s.publicKey);
    assert.ok(pub.ok);
    assert.deepEqual(verifyVersion(pub.key, 'features', 'v-signed', r.body.version.sha256, r.body.version.signature), { ok: true });
    assert.deepEqual(r.body.version.signer, { by: 'control-plane', key: keyFingerprint(pub.key), verified: true });
    assert.match(r.body.version.signer.key, /^sha256:[0-9a-f]{16}$/);
    const content = await fetch(`${s.url}/v1/artifacts/features/versions/v-signed/content`, { headers: { authorization: `Bearer ${s.admin}` } });
    assert.equal(content.headers.get('x-failsmall-signature'), r.body.version.signature);
    const stranger = parsePrivateKey(generateSigningKeys().privateKey);
    assert.ok(stranger.ok);
    const { createHash } = await import('node:crypto');
    const body = features(4);
    const forged = signVersion(stranger.key, 'features', 'v-forged', createHash('sha256').update(body).digest('hex'));
    const refused = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v-forged', { token: s.admin, body, headers: { 'x-failsmall-signature': forged } });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'BAD_SIGNATURE');
    // Signed offline with the trusted key: the signer is that key, verified, and not the control plane.
    const own = parsePrivateKey(readFileSync(join(s.dir, 'artifact.key'), 'utf8'));
    assert.ok(own.ok);
    const offline = signVersion(own.key, 'features', 'v-offline', createHash('sha256').update(body).digest('hex'));
    const signed = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v-offline', { token: s.admin, body, headers: { 'x-failsmall-signature': offline } });
    assert.equal(signed.status, 201);
    assert.deepEqual(signed.body.version.signer, { by: 'offline', key: keyFingerprint(pub.key), verified: true });
    assert.notEqual(keyFingerprint(stranger.key), keyFingerprint(pub.key));
  });

  it('runs the declared JSON Schema and the server-configured validator command on push', async () => {
    const text = `
modules: { waf: { on_load_failure: fail-open, safe_default: "[]" } }
artifacts:
  waf-rules:
    kind: config
    module: waf
    validation:
      json_schema: { type: array, items: { type: object, required: [id, action], properties: { action: { enum: [block, log, execute] } } } }
      command: "grep -qv DROP_ALL"
      timeout: 2s
`;
    assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text } })).status, 200);
    const ok = await call(s.url, 'POST', '/v1/artifacts/waf-rules/versions?version=r1', { token: s.admin, body: '[{"id":1,"action":"block"}]' });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.body.version.checks, [
      { check: 'json_schema', outcome: 'passed', message: 'matches its JSON Schema' },
      { check: 'command', outcome: 'passed', message: 'grep -qv DROP_ALL exited 0' },
    ]);
    const forced = await call(s.url, 'POST', '/v1/artifacts/waf-rules/versions?version=r4&force=true', { token: s.admin, body: '[{"id":1,"action":"explode"}]' });
    assert.equal(forced.status, 201);
    assert.deepEqual(forced.body.version.checks.map((c: { check: string; outcome: string }) => `${c.check} ${c.outcome}`), ['json_schema failed', 'command passed']);
    assert.match(forced.body.version.checks[0].message, /^fails its JSON Schema: \/0\/action/);
    const schema = await call(s.url, 'POST', '/v1/artifacts/waf-rules/versions?version=r2', { token: s.admin, body: '[{"id":1,"action":"explode"}]' });
    assert.equal(schema.status, 422);
    assert.match(schema.body.error.message, /fails its JSON Schema/);
    const command = await call(s.url, 'POST', '/v1/artifacts/waf-rules/versions?version=r3', { token: s.admin, body: 'DROP_ALL' });
    assert.equal(command.status, 422);
    assert.deepEqual(command.body.error.details.problems.map((p: { code: string }) => p.code).sort(), ['COMMAND', 'NOT_JSON']);
  });

  it('refuses an upload over the size limit with 413, an unknown artifact with 404, a bad label with 400', async () => {
    const big = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=big', { token: s.admin, body: Buffer.alloc(200_000, 65) });
    assert.equal(big.status, 413);
    const unknown = await call(s.url, 'POST', '/v1/artifacts/nope/versions', { token: s.admin, body: features(1) });
    assert.equal(unknown.status, 404);
    const label = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=../../etc', { token: s.admin, body: features(1) });
    assert.equal(label.status, 400);
    const asJson = await call(s.url, 'POST', '/v1/artifacts/features/versions', { token: s.admin, json: ['a'] });
    assert.equal(asJson.status, 415);
  });
});

describe('API: rollouts', () => {
  let s: Server;
  let agent: string;
  before(async () => {
    s = await testServer();
    agent = await agentToken(s);
    await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
    await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["a"]' });
  });
  after(async () => { await s.cleanup(); });

  it('refuses to start with no registered node', async () => {
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'EMPTY_COHORT');
    assert.deepEqual((await call(s.url, 'GET', '/v1/rollouts')).body.rollouts, []);
  });

  it('404s unknown rollouts, artifacts and versions', async () => {
    for (const path of ['/v1/rollouts/r-nope', '/v1/rollouts/r-nope/events']) {
      const r = await call(s.url, 'GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error.code, 'NOT_FOUND');
    }
    assert.equal((await call(s.url, 'POST', '/v1/rollouts/r-nope/pause', { token: s.admin, json: {} })).status, 404);
    assert.equal((await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v9' } })).status, 404);
    assert.equal((await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'nope', version: 'v1' } })).status, 404);
  });

  it('refuses a second rollout on an artifact that has one running, naming it', async () => {
    await register(s, agent, 4);
    const first = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1', policy: 'held' } });
    assert.equal(first.status, 201);
    const id = first.body.rollout.id as string;
    const second = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'ROLLOUT_ACTIVE');
    assert.match(second.body.error.message, new RegExp(id));
    const aborted = await call(s.url, 'POST', `/v1/rollouts/${id}/abort`, { token: s.admin, json: { reason: 'test' } });
    assert.equal(aborted.status, 200);
    assert.equal(aborted.body.rollout.status, 'rolling_back');
    // the four nodes never loaded anything: with no previous version they confirm at once
    const done = await waitFor('the abort to finish', async () => {
      const r = await call(s.url, 'GET', `/v1/rollouts/${id}`);
      return r.body.rollout.status === 'aborted' ? r.body.rollout : undefined;
    });
    assert.equal(done.outcome.reason, 'aborted by admin: test');
    const twice = await call(s.url, 'POST', `/v1/rollouts/${id}/abort`, { token: s.admin, json: {} });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.code, 'ROLLOUT_FINISHED');
  });

  it('long-polls desired state with an ETag: 304 when nothing changes, the new version as soon as it does', async () => {
    const anonymous = await fetch(`${s.url}/v1/nodes/n0/desired`);
    assert.equal(anonymous.status, 401, 'desired state is for agents only');
    const auth = { authorization: `Bearer ${agent}` };
    const first = await fetch(`${s.url}/v1/nodes/n0/desired`, { headers: auth });
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const body = await first.json() as { artifacts: { artifact: string; version: string | null }[] };
    assert.equal(body.artifacts[0]?.version, null);
    const quiet = await fetch(`${s.url}/v1/nodes/n0/desired?wait=200`, { headers: { ...auth, 'if-none-match': etag } });
    assert.equal(quiet.status, 304);
    const held = fetch(`${s.url}/v1/nodes/n0/desired?wait=20000`, { headers: { ...auth, 'if-none-match': etag } });
    const start = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1', policy: 'held' } });
    assert.equal(start.status, 201);
    const assigned: string[] = start.body.rollout.assigned;
    // n0 may or may not be the canary; poll a canary node instead when it is not
    const res = assigned.includes('n0') ? await held : await fetch(`${s.url}/v1/nodes/${assigned[0]}/desired?wait=20000`, { headers: { ...auth, 'if-none-match': etag } });
    assert.equal(res.status, 200);
    const desired = await res.json() as { artifacts: { version: string | null; sha256: string | null }[] };
    assert.equal(desired.artifacts[0]?.version, 'v1');
    assert.equal(desired.artifacts[0]?.sha256?.length, 64);
    await call(s.url, 'POST', `/v1/rollouts/${start.body.rollout.id}/abort`, { token: s.admin, json: {} });
    if (!assigned.includes('n0')) await held.catch(() => undefined);
  });

  it('an agent that never reports is no data: the rollout pauses for a human and never promotes', async () => {
    await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v-silent', { token: s.admin, body: '["s"]' });
    const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v-silent', policy: 'quick' } });
    assert.equal(r.status, 201);
    const paused = await waitFor('the silent canary to pause the rollout', async () => {
      const st = await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`);
      return st.body.rollout.status === 'paused' ? st.body.rollout : undefined;
    }, 30_000);
    assert.equal(paused.stage_index, 0, 'never promoted past the canary');
    assert.match(paused.pause_reason, /inconclusive past bake \+ max_extension/);
    assert.equal(paused.last_verdicts[0].status, 'inconclusive');
    assert.equal(paused.last_verdicts[0].value, null);
    const events = (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}/events`)).body.events as { type: string }[];
    assert.ok(events.some((e) => e.type === 'rollout.extended'));
    assert.ok(!events.some((e) => e.type === 'rollout.promoted'));
    await call(s.url, 'POST', `/v1/rollouts/${r.body.rollout.id}/abort`, { token: s.admin, json: { reason: 'silent canary' } });
    await waitFor('the abort', async () => (await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`)).body.rollout.status === 'aborted', 30_000);
  });

  it('validates agent reports and metric pushes', async () => {
    const badLoad = await call(s.url, 'POST', '/v1/nodes/n1/loads', { token: agent, json: { artifact: 'features', ok: 'yes' } });
    assert.equal(badLoad.status, 400);
    const impossible = await call(s.url, 'POST', '/v1/nodes/n1/metrics', { token: agent, json: { modules: { proxy: { requests: 1, errors: 5 } } } });
    assert.equal(impossible.status, 400);
    assert.match(impossible.body.error.message, /errors cannot exceed requests/);
    const unknownNode = await call(s.url, 'POST', '/v1/nodes/ghost/metrics', { token: agent, json: { modules: { proxy: { requests: 1 } } } });
    assert.equal(unknownNode.status, 404);
    const badId = await call(s.url, 'POST', '/v1/nodes/register', { token: agent, json: { id: '../etc', labels: {} } });
    assert.equal(badId.status, 400);
  });

  it('serves Prometheus metrics about itself', async () => {
    const res = await fetch(`${s.url}/metrics`);
    const text = await res.text();
    assert.match(text, /failsmall_rollouts\{status="aborted",artifact="features"\} \d/);
    assert.match(text, /failsmall_nodes 4/);
  });

  it('lists rollouts by status, and pages them with a cursor; a bad status or cursor is a 400 that says what is allowed', async () => {
    const all = (await call(s.url, 'GET', '/v1/rollouts')).body as { rollouts: { id: string; status: string }[]; next: string | null };
    assert.ok(all.rollouts.length >= 2, `${all.rollouts.length} rollouts by now`);
    assert.equal(all.next, null, 'everything fits one page');
    const statuses = [...new Set(all.rollouts.map((r) => r.status))];
    for (const status of statuses) {
      const one = (await call(s.url, 'GET', `/v1/rollouts?status=${status}`)).body.rollouts as { id: string }[];
      assert.deepEqual(one.map((r) => r.id), all.rollouts.filter((r) => r.status === status).map((r) => r.id), status);
    }
    const paged: string[] = [];
    let next: string | null = null;
    do {
      const page = (await call(s.url, 'GET', `/v1/rollouts?limit=1${next ? `&before=${next}` : ''}`)).body as typeof all;
      paged.push(...page.rollouts.map((r) => r.id));
      assert.equal(page.rollouts.length, 1);
      next = page.next;
    } while (next !== null);
    assert.deepEqual(paged, all.rollouts.map((r) => r.id), 'one at a time, every rollout once, newest first');
    const badStatus = await call(s.url, 'GET', '/v1/rollouts?status=running,closed');
    assert.equal(badStatus.status, 400);
    assert.match(badStatus.body.error.message, /unknown status "closed" \(one or more of running, paused, rolling_back, completed, rolled_back, aborted, comma-separated\)/);
    const badCursor = await call(s.url, 'GET', '/v1/rollouts?before=r-nope');
    assert.equal(badCursor.status, 400);
    assert.equal(badCursor.body.error.code, 'BAD_CURSOR');
  });

  it('records state-changing API calls in the append-only event log', async () => {
    const events = (await call(s.url, 'GET', '/v1/events?limit=5000')).body.events as { type: string; payload: Record<string, unknown> }[];
    const types = new Set(events.map((e) => e.type));
    for (const t of ['declarations.applied', 'artifact.version_pushed', 'token.created', 'node.registered', 'rollout.started', 'rollout.aborted']) assert.ok(types.has(t), `missing ${t}`);
  });
});

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`a rollout end to end over HTTP with real agents (${engine} store)`, () => {
    let s: Server;
    let pgdb: Awaited<ReturnType<typeof freshPostgres>> | undefined;
    const agents: Agent[] = [];
    before(async () => {
      if (engine === 'postgres') pgdb = await freshPostgres();
      s = await testServer(pgdb ? { store: pgdb.url } : {});
    });
    after(async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await s.cleanup();
      await pgdb?.drop();
    });

    it('completes a good version and rolls back a bad one at the canary, leaving every node on the good one', async () => {
      const token = await agentToken(s);
      await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } });
      for (let i = 0; i < 10; i++) {
        agents.push(new Agent({
          server: s.url, token, nodeId: `node-${i}`, labels: { i: String(i) }, modules: ['bot-management'], publicKey: s.publicKey,
          dir: join(s.dir, `agent-${i}`), metricsIntervalMs: 200, pollWaitMs: 5000,
          callbacks: { 'bot-management': (_path, req) => { if (req.content?.includes('BAD')) throw new Error('module refused BAD'); } },
        }));
      }
      await Promise.all(agents.map((a) => a.start()));
      await waitFor('10 nodes', async () => (await call(s.url, 'GET', '/v1/nodes')).body.nodes.length === 10);
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["good"]' });
      await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v2', { token: s.admin, body: '["BAD"]' });

      const finish = async (version: string) => {
        const r = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version } });
        assert.equal(r.status, 201);
        return waitFor(`rollout of ${version} to finish`, async () => {
          const st = await call(s.url, 'GET', `/v1/rollouts/${r.body.rollout.id}`);
          return ['completed', 'rolled_back', 'aborted', 'paused'].includes(st.body.rollout.status) ? st.body.rollout : undefined;
        }, 30_000);
      };
      const good = await finish('v1');
      assert.equal(good.status, 'completed');
      assert.deepEqual(agents.map((a) => a.serving().features), new Array(10).fill('v1'));
      const bad = await finish('v2');
      assert.equal(bad.status, 'rolled_back');
      assert.equal(bad.outcome.stage, 'canary');
      assert.equal(bad.outcome.verdict.gate, 'bot-management/load_success_rate');
      assert.equal(bad.assigned.length, 1, '10% of 10 nodes is one canary');
      assert.deepEqual(agents.map((a) => a.serving().features), new Array(10).fill('v1'));
      const artifact = await call(s.url, 'GET', '/v1/artifacts/features');
      assert.equal(artifact.body.artifact.current_version, 'v1');

      // a version forced past the declared limits at push is refused again by the agents
      const oversized = JSON.stringify(Array.from({ length: 240 }, (_, i) => `f${i}`));
      const forced = await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v3&force=true', { token: s.admin, body: oversized });
      assert.equal(forced.status, 201);
      const refused = await finish('v3');
      assert.equal(refused.status, 'rolled_back');
      const canary = refused.assigned[0] as string;
      const nodes = (await call(s.url, 'GET', '/v1/nodes')).body.nodes as { id: string; loads: { version: string; ok: boolean; error: string }[] }[];
      const load = nodes.find((n) => n.id === canary)?.loads[0];
      assert.equal(load?.ok, false);
      assert.match(load?.error ?? '', /^validate: 240 entries > max_entries 200/);
      assert.deepEqual(agents.map((a) => a.serving().features), new Array(10).fill('v1'));
    });
  });
}
