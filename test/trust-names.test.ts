/**
 * Issue 11, items 1 and 5, against a real control plane and a real agent: a node holding the
 * fleet token cannot poison another node's desired state through a module name, a long-poll it
 * abandons is forgotten at once, and a name longer than agents accept is refused at apply.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, DECLARATIONS, testServer, waitFor } from '../packages/server/test/fixtures.ts';

async function longPolls(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^failsmall_desired_long_polls (\d+)/m.exec(text)?.[1] ?? NaN);
}

test('one node cannot reach another\'s desired state through names, nor leave long-polls behind', { timeout: 120_000 }, async (t) => {
  const s = await testServer();
  t.after(() => s.cleanup());
  const fleet = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'fleet', role: 'agent' } })).body.token as string;
  assert.equal((await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text: DECLARATIONS } })).status, 200);
  assert.equal((await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v1', { token: s.admin, body: '["one"]' })).status, 201);

  await t.test('a module name holding "," (the poisoning key) is refused at registration, and registers nothing', async () => {
    const r = await call(s.url, 'POST', '/v1/nodes/register', { token: fleet, json: { id: 'ghost', labels: {}, modules: ['bot-management,proxy'] } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(JSON.stringify(r.body), /names are 1-128 letters, digits/);
    const nodes = (await call(s.url, 'GET', '/v1/nodes')).body.nodes as { id: string }[];
    assert.equal(nodes.some((n) => n.id === 'ghost'), false);
  });

  await t.test('a long-poll whose client hangs up is dropped at once, not held until its timeout', async () => {
    assert.equal((await call(s.url, 'POST', '/v1/nodes/register', { token: fleet, json: { id: 'ghost', labels: {}, modules: ['proxy'] } })).status, 200);
    const first = await call(s.url, 'GET', '/v1/nodes/ghost/desired', { token: fleet });
    const etag = first.headers.get('etag') ?? '';
    assert.equal(await longPolls(s.url), 0);
    const abort = new AbortController();
    const held = fetch(`${s.url}/v1/nodes/ghost/desired?wait=60000`, { headers: { authorization: `Bearer ${fleet}`, 'if-none-match': etag }, signal: abort.signal }).catch(() => 'aborted');
    await waitFor('the long-poll to be held', async () => (await longPolls(s.url)) === 1);
    abort.abort();
    assert.equal(await held, 'aborted');
    await waitFor('the abandoned long-poll to be forgotten', async () => (await longPolls(s.url)) === 0, 5_000);
  });

  await t.test('a node gets its own desired state whatever other nodes registered', async () => {
    // Nodes with other module sets, registered before and after the real one.
    for (const [id, modules] of [['n-proxy', ['proxy']], ['n-both', ['bot-management', 'proxy']], ['n-none', []]] as const) {
      assert.equal((await call(s.url, 'POST', '/v1/nodes/register', { token: fleet, json: { id, labels: {}, modules } })).status, 200);
      await call(s.url, 'GET', `/v1/nodes/${id}/desired`, { token: fleet });
    }
    assert.equal((await call(s.url, 'POST', '/v1/nodes/register', { token: fleet, json: { id: 'real', labels: {}, modules: ['bot-management'] } })).status, 200);
    const real = await call(s.url, 'GET', '/v1/nodes/real/desired', { token: fleet });
    assert.deepEqual((real.body.artifacts as { artifact: string }[]).map((x) => x.artifact), ['features']);
    const proxyOnly = await call(s.url, 'GET', '/v1/nodes/n-proxy/desired', { token: fleet });
    assert.deepEqual(proxyOnly.body.artifacts, [], 'a node without the module gets nothing, and shares no answer with the real node');
  });

  await t.test('an artifact name of 129 characters is refused at apply with its line and column, and nothing changes', async () => {
    const long = `f${'x'.repeat(128)}`;
    const text = `${DECLARATIONS}  # end\n`.replace('artifacts:\n  features:', `artifacts:\n  ${long}:\n    kind: feature-file\n    module: bot-management\n    policy: quick\n  features:`);
    const r = await call(s.url, 'POST', '/v1/apply', { token: s.admin, json: { text, file: 'estate.yaml' } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    const err = (r.body.error.details.errors as { code: string; line: number; col: number; message: string; hint: string }[]).find((e) => e.code === 'BAD_NAME');
    assert.ok(err, JSON.stringify(r.body));
    assert.deepEqual([err.line, err.col], [6, 3]);
    assert.match(err.message, /129 characters, more than 128/);
    const artifacts = (await call(s.url, 'GET', '/v1/artifacts')).body.artifacts as { name: string }[];
    assert.deepEqual(artifacts.map((a) => a.name), ['features']);
  });
});
