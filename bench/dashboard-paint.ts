/**
 * The dashboard's first paint at fleet scale (`npm run bench:dashboard-paint`, issue 15): a control
 * plane (in process, SQLite) holding 10,000 nodes, each with a load report, and 50 rollouts in
 * its history (started, then aborted; one left under way), and each page opened afresh in
 * Debian's Chromium over loopback. Per page: first contentful paint (the browser's own
 * `first-contentful-paint` entry) and the time until the page shows its data (its main element
 * is in the DOM), both from navigation start. Target: FCP within 1 s on every page.
 * Flags: --nodes N (default 10000), --rollouts N (default 50), --runs N per page (default 5), --json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, testServer } from '../packages/server/test/fixtures.ts';
import { launchChromium } from '../test/helpers/browser.ts';
import { rolloutHistory } from '../test/helpers/rollout-history.ts';
import { argInt, fleetLabels, hasFlag, machine, ms, nodeId, percentile } from './lib.ts';

const NODES = argInt('nodes', 10_000);
const ROLLOUTS = argInt('rollouts', 50);
const runs = argInt('runs', 5);
const FCP_TARGET_MS = 1000;

const dir = mkdtempSync(join(tmpdir(), 'failsmall-bench-paint-'));
const s = await testServer({ store: join(dir, 'fs.db'), tickMs: 1000 });
const browser = await launchChromium();
try {
  const post = (path: string, json: unknown) => call(s.url, 'POST', path, { token: s.admin, json });
  const now = Date.now();
  for (let i = 0; i < NODES; i++) {
    await s.store.upsertNode({ id: nodeId(i), labels: fleetLabels(i), modules: ['bot-management'] }, now, true);
  }
  const { artifacts, ids } = await rolloutHistory(s, ROLLOUTS);
  const last = ids.at(-1) ?? '';
  const paused = ids.at(-2) ?? '';
  await post('/v1/incidents', { title: 'bench: an incident opened by hand', severity: 'sev3' });
  const pages = [
    { name: 'Rollouts', path: '/', ready: 'table.rollouts tbody tr' },
    { name: 'Rollout (under way, 10,000-node fleet)', path: `/rollouts/${last}`, ready: 'h1' },
    { name: 'Rollout (paused)', path: `/rollouts/${paused}`, ready: 'h1' },
    { name: 'Fleet (10,000 nodes by region)', path: `/fleet?artifact=${artifacts[0]}&by=region`, ready: 'table.fleet-groups tbody tr' },
    { name: 'Artifacts', path: `/artifacts?artifact=${artifacts[0]}`, ready: 'table.versions-table tbody tr' },
    { name: 'Incidents', path: '/incidents', ready: 'table.incidents tbody tr' },
  ];
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // Logged in once, as a user is: the fragment's token goes to session storage.
  await page.goto(`${s.url}/#token=${s.admin}`);
  await page.waitForSelector('table.rollouts tbody tr', { timeout: 30_000 });
  const rows = [];
  for (const p of pages) {
    const fcp: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      await page.goto(`${s.url}${p.path}`, { waitUntil: 'commit' });
      await page.waitForSelector(p.ready, { timeout: 30_000 });
      const shownAt = await page.evaluate(() => performance.now());
      const paint = await page.evaluate(() => new Promise<number>((resolve) => {
        const seen = performance.getEntriesByName('first-contentful-paint')[0];
        if (seen) { resolve(seen.startTime); return; }
        new PerformanceObserver((list) => { const e = list.getEntriesByName('first-contentful-paint')[0]; if (e) resolve(e.startTime); }).observe({ type: 'paint' as never, buffered: true });
      }));
      // The first visit of each page warms the browser's cache of the assets, as a second visit would be.
      if (i > 0) { fcp.push(paint); ready.push(shownAt); }
    }
    fcp.sort((a, b) => a - b);
    ready.sort((a, b) => a - b);
    rows.push({ page: p.name, fcp_p50_ms: percentile(fcp, 0.5), fcp_max_ms: fcp[fcp.length - 1] ?? NaN, data_p50_ms: percentile(ready, 0.5), data_max_ms: ready[ready.length - 1] ?? NaN });
  }
  const worst = Math.max(...rows.map((r) => r.fcp_max_ms));
  const result = { date: new Date().toISOString(), machine: machine(), nodes: NODES, rollouts: ROLLOUTS, runs, target_fcp_ms: FCP_TARGET_MS, met: worst <= FCP_TARGET_MS, rows };
  if (hasFlag('json')) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`dashboard paint: ${NODES} nodes, ${ROLLOUTS} rollouts, ${runs} visits per page after one warm-up (Chromium ${browser.version()}, load ${result.machine.loadavg_1m_at_start})`);
    console.log('| page | FCP median | FCP max | data shown, median | data shown, max |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.page} | ${ms(r.fcp_p50_ms)} ms | ${ms(r.fcp_max_ms)} ms | ${ms(r.data_p50_ms)} ms | ${ms(r.data_max_ms)} ms |`);
    console.log(`target FCP ≤ ${FCP_TARGET_MS} ms on every visit: ${result.met ? 'met' : 'NOT met'} (worst ${ms(worst)} ms)`);
  }
} finally {
  await browser.close();
  await s.close();
  rmSync(dir, { recursive: true, force: true });
}
