/**
 * A real browser for the dashboard's tests: Debian's Chromium, headless, driven by
 * playwright-core (never a downloaded browser). A missing Chromium fails the test naming the
 * package (scripts/test.sh installs it). Screenshots go to test-output/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './procs.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'dashboard');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the dashboard's browser tests need Debian's chromium package (apt-get install -y chromium; npm test installs it)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A 1280×800 page (the smallest the dashboard is made for) that records what the browser said went wrong. */
export async function openPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  // A CSP refusal or an uncaught error is a bug of the page, whatever it then shows.
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`); });
  return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** axe-core's serious and critical violations on the page as it is, as lines (none: []). */
export async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
}
