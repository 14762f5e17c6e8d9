// The dashboard over `swanlog server` in a real Chromium: sign-in with an API key (a wrong key is
// refused with the server's message), then the runs list and a run page of an uploaded run.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
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
  let writeKey: string;
  let runId: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'swanlog-web-server-'));
    logdir = mkdtempSync(join(tmpdir(), 'swanlog-web-cloud-'));
    server = await startServer({ dataDir, port: 0, host: '127.0.0.1', webRoot: WEB_ROOT, log: () => {} });
    writeKey = createApiKey({ dataDir, workspace: 'team', scope: 'write' }).key;
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
    const requests: string[] = [];
    const onRequest = (req: { url(): string }) => requests.push(new URL(req.url()).pathname);
    page.on('request', onRequest);
    await page.goto('/');
    const row = page.getByTestId(`run-row-${runId}`);
    await row.waitFor();
    page.off('request', onRequest);
    // The runs page asks for the table only, not also for the experiments list.
    assert.equal(requests.filter((p) => p.endsWith('/runs-table')).length, 1, requests.join(' '));
    assert.equal(requests.filter((p) => p.endsWith('/experiments')).length, 0, requests.join(' '));
    assert.equal(await row.getAttribute('data-state'), 'finished');
    assert.match(await text(page.getByTestId('server-mode')), /team/);

    await page.goto(`/experiments/${runId}`);
    for (const key of ['eval/acc', 'train/loss'])
      await page.getByTestId(`chart-${key}`).locator('canvas').waitFor();
    assert.equal(await text(page.getByTestId('last-step')), '39');
    assert.match(await text(page.getByTestId('config')), /"lr": 0.01/);
    // The environment panel in server mode: the uploaded run's writer host, no directory.
    assert.equal(await text(page.getByTestId('env-origin')), 'logged by swanlog');
    assert.equal(await text(page.getByTestId('env-hosts')), hostname());
    assert.equal(await page.getByTestId('env-dir').count(), 0);
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

  test('a read-key session sees no edit controls', async () => {
    await page.getByTestId('login-key').fill(readKey);
    await page.getByTestId('login-submit').click();
    await page.getByTestId(`run-row-${runId}`).waitFor();
    assert.equal(await page.getByTestId('edit-tags').count(), 0);
    assert.equal(await page.getByTestId('archive').count(), 0);
    await page.getByTestId('sign-out').click();
    await page.getByTestId('login-form').waitFor();
  });

  test('signed in with a write key, tags, a note, a rename and archive + undo persist across a reload', async () => {
    await page.getByTestId('login-key').fill(writeKey);
    await page.getByTestId('login-submit').click();
    const row = page.getByTestId(`run-row-${runId}`);
    await row.waitFor();
    await row.getByTestId('edit-tags').fill('baseline, sweep-1');
    await row.getByTestId('edit-tags').press('Enter');
    await page.waitForFunction(
      (id) =>
        document.querySelector(`[data-testid="run-row-${id}"] [data-testid="run-tags"]`)?.textContent ===
        'baseline, sweep-1',
      runId,
    );
    await row.getByTestId('edit-note').fill('lr too high?');
    await row.getByTestId('edit-note').press('Enter');
    await row.getByTestId('edit-name').fill('uploaded-renamed');
    await row.getByTestId('edit-name').press('Enter');
    await row.getByRole('link', { name: 'uploaded-renamed' }).waitFor();

    await page.reload();
    await row.waitFor();
    assert.equal(await text(row.getByTestId('run-tags')), 'baseline, sweep-1');
    assert.equal(await row.getByTestId('edit-note').inputValue(), 'lr too high?');
    assert.equal(await text(row.getByTestId('run-note')), 'lr too high?');
    assert.equal(await text(row.getByRole('link', { name: 'uploaded-renamed' })), 'uploaded-renamed');
    await page.getByTestId('runs-filter').fill('tag:baseline');
    assert.equal(await page.getByTestId('runs-table').locator('tbody tr').count(), 1);
    await page.getByTestId('runs-filter').fill('tag:other');
    assert.equal(await page.getByTestId('runs-table').locator('tbody tr').count(), 0);
    await page.getByTestId('runs-filter').fill('');

    // Archive hides the run; undo brings it back; both survive a reload.
    await row.getByTestId('archive').click();
    await row.waitFor({ state: 'detached' });
    assert.match(await text(page.getByTestId('undo-bar')), /Archived uploaded-renamed/);
    await page.reload();
    await page.getByTestId('runs-status').filter({ hasText: 'archived hidden' }).waitFor();
    assert.equal(await row.count(), 0, 'an archived run stays hidden after a reload');
    await page.getByTestId('show-archived').check();
    await row.waitFor();
    assert.equal(await row.getAttribute('data-archived'), '1');
    await page.getByTestId('show-archived').uncheck();
    await row.waitFor({ state: 'detached' });
    await page.getByTestId('show-archived').check();
    await row.getByTestId('unarchive').click();
    await page.getByTestId('show-archived').uncheck();
    await row.waitFor();
    await page.reload();
    await row.waitFor();
    assert.equal(await row.getAttribute('data-archived'), '0');

    // The undo button of the archive notice.
    await row.getByTestId('archive').click();
    await row.waitFor({ state: 'detached' });
    await page.getByTestId('undo-archive').click();
    await row.waitFor();
    await page.reload();
    await row.waitFor();
    assert.equal(await row.getAttribute('data-archived'), '0');
    await screenshot(page, 'server-runs-table-edit');
  });
});
