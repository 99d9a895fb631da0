/**
 * The dashboard in a real browser (Debian's Chromium), against a real control plane and a small
 * fleet of real agents: the login prompt, the login link, the Rollouts list following a new
 * rollout, the Rollout page watching the bad feature file fail its canary gate and roll back
 * without a reload, actions only for the roles that may take them, each failure shown in the
 * page, and no serious accessibility violation. Screenshots go to test-output/dashboard/.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Agent } from '@failsmall/agent';
import type { Browser } from 'playwright-core';
import { call, testServer, waitFor } from '../packages/server/test/fixtures.ts';
import { featureFleet } from '../packages/server/test/feature-fleet.ts';
import { launchChromium, openPage, screenshot, seriousViolations } from './helpers/browser.ts';

const SEE = { timeout: 20_000 };

test('the dashboard: login, the live Rollouts list, a rollback watched live, actions by role, the keyboard, failures in the page', { timeout: 240_000 }, async (t) => {
  const s = await testServer();
  let agents: Agent[] = [];
  let browser: Browser | undefined;
  t.after(async () => { await browser?.close(); await Promise.all(agents.map((a) => a.stop())); await s.cleanup(); });
  const page0 = await call(s.url, 'GET', '/', { anonymous: true });
  assert.equal(page0.status, 200, `the dashboard is not built (run npm run build): ${JSON.stringify(page0.body).slice(0, 300)}`);
  // Two regions, for the Fleet page's grouping.
  agents = await featureFleet(s, { bad: ['v2'], nodes: ['n1', 'n2', 'n3', 'n4'], labels: (id) => ({ region: id === 'n1' || id === 'n2' ? 'eu' : 'us' }) });
  assert.equal((await call(s.url, 'POST', '/v1/artifacts/features/versions?version=v3', { token: s.admin, body: '["three"]' })).status, 201);
  const start = async (version: string, policy?: string) => (await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version, ...(policy ? { policy } : {}) } })).body.rollout.id as string;
  const statusOf = async (id: string) => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout.status as string;
  const v1 = await start('v1');
  await waitFor('v1 to complete', async () => (await statusOf(v1)) === 'completed', 30_000);
  browser = await launchChromium();

  await t.test('an unauthenticated visitor gets the login prompt, on every path, and nothing to press; a refused token is said why', async () => {
    const { page, problems } = await openPage(browser!);
    for (const path of ['/', `/rollouts/${v1}`]) {
      await page.goto(`${s.url}${path}`);
      await page.getByRole('heading', { name: 'Sign in to failsmall' }).waitFor(SEE);
      assert.equal(await page.getByRole('button', { name: 'Abort' }).count(), 0);
      assert.equal(await page.getByRole('table').count(), 0, 'no data without a token');
    }
    await screenshot(page, '01-login');
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByLabel('API token').fill('fs_admin_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/That token was not accepted: unknown or revoked token/).waitFor(SEE);
    // A machine's token (here Alertmanager's) is no person's: 403, said in the page, with a way back.
    const ingest = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'alertmanager', role: 'ingest' } })).body.token as string;
    await page.getByLabel('API token').fill(ingest);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Your token may not do this' }).waitFor(SEE);
    await page.getByText(/needs the viewer role/).waitFor(SEE);
    await page.getByRole('button', { name: 'Sign in with another token' }).click();
    await page.getByRole('heading', { name: 'Sign in to failsmall' }).waitFor(SEE);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  const { page, problems } = await openPage(browser!);
  await t.test('a login link signs in from its fragment, keeps the token in session storage and takes it off the address bar', async () => {
    await page.goto(`${s.url}/#token=${s.admin}`);
    await page.getByRole('heading', { name: 'Rollouts' }).waitFor(SEE);
    assert.ok(!page.url().includes(s.admin) && !page.url().includes('#'), page.url());
    assert.equal(await page.evaluate("window.sessionStorage.getItem('failsmall.token')"), s.admin);
    await page.locator(`tr[data-rollout="${v1}"]`).getByText('completed').waitFor(SEE);
    await page.getByText('admin (admin)').waitFor(SEE);
  });

  let v2 = '';
  await t.test('the Rollouts list shows a new rollout as it starts, and filters by artifact and state', async () => {
    // Set in the page's window: a reload would lose it. (Strings: this file is typechecked without the DOM's types.)
    await page.evaluate('window.sameDocument = true');
    v2 = await start('v2');
    // Paused at once, so that the page sees it run: the test resumes it from the page.
    assert.equal((await call(s.url, 'POST', `/v1/rollouts/${v2}/pause`, { token: s.admin, json: { reason: 'hold for the browser test' } })).status, 200);
    const row = page.locator(`tr[data-rollout="${v2}"]`);
    await row.waitFor(SEE);
    await row.getByText('v1 → v2').waitFor(SEE);
    await page.getByLabel('State').selectOption('completed');
    await page.locator(`tr[data-rollout="${v2}"]`).waitFor({ state: 'detached', ...SEE });
    assert.match(page.url(), /\/rollouts\?state=completed$/);
    await page.getByLabel('State').selectOption('active');
    await page.getByLabel('Artifact').selectOption('features');
    await row.waitFor(SEE);
    await screenshot(page, '02-rollouts');
    assert.deepEqual(await seriousViolations(page), []);
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
  });

  await t.test('the Rollout page: resumed with a reason, the canary gate turns to failed and the rollout to rolled back, without a reload', async () => {
    await page.getByRole('link', { name: v2 }).click();
    await page.getByRole('heading', { name: new RegExp(`Rollout ${v2}`) }).waitFor(SEE);
    await page.locator('h1 .badge').getByText('paused').waitFor(SEE);
    await page.getByRole('button', { name: 'Resume' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: `Resume rollout ${v2}?` }).waitFor(SEE);
    assert.equal(await dialog.getByRole('button', { name: 'Resume' }).isDisabled(), true, 'no command without a reason');
    await dialog.getByLabel(/Reason/).fill('the browser test watches it');
    await dialog.getByRole('button', { name: 'Resume' }).click();
    const gate = page.locator('[data-gate="canary/bot-management/load_success_rate"]');
    await gate.locator('[data-verdict="fail"]').getByText('failed').waitFor(SEE);
    await page.locator('h1 .badge').getByText('rolled back').waitFor(SEE);
    const rollback = page.locator('[data-rollback]');
    await rollback.getByRole('heading', { name: 'Rolled back at stage canary' }).waitFor(SEE);
    await rollback.getByText(/Failing gate: bot-management\/load_success_rate/).waitFor(SEE);
    await rollback.getByText(/From detection to the last node back on v1:/).waitFor(SEE);
    await page.getByText(/refused it/).first().waitFor(SEE);
    await page.locator('table.refusals tbody tr').first().waitFor(SEE);
    await page.locator('.timeline li[data-type="rollout.resumed"]').getByText(/the browser test watches it/).waitFor(SEE);
    assert.equal(await page.getByRole('button', { name: 'Abort' }).count(), 0, 'a finished rollout offers no action');
    assert.equal(await gate.locator('canvas').count() > 0, true, 'the gate has its uPlot chart');
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
    await screenshot(page, '03-rolled-back');
    assert.deepEqual(await seriousViolations(page), []);
    assert.equal(await statusOf(v2), 'rolled_back');
  });

  await t.test('the Fleet page: every node back on the good version after the rollback, in words, grouped by a label', async () => {
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor(SEE);
    await page.getByLabel('Artifact').selectOption('features');
    const total = page.locator('[data-total]');
    await total.getByRole('heading', { name: '4 nodes run features' }).waitFor(SEE);
    await total.locator('li[data-version="v1"]').getByText('v1: 4 (100%)').waitFor(SEE);
    assert.equal(await total.locator('li[data-version]').count(), 1, 'no node serves another version');
    await total.getByText('every node on target, none pinned, pending or unseen').waitFor(SEE);
    await page.getByLabel('Group by').selectOption('region');
    assert.match(page.url(), /\/fleet\?artifact=features&by=region$/);
    for (const region of ['eu', 'us']) await page.locator(`tr[data-group="${region}"] li[data-version="v1"]`).getByText('v1: 2 (100%)').waitFor(SEE);
    await screenshot(page, '07-fleet');
    assert.deepEqual(await seriousViolations(page), []);
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
  });

  await t.test('the Incidents pages: the incident the failed gate opened, its timeline and triage with evidence, its postmortem draft rendered', async () => {
    const incidents = (await call(s.url, 'GET', '/v1/incidents')).body.incidents as { id: string; rollout_id: string | null }[];
    const id = incidents.find((i) => i.rollout_id === v2)?.id;
    assert.ok(id, `the failed gate of ${v2} opened an incident: ${JSON.stringify(incidents)}`);
    await page.getByRole('link', { name: 'Incidents' }).click();
    await page.getByRole('heading', { name: 'Incidents' }).waitFor(SEE);
    const row = page.locator(`tr[data-incident="${id}"]`);
    await row.getByText('a failed gate').waitFor(SEE);
    await row.getByRole('link', { name: v2 }).waitFor(SEE);
    await screenshot(page, '08-incidents');
    assert.deepEqual(await seriousViolations(page), []);
    await row.getByRole('link', { name: id }).click();
    await page.getByRole('heading', { name: new RegExp(`Incident ${id}`) }).waitFor(SEE);
    await page.locator('.timeline li[data-kind="status"]').getByText(/incident opened by failed gate/).first().waitFor(SEE);
    await page.getByRole('button', { name: 'Triage again' }).click();
    const top = page.locator('[data-hypothesis]').first();
    await top.waitFor(SEE);
    await top.getByText(/\d+%/).waitFor(SEE);
    await screenshot(page, '09-incident');
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByRole('link', { name: 'The postmortem draft' }).click();
    await page.getByRole('heading', { name: `Postmortem draft: incident ${id}` }).waitFor(SEE);
    await page.locator('.postmortem h3').first().waitFor(SEE);
    await page.locator('.postmortem').getByText(id).first().waitFor(SEE);
    await screenshot(page, '10-postmortem');
    assert.deepEqual(await seriousViolations(page), []);
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
    await page.goto(`${s.url}/incidents/i-nope`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor(SEE);
    await page.getByText('incident "i-nope" not found').waitFor(SEE);
  });

  await t.test('the Artifacts page: each version with its size, entries, hash, signer, checks at push and where it is live; the declared limits', async () => {
    // The Incidents test ended on a loaded page (an unknown incident): mark this one.
    await page.evaluate('window.sameDocument = true');
    await page.getByRole('link', { name: 'Artifacts' }).click();
    await page.getByRole('heading', { name: 'Artifacts', exact: true }).waitFor(SEE);
    await page.getByLabel('Artifact').selectOption('features');
    await page.locator('[data-limits]').getByText(/at most 200 entries/).waitFor(SEE);
    const good = page.locator('tr[data-version="v1"]');
    await good.getByText('4 of 4 nodes').waitFor(SEE);
    await good.getByText('current').waitFor(SEE);
    // What the push recorded: who pushed it, its entries, the key that signed it, each check with its outcome in words.
    await good.getByText(/ago by admin$/).waitFor(SEE);
    assert.equal(await good.locator('[data-entries]').innerText(), '1');
    assert.match(await good.locator('[data-signer]').innerText(), /^sha256:[0-9a-f]{16} \(control plane\)$/);
    assert.deepEqual(await good.locator('[data-check]').allInnerTexts(), ['passed max_bytes: 7 bytes ≤ max_bytes 65536', 'passed max_entries: 1 entry ≤ max_entries 200']);
    const bad = page.locator('tr[data-version="v2"]');
    await bad.getByText('0 of 4 nodes').waitFor(SEE);
    await bad.getByText('forced past its limits').waitFor(SEE);
    assert.equal(await bad.locator('[data-entries]').innerText(), '300');
    assert.equal(await bad.locator('[data-check="max_entries"]').innerText(), 'failed max_entries: 300 entries > max_entries 200');
    assert.match(await good.locator('code').innerText(), /^[0-9a-f]{12}$/);
    await screenshot(page, '11-artifacts');
    assert.deepEqual(await seriousViolations(page), []);
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
  });

  await t.test('the Break-glass and audit page: the chain intact in words, the rollback\'s events, filtered by type, no break-glass command (said so)', async () => {
    await page.getByRole('link', { name: 'Break-glass and audit' }).click();
    await page.getByRole('heading', { name: 'Break-glass and audit', level: 1 }).waitFor(SEE);
    await page.locator('[data-chain="intact"]').getByText(/^The chain is intact \(\d+ events, head #\d+ [0-9a-f]{12}\)$/).waitFor(SEE);
    // The test fleet had no break-glass command: the page says so rather than show an empty table.
    assert.equal(((await call(s.url, 'GET', '/v1/breakglass')).body.entries as unknown[]).length, 0);
    await page.locator('[data-breakglass="none"]').getByText(/No break-glass command was reported/).waitFor(SEE);
    await page.locator('[data-pins="none"]').waitFor(SEE);
    const rolledBack = page.locator('table.events tr[data-type="rollout.rolled_back"]');
    await rolledBack.getByRole('link', { name: v2 }).waitFor(SEE);
    await page.locator('table.events tr[data-type="rollout.resumed"]').getByText(/the browser test watches it/).first().waitFor(SEE);
    const others = page.locator('table.events tbody tr:not([data-type^="rollout."])');
    await others.first().waitFor(SEE);
    await page.getByLabel('Type').selectOption('rollout.');
    assert.match(page.url(), /\/audit\?type=rollout\.$/);
    await others.first().waitFor({ ...SEE, state: 'detached' });
    await rolledBack.getByRole('link', { name: v2 }).waitFor(SEE);
    await page.getByRole('button', { name: 'Check the chain again' }).click();
    await page.locator('[data-chain="intact"]').getByText(/^The chain is intact/).waitFor(SEE);
    await screenshot(page, '12-audit');
    assert.deepEqual(await seriousViolations(page), []);
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
  });

  await t.test('a viewer token sees no action; an admin sees them, and aborts with a reason', async () => {
    const held = await start('v3', 'held');
    // The held policy bakes its canary for a minute, then waits for a person: time enough to look.
    await waitFor('the held rollout to bake', async () => (await call(s.url, 'GET', `/v1/rollouts/${held}`)).body.rollout.phase === 'baking', 30_000);
    const viewer = (await call(s.url, 'POST', '/v1/tokens', { token: s.admin, json: { name: 'vera', role: 'viewer' } })).body.token as string;
    const asViewer = await openPage(browser!);
    await asViewer.page.goto(`${s.url}/rollouts/${held}#token=${viewer}`);
    await asViewer.page.getByText('vera (viewer)').waitFor(SEE);
    await asViewer.page.locator('h1 .badge').getByText('running').waitFor(SEE);
    await asViewer.page.getByText(/baking \d+(\.\d)?s of 1m/).waitFor(SEE);
    assert.equal(await asViewer.page.getByRole('button').filter({ hasText: /Pause|Resume|Promote|Approve|Abort/ }).count(), 0);
    assert.equal(await asViewer.page.getByRole('heading', { name: 'Actions' }).count(), 0);
    await screenshot(asViewer.page, '04-viewer');
    assert.deepEqual(asViewer.problems, []);
    await asViewer.page.context().close();

    await page.goto(`${s.url}/rollouts/${held}`);
    for (const name of ['Pause', 'Promote', 'Abort']) await page.getByRole('button', { name }).waitFor(SEE);
    await page.getByRole('button', { name: 'Abort' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Every node given v3 goes back to v1.').waitFor(SEE);
    await screenshot(page, '05-abort-confirm');
    await dialog.getByLabel(/Reason/).fill('wrong file');
    await dialog.getByRole('button', { name: 'Abort' }).click();
    await page.locator('h1 .badge').getByText('aborted').waitFor(SEE);
    await waitFor('the abort', async () => (await statusOf(held)) === 'aborted', 20_000);
  });

  await t.test('the keyboard gets around: the skip link, the pages, a rollout opened with Tab and Enter', async () => {
    await page.goto(`${s.url}/rollouts`);
    await page.locator(`tr[data-rollout="${v2}"]`).waitFor(SEE);
    await page.evaluate('window.sameDocument = true');
    const focused = () => page.evaluate('document.activeElement && (document.activeElement.getAttribute("aria-label") || document.activeElement.textContent || document.activeElement.id)');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Skip to the page');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Rollouts');
    // Tab on to the newest rollout's link, and open it with Enter.
    let steps = 0;
    while ((await focused()) !== v2 && steps++ < 30) await page.keyboard.press('Tab');
    assert.equal(await focused(), v2, 'the rollout link is reachable by Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: new RegExp(`Rollout ${v2}`) }).waitFor(SEE);
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
  });

  await t.test('failures are shown in the page: an unknown rollout, an unreachable control plane (and the page recovers when it answers again)', async () => {
    await page.goto(`${s.url}/rollouts/r-nope`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor(SEE);
    await page.getByText('rollout "r-nope" not found').waitFor(SEE);
    await page.route('**/v1/**', (route) => route.abort('connectionrefused'));
    await page.goto(`${s.url}/rollouts`);
    await page.getByRole('heading', { name: 'The control plane is not answering' }).waitFor(SEE);
    await screenshot(page, '06-unreachable');
    // Back again: the page recovers by itself, without a reload.
    await page.unroute('**/v1/**');
    await page.getByRole('heading', { name: 'Rollouts' }).waitFor(SEE);
    await page.locator(`tr[data-rollout="${v2}"]`).waitFor(SEE);
  });
  assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED|ERR_FAILED|404|Not Found/.test(p)), []);
});
