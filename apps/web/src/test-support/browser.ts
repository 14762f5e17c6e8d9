// A real Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by playwright-core
// (never a downloaded browser), plus where screenshots go.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The dashboard's static build, made by `node apps/web/build.mjs`. */
export const WEB_ROOT = join(REPO_ROOT, 'apps', 'web', 'dist', 'public');
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
export const CHROMIUM = process.env.SWANLOG_CHROMIUM ?? '/usr/bin/chromium';

/** How every test and bench row runs Chromium: headless, and with nothing of its own on the network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches headless Chromium; the test closes it. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(join(WEB_ROOT, 'index.html'))) {
    throw new Error(`the dashboard is not built (${WEB_ROOT}): run \`node apps/web/build.mjs\``);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A page that records requests leaving the backend (there must be none: no CDN) and script errors. */
export async function openPage(
  browser: Browser,
  baseUrl: string,
): Promise<{ page: Page; foreign: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: baseUrl });
  const page = await context.newPage();
  const foreign: string[] = [];
  const errors: string[] = [];
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(baseUrl) && !url.startsWith('data:')) foreign.push(url);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[14]/.test(msg.text())) errors.push(msg.text());
  });
  return { page, foreign, errors };
}

/** Saves a screenshot under test-artifacts/ (gitignored) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The text of an element as the DOM holds it ('' when it has none). */
export async function text(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? '';
}
