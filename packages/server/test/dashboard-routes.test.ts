/**
 * What the dashboard reads besides the routes the CLI uses (whoami, a rollout's verdicts over
 * time), and how the control plane serves the page itself: index.html for the page's paths,
 * hashed assets cached for good, a strict Content-Security-Policy, no dashboard without a build.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Agent } from '@failsmall/agent';
import { call, testServer, waitFor } from './fixtures.ts';
import { featureFleet } from './feature-fleet.ts';

function builtDashboard(dir: string): string {
  const web = join(dir, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>failsmall</title><script type="module" src="/assets/index-AbC123.js"></script>');
  writeFileSync(join(web, 'assets', 'index-AbC123.js'), 'console.log(1)');
  return `${web}/`;
}

test('whoami names the token and every role it grants; no token is a 401', async (t) => {
  const s = await testServer({ dashboard: null });
  t.after(() => s.cleanup());
  const viewer = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'vera', role: 'viewer' } })).body.token as string;
  const approver = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'ana', role: 'approver' } })).body.token as string;
  assert.deepEqual((await call(s.url, 'GET', '/v1/whoami', { token: viewer })).body, { name: 'vera', role: 'viewer', grants: ['viewer'] });
  assert.deepEqual((await call(s.url, 'GET', '/v1/whoami', { token: approver })).body.grants.sort(), ['approver', 'deployer', 'viewer']);
  const anonymous = await call(s.url, 'GET', '/v1/whoami', { anonymous: true });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error.code, 'UNAUTHENTICATED');
});

test('a rolled-back rollout\'s verdicts over time end with the failing one, each with value and threshold', { timeout: 60_000 }, async (t) => {
  const s = await testServer({ dashboard: null });
  let agents: Agent[] = [];
  t.after(async () => { await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  agents = await featureFleet(s, { bad: ['v2'], nodes: ['n1', 'n2'] });
  const first = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1' } });
  await waitFor('v1 to complete', async () => (await call(s.url, 'GET', `/v1/rollouts/${first.body.rollout.id}`)).body.rollout.status === 'completed', 30_000);
  const bad = await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v2' } });
  const id = bad.body.rollout.id as string;
  await waitFor('v2 to roll back', async () => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout.status === 'rolled_back', 30_000);
  const r = await call(s.url, 'GET', `/v1/rollouts/${id}/verdicts`);
  assert.equal(r.status, 200);
  assert.ok(r.body.evaluations >= 1 && r.body.verdicts.length >= 1);
  const last = r.body.verdicts.at(-1);
  assert.equal(last.status, 'fail');
  assert.equal(last.stage, 'canary');
  assert.equal(typeof last.threshold, 'number');
  assert.ok(r.body.verdicts.every((v: { at: number }, i: number, all: { at: number }[]) => i === 0 || (all[i - 1]?.at ?? 0) <= v.at), 'oldest first');
  // From a cursor: only what came after it; nothing new after the last, and the cursor stays.
  const firstSeq = (await call(s.url, 'GET', `/v1/events?rollout=${id}&type=gates.evaluated&limit=1`)).body.events[0].seq as number;
  const rest = await call(s.url, 'GET', `/v1/rollouts/${id}/verdicts?after=${firstSeq}`);
  assert.equal(rest.body.evaluations, r.body.evaluations - 1);
  assert.equal(rest.body.last_seq, r.body.last_seq);
  assert.deepEqual(rest.body.verdicts, r.body.verdicts.slice(r.body.verdicts.length / r.body.evaluations));
  const none = await call(s.url, 'GET', `/v1/rollouts/${id}/verdicts?after=${r.body.last_seq}`);
  assert.deepEqual([none.body.verdicts, none.body.last_seq], [[], r.body.last_seq]);
  assert.equal((await call(s.url, 'GET', '/v1/rollouts/r-nope/verdicts')).status, 404);
});

test('the dashboard: index.html for its paths with a strict CSP, immutable hashed assets, nothing outside assets/', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'failsmall-web-'));
  const s = await testServer({ dashboard: builtDashboard(dir) });
  t.after(() => s.cleanup());
  for (const path of ['/', '/rollouts', '/rollouts/r-0123456789', '/fleet', '/incidents', '/incidents/i-1', '/incidents/i-1/postmortem', '/artifacts']) {
    const page = await call(s.url, 'GET', path, { anonymous: true });
    assert.equal(page.status, 200, path);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.body, /<script type="module" src="\/assets\/index-AbC123\.js">/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
  }
  const asset = await call(s.url, 'GET', '/assets/index-AbC123.js', { anonymous: true });
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(asset.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
  assert.equal((await call(s.url, 'GET', '/assets/nope-1.js', { anonymous: true })).status, 404);
  assert.equal((await call(s.url, 'GET', '/assets/..%2Findex.html', { anonymous: true })).status, 400);
  assert.equal((await call(s.url, 'GET', '/assets/%2e%2e%2f%2e%2e%2ffs.db', { anonymous: true })).status, 400);
});

test('without a build, / says how to build the dashboard', async (t) => {
  const s = await testServer({ dashboard: null });
  t.after(() => s.cleanup());
  const r = await call(s.url, 'GET', '/', { anonymous: true });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'DASHBOARD_NOT_BUILT');
  assert.match(r.body.error.hint, /npm run build/);
});
