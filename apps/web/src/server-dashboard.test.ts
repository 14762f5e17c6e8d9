// The dashboard over `swanlog server` in a real Chromium: sign-in with an API key (a wrong key is
// refused with the server's message), then the runs list and a run page of an uploaded run.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createApiKey, type RunningServer, startServer } from '@swanlog/server';
import type { Browser, Page } from 'playwright-core';
import { init } from 'swanlog';
import { launchBrowser, openPage, screenshot, text, WEB_ROOT } from './test-support/browser.js';

describe('dashboard over swanlog server', () => {
  let dataDir: string;
  let logdir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let foreign: string[];
  let readKey: string;
  let runId: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'swanlog-web-server-'));
    logdir = mkdtempSync(join(tmpdir(), 'swanlog-web-cloud-'));
    server = await startServer({ dataDir, port: 0, host: '127.0.0.1', webRoot: WEB_ROOT, log: () => {} });
    const writeKey = createApiKey({ dataDir, workspace: 'team', scope: 'write' }).key;
    readKey = createApiKey({ dataDir, workspace: 'team', scope: 'read' }).key;
    const run = await init({
      mode: 'cloud',
      host: server.url,
      apiKey: writeKey,
      logdir,
      project: 'vision',
      name: 'uploaded',
      config: { lr: 0.01 },
      flushInterval: 3_600_000,
    });
    for (let s = 0; s < 40; s++) run.log({ 'train/loss': 2 / (s + 1), 'eval/acc': s / 40 }, s);
    await run.finish();
    runId = run.id;
    browser = await launchBrowser();
    ({ page, foreign } = await openPage(browser, server.url));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    for (const dir of [dataDir, logdir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a wrong key is refused with the server message, a right one signs in', async () => {
    await page.goto(`/experiments/${runId}`);
    const form = page.getByTestId('login-form');
    await form.waitFor();
    await page.getByTestId('login-key').fill('not-a-key');
    await page.getByTestId('login-submit').click();
    const error = page.getByTestId('login-error');
    await error.waitFor();
    assert.match(await text(error), /unknown or revoked API key/);
    await screenshot(page, 'server-login-refused');

    await page.getByTestId('login-key').fill(readKey);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('run-state').waitFor();
    assert.equal(new URL(page.url()).pathname, `/experiments/${runId}`, 'signed in on the page asked for');
    assert.ok(!page.url().includes(readKey), 'the key never goes into a URL');
    const cookies = await page.context().cookies();
    assert.ok(
      cookies.some((c) => c.httpOnly),
      'the session is an HttpOnly cookie',
    );
  });

  test('signed in, the runs list and the run page show the uploaded run', async () => {
    await page.goto('/');
    const row = page.getByTestId(`run-row-${runId}`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'finished');
    assert.match(await text(page.getByTestId('server-mode')), /team/);

    await page.goto(`/experiments/${runId}`);
    for (const key of ['eval/acc', 'train/loss'])
      await page.getByTestId(`chart-${key}`).locator('canvas').waitFor();
    assert.equal(await text(page.getByTestId('last-step')), '39');
    assert.match(await text(page.getByTestId('config')), /"lr": 0.01/);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-train/loss"]')?.getAttribute('data-points') === '40',
    );
    await screenshot(page, 'server-run');
    assert.deepEqual(foreign, []);
  });

  test('signing out shows the sign-in form again', async () => {
    await page.goto('/');
    await page.getByTestId('sign-out').click();
    await page.getByTestId('login-form').waitFor();
  });
});
