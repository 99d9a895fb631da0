/**
 * The Rollouts page past its first page, in a real browser: 55 rollouts in the history, 50 a
 * page, newest first; the older page by a keyset cursor that holds while new rollouts start; the
 * page shown stays live; and a filter runs on the server, so it finds a rollout that is not on
 * the newest page.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import { call, testServer } from '../packages/server/test/fixtures.ts';
import { ROLLOUTS_PAGE as PAGE_SIZE } from '../packages/web/src/view/rollout-list.ts';
import { launchChromium, openPage, screenshot, seriousViolations } from './helpers/browser.ts';
import { rolloutHistory } from './helpers/rollout-history.ts';

const SEE = { timeout: 20_000 };
const HISTORY = PAGE_SIZE + 5;

test('the Rollouts page pages past the newest rollouts, stays live on an older page, and filters on the server', { timeout: 240_000 }, async (t) => {
  const s = await testServer();
  let browser: Browser | undefined;
  t.after(async () => { await browser?.close(); await s.cleanup(); });
  await s.store.upsertNode({ id: 'n1', labels: {}, modules: ['bot-management'] }, Date.now(), true);
  const { artifacts, ids } = await rolloutHistory(s, HISTORY);
  const newestFirst = [...ids].reverse();
  browser = await launchChromium();
  const { page, problems } = await openPage(browser);
  const rows = page.locator('table.rollouts tbody tr');
  const shownIds = async () => (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-rollout')))) as string[];

  await t.test('the newest page holds the newest 50, and says older ones follow', async () => {
    await page.goto(`${s.url}/rollouts#token=${s.admin}`);
    await page.locator(`tr[data-rollout="${newestFirst[PAGE_SIZE - 1]}"]`).waitFor(SEE);
    assert.deepEqual(await shownIds(), newestFirst.slice(0, PAGE_SIZE));
    await page.locator('caption').getByText(`${PAGE_SIZE} rollouts, newest first; older ones on the next page`).waitFor(SEE);
    assert.equal(await page.getByRole('link', { name: 'Newest rollouts' }).count(), 0);
  });

  await t.test('Older rollouts shows the rest, with the cursor in the address; the last page has no older link', async () => {
    await page.evaluate('window.sameDocument = true');
    await page.getByRole('link', { name: 'Older rollouts' }).click();
    await page.locator(`tr[data-rollout="${ids[0]}"]`).waitFor(SEE);
    assert.equal(new URL(page.url()).search, `?before=${newestFirst[PAGE_SIZE - 1]}`);
    assert.deepEqual(await shownIds(), newestFirst.slice(PAGE_SIZE));
    await page.locator('caption').getByText(`5 rollouts, newest first, started before ${newestFirst[PAGE_SIZE - 1]}`).waitFor(SEE);
    assert.equal(await page.getByRole('link', { name: 'Older rollouts' }).count(), 0);
    await page.getByRole('link', { name: 'Newest rollouts' }).waitFor(SEE);
    await screenshot(page, '15-rollouts-older');
    assert.deepEqual(await seriousViolations(page), []);
    assert.equal(await page.evaluate('window.sameDocument'), true, 'no reload');
  });

  await t.test('the older page stays live: one rollout on it resumed, another aborted, each changes in place', async () => {
    const oldest = page.locator(`tr[data-rollout="${ids[0]}"]`);
    await oldest.getByText('paused').waitFor(SEE);
    assert.equal((await call(s.url, 'POST', `/v1/rollouts/${ids[0]}/resume`, { token: s.admin, json: { reason: 'paging test' } })).status, 200);
    // And another on this page is aborted: both change in place, and the page keeps its rows.
    assert.equal((await call(s.url, 'POST', `/v1/rollouts/${ids[1]}/abort`, { token: s.admin, json: { reason: 'paging test' } })).status, 200);
    await oldest.getByText('running').waitFor(SEE);
    await page.locator(`tr[data-rollout="${ids[1]}"]`).getByText(/rolling back|aborted/).waitFor(SEE);
    assert.deepEqual(await shownIds(), newestFirst.slice(PAGE_SIZE));
  });

  await t.test('a filter runs on the server: the oldest artifact is found from the newest page, and a filter starts again from the newest page', async () => {
    await page.getByRole('link', { name: 'Newest rollouts' }).click();
    await page.locator(`tr[data-rollout="${newestFirst[0]}"]`).waitFor(SEE);
    assert.equal(await page.locator(`tr[data-rollout="${ids[0]}"]`).count(), 0, 'the oldest is not on the newest page');
    await page.getByLabel('Artifact').selectOption(artifacts[0] ?? '');
    await page.locator(`tr[data-rollout="${ids[0]}"]`).waitFor(SEE);
    assert.deepEqual(await shownIds(), [ids[0]]);
    await page.locator('caption').getByText('1 matching rollout, newest first').waitFor(SEE);
    assert.equal(new URL(page.url()).search, `?artifact=${artifacts[0]}`);
    await page.getByLabel('Artifact').selectOption('');
    await page.getByLabel('State').selectOption('paused');
    // Every paused one: the 55 less the newest (running), the resumed and the aborted, 52, so a second page.
    await page.locator('caption').getByText(`${PAGE_SIZE} matching rollouts, newest first; older ones on the next page`).waitFor(SEE);
    await page.getByRole('link', { name: 'Older rollouts' }).click();
    await page.locator('caption').getByText(/^2 matching rollouts, newest first, started before r-/).waitFor(SEE);
    assert.deepEqual(await shownIds(), [ids[3], ids[2]]);
    assert.match(new URL(page.url()).search, /^\?state=paused&before=r-[0-9a-f]+$/);
    assert.deepEqual(problems, []);
  });
});
