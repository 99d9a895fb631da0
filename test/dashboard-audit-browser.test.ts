/**
 * The Break-glass and audit page in a real browser, on what the main dashboard test cannot
 * show: real break-glass commands run with the CLI against real agents (one applied and
 * verified, one refused because it was signed with a stranger's key), the pin it left, the
 * node filter; and a damaged copy of the store, served by a second control plane, whose page
 * says the chain is BROKEN and at which event. Screenshots go to test-output/dashboard/.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Agent } from '@failsmall/agent';
import { generateSigningKeys } from '@failsmall/core';
import type { Browser } from 'playwright-core';
import { call, testServer, waitFor } from '../packages/server/test/fixtures.ts';
import { launchChromium, openPage, screenshot, seriousViolations } from './helpers/browser.ts';
import { breakglassBed, twoNodesOnV2 } from './helpers/breakglass.ts';
import { freePort, runCli } from './helpers/procs.ts';

const SEE = { timeout: 20_000 };

interface Entry { node_id: string; outcome: string; action?: string; verified: boolean }

test('the Break-glass and audit page: commands the agents reported, verified or not, the pin they left, and a broken chain', { timeout: 240_000 }, async (t) => {
  const { s, agents, bg, bgKey, token } = await breakglassBed(t);
  let browser: Browser | undefined;
  t.after(async () => { await browser?.close(); });
  const portA = await freePort();
  for (const id of ['a', 'b']) {
    agents.push(new Agent({
      server: s.url, token, nodeId: id, labels: {}, modules: ['bot-management'], dir: join(s.dir, id), metricsIntervalMs: 100, pollWaitMs: 1000,
      publicKey: s.publicKey, breakglass: { publicKey: bg.publicKey, ...(id === 'a' ? { listen: `127.0.0.1:${portA}` } : {}) },
    }));
  }
  const inventory = await twoNodesOnV2(s, agents, portA);

  // a goes back to its last known-good with the real key; b is sent a command signed by a key it does not trust.
  const lkg = await runCli(['breakglass', 'lkg', 'features', '--inventory', inventory, '--key', bgKey, '--operator', 'alice', '--reason', 'v2 crashes the proxy', '--nodes', 'a']);
  assert.equal(lkg.code, 0, lkg.stdout + lkg.stderr);
  const strangerKey = join(s.dir, 'stranger.key');
  writeFileSync(strangerKey, generateSigningKeys().privateKey, { mode: 0o600 });
  const forged = await runCli(['breakglass', 'lkg', 'features', '--inventory', inventory, '--key', strangerKey, '--operator', 'mallory', '--reason', 'trust me', '--nodes', 'b']);
  assert.notEqual(forged.code, 0, 'a command signed by an untrusted key is refused');
  await waitFor('both lines reported', async () => {
    const entries = (await call(s.url, 'GET', '/v1/breakglass', { token: s.admin })).body.entries as Entry[];
    return (entries.some((e) => e.node_id === 'a' && e.outcome === 'applied') && entries.some((e) => e.node_id === 'b' && e.outcome === 'refused')) || undefined;
  }, 30_000);

  browser = await launchChromium();
  const { page, problems } = await openPage(browser);

  await t.test('each reported command in words, who ran it and why, and whether the control plane verified it; the pin it left; filtered by node', async () => {
    await page.goto(`${s.url}/audit#token=${s.admin}`);
    await page.getByRole('heading', { name: 'Break-glass and audit', level: 1 }).waitFor(SEE);
    const table = page.locator('table.breakglass');
    const a = table.locator('tr[data-node="a"]').filter({ hasText: 'applied' });
    await a.getByText('applied: lkg on features').waitFor(SEE);
    await a.getByText('alice: v2 crashes the proxy').waitFor(SEE);
    await a.getByText('verified against the break-glass public key').waitFor(SEE);
    assert.equal(await a.getAttribute('data-verified'), 'true');
    const b = table.locator('tr[data-node="b"]');
    await b.first().getByText(/^refused/).waitFor(SEE);
    assert.equal(await b.first().getAttribute('data-verified'), 'false');
    await b.first().getByText(/^not verified: /).waitFor(SEE);
    await page.locator('ul.pins').getByText(/^a: features back on last known-good v1, by alice: v2 crashes the proxy$/).waitFor(SEE);
    await screenshot(page, '13-breakglass');
    assert.deepEqual(await seriousViolations(page), []);

    await page.getByLabel('Node').selectOption('b');
    await a.waitFor({ ...SEE, state: 'detached' });
    await b.first().waitFor(SEE);
    await page.locator('[data-pins="none"]').getByText(/No node is pinned by break-glass on b/).waitFor(SEE);
    assert.deepEqual(problems, []);
  });

  await t.test('a copy of the store with one event edited, served by another control plane: the page says BROKEN, and where', async () => {
    // A consistent copy of the live store (VACUUM INTO), then changed as someone holding the file would.
    const copy = join(s.dir, 'damaged.db');
    const live = new Database(join(s.dir, 'fs.db'), { readonly: true });
    try { live.exec(`VACUUM INTO '${copy}'`); } finally { live.close(); }
    const db = new Database(copy);
    let edited = 0;
    try {
      db.exec('DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;');
      edited = (db.prepare("SELECT min(seq) AS seq FROM events WHERE type = 'rollout.completed'").get() as { seq: number }).seq;
      assert.equal(db.prepare("UPDATE events SET payload = json_set(payload, '$.by', 'mallory') WHERE seq = ?").run(edited).changes, 1);
    } finally {
      db.close();
    }
    assert.ok(edited > 0);
    const other = await testServer({ store: copy });
    t.after(() => other.cleanup());
    await page.goto(`${other.url}/audit#token=${s.admin}`);
    const chain = page.locator('[data-chain="broken"]');
    await chain.getByText(new RegExp(`^The chain is BROKEN at #${edited}: `)).waitFor(SEE);
    await screenshot(page, '14-chain-broken');
    assert.deepEqual(await seriousViolations(page), []);
    // The intact original still says intact: the page reports the store it is served from.
    await page.goto(`${s.url}/audit`);
    await page.locator('[data-chain="intact"]').getByText(/^The chain is intact/).waitFor(SEE);
  });
});
