/**
 * The dashboard (`npm run bench:dashboard`, issue 15). Two figures:
 *  1. The built bundle's size: every file of packages/cli/dist/web (what `failsmall serve` serves),
 *     raw and gzipped (level 9, as a server or proxy would send it). Target: under 300 KB gzip.
 *  2. How fast a state change reaches an open page: a control plane (in process, SQLite) with a
 *     small fleet of real agents, a rollout held at its canary, and the Rollout page open in
 *     Debian's Chromium. Each round pauses the rollout through the API, then resumes it; the time is
 *     from just before the POST to the moment the page's state badge says so (a MutationObserver
 *     in the page stamps it; page and bench read the same clock). Target: within 1 s.
 * Flags: --rounds N (default 20 changes), --json.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { call, testServer, waitFor } from '../packages/server/test/fixtures.ts';
import { featureFleet } from '../packages/server/test/feature-fleet.ts';
import { launchChromium } from '../test/helpers/browser.ts';
import { argInt, hasFlag, machine, ms, summarize } from './lib.ts';

const WEB = fileURLToPath(new URL('../packages/cli/dist/web/', import.meta.url));
const BUNDLE_TARGET_BYTES = 300 * 1024;
const CHANGE_TARGET_MS = 1000;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)).map((g) => join(f, g)) : [f]));
}

let bundle: { file: string; bytes: number; gzip_bytes: number }[];
try {
  bundle = files(WEB).sort().map((f) => {
    const body = readFileSync(join(WEB, f));
    return { file: f, bytes: body.length, gzip_bytes: gzipSync(body, { level: 9 }).length };
  });
} catch {
  process.stderr.write('bench:dashboard: packages/cli/dist/web is missing; run `npm run build` (npm ci builds it)\n');
  process.exit(2);
}
const totalGzip = bundle.reduce((a, b) => a + b.gzip_bytes, 0);
const totalRaw = bundle.reduce((a, b) => a + b.bytes, 0);

const rounds = argInt('rounds', 20);
const before = machine();
const s = await testServer();
const agents = await featureFleet(s, { bad: [], nodes: ['n1', 'n2', 'n3'] });
const browser = await launchChromium();
const changes: { to: string; ms: number; post_ms: number }[] = [];
try {
  // The held policy bakes its canary for a minute, then waits for a person: it stays under way.
  const id = (await call(s.url, 'POST', '/v1/rollouts', { token: s.admin, json: { artifact: 'features', version: 'v1', policy: 'held' } })).body.rollout.id as string;
  await waitFor('the canary to bake', async () => (await call(s.url, 'GET', `/v1/rollouts/${id}`)).body.rollout.phase === 'baking', 30_000);
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(`${s.url}/rollouts/${id}#token=${s.admin}`);
  await page.locator('h1 .badge').getByText('running').waitFor({ timeout: 20_000 });
  await page.getByText('live: updates as it happens').waitFor({ timeout: 20_000 });
  // Strings, not functions: this file is typechecked without the DOM's types.
  await page.evaluate(`window.seen = []; new MutationObserver(() => { const b = document.querySelector('h1 .badge'); if (b) window.seen.push({ text: b.textContent, at: Date.now() }); })
    .observe(document.body, { subtree: true, childList: true, characterData: true });`);
  for (let i = 0; i < rounds; i++) {
    const command = i % 2 === 0 ? 'pause' : 'resume';
    const to = command === 'pause' ? 'paused' : 'running';
    const t0 = Date.now();
    const answer = await call(s.url, 'POST', `/v1/rollouts/${id}/${command}`, { token: s.admin, json: { reason: `bench round ${i}` } });
    if (answer.status !== 200) throw new Error(`${command}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    const postMs = Date.now() - t0;
    const at = await page.waitForFunction(({ since, state }) => (globalThis as unknown as { seen: { text: string; at: number }[] }).seen.find((x) => x.at >= since && x.text.includes(state))?.at,
      { since: t0, state: to }, { timeout: 10_000 });
    changes.push({ to, ms: Number(await at.jsonValue()) - t0, post_ms: postMs });
    // Apart from the page's own pacing (it reads again at most four times a second).
    await new Promise((r) => setTimeout(r, 300));
  }
} finally {
  await browser.close();
  await Promise.all(agents.map((a) => a.stop()));
  await s.cleanup();
}

const change = summarize(changes.map((c) => c.ms));
const post = summarize(changes.map((c) => c.post_ms));
const result = {
  date: new Date().toISOString(), machine: { ...before, loadavg_1m_at_end: machine().loadavg_1m_at_start },
  bundle: { files: bundle, total_bytes: totalRaw, total_gzip_bytes: totalGzip, target_gzip_bytes: BUNDLE_TARGET_BYTES, met: totalGzip < BUNDLE_TARGET_BYTES },
  state_change: { rounds: changes.length, ms: change, post_ms: post, target_ms: CHANGE_TARGET_MS, met: change.max <= CHANGE_TARGET_MS },
};
if (hasFlag('json')) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  console.log(`failsmall dashboard (${before.node}, load ${result.machine.loadavg_1m_at_start} → ${result.machine.loadavg_1m_at_end})`);
  console.log('\nbundle (packages/cli/dist/web)');
  for (const f of bundle) console.log(`  ${f.file.padEnd(34)} ${kb(f.bytes).padStart(10)} ${kb(f.gzip_bytes).padStart(10)} gzip`);
  console.log(`  ${'total'.padEnd(34)} ${kb(totalRaw).padStart(10)} ${kb(totalGzip).padStart(10)} gzip  (target < ${kb(BUNDLE_TARGET_BYTES)}: ${result.bundle.met ? 'met' : 'NOT met'})`);
  console.log(`\na state change (pause / resume through the API) reaching the open Rollout page, ${changes.length} changes`);
  console.log(`  page shows it: p50 ${ms(change.p50)} ms, p95 ${ms(change.p95)} ms, max ${ms(change.max)} ms  (target ≤ ${CHANGE_TARGET_MS} ms: ${result.state_change.met ? 'met' : 'NOT met'})`);
  console.log(`  of which the POST's own answer: p50 ${ms(post.p50)} ms, max ${ms(post.max)} ms`);
}
