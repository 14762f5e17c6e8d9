// The dashboard over `swanlog watch` in a real Chromium: runs list, run page, live points,
// compare view. Runs are a copy of swanlog-fixtures/logdir plus a run held open by a child process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningWatch, startWatch } from '@swanlog/server';
import { listRunDirs, RunReader } from '@swanlog/store';
import type { Browser, Page } from 'playwright-core';
import { init } from 'swanlog';
import { launchBrowser, openPage, REPO_ROOT, screenshot, text, WEB_ROOT } from './test-support/browser.js';
import { type LiveRun, startLiveRun } from './test-support/live-run.js';

/** The fixture made by `swanlog copy` of fx-finished (its id is random, made when fixtures are generated). */
const COPY_ID = (() => {
  for (const dir of listRunDirs(join(REPO_ROOT, 'swanlog-fixtures', 'logdir'))) {
    let reader: RunReader | undefined;
    try {
      reader = RunReader.open(dir, { readonly: true });
      if (reader.meta.copiedFrom === 'fx-finished') return reader.meta.id;
    } catch (error) {
      if (
        (error as { code?: string }).code !== 'RUN_DIR_CORRUPT' &&
        (error as { code?: string }).code !== 'UNSUPPORTED_FORMAT'
      )
        throw error;
    } finally {
      reader?.close();
    }
  }
  throw new Error('no copy of fx-finished among the fixtures');
})();

describe('dashboard over swanlog watch', () => {
  let logdir: string;
  let watch: RunningWatch;
  let browser: Browser;
  let live: LiveRun;
  let page: Page;
  let foreign: string[];
  let errors: string[];

  before(async () => {
    logdir = mkdtempSync(join(tmpdir(), 'swanlog-web-watch-'));
    cpSync(join(REPO_ROOT, 'swanlog-fixtures', 'logdir'), logdir, { recursive: true });
    live = await startLiveRun({ logdir, id: 'web-live', steps: 20 });
    watch = await startWatch({ logdir, port: 0, host: '127.0.0.1', webRoot: WEB_ROOT, log: () => {} });
    browser = await launchBrowser();
    ({ page, foreign, errors } = await openPage(browser, watch.url));
  });

  after(async () => {
    await browser?.close();
    await watch?.close();
    await live?.stop();
    if (logdir) rmSync(logdir, { recursive: true, force: true });
  });

  test('the runs list shows finished, crashed, copied and running runs as links', async () => {
    const requests: string[] = [];
    const onRequest = (req: { url(): string }) => requests.push(new URL(req.url()).pathname);
    page.on('request', onRequest);
    await page.goto('/');
    const table = page.getByTestId('runs-table');
    await table.getByTestId('run-row-web-live').waitFor();
    await page.getByTestId('runs-problems').waitFor();
    page.off('request', onRequest);
    // One request for the table (copiedFrom and sync come with its rows), none for the list.
    assert.equal(requests.filter((p) => p.endsWith('/runs-table')).length, 1, requests.join(' '));
    assert.equal(requests.filter((p) => p.endsWith('/experiments')).length, 0, requests.join(' '));
    const stateOf = (id: string) => table.getByTestId(`run-row-${id}`).getAttribute('data-state');
    assert.equal(await stateOf('fx-finished'), 'finished');
    assert.equal(await stateOf('fx-crashed'), 'crashed');
    assert.equal(await stateOf('web-live'), 'running');
    const copied = table.getByTestId(`run-row-${COPY_ID}`);
    assert.match(await text(copied.getByTestId('run-copied-from')), /fx-finished/);
    const link = table.getByTestId('run-row-fx-crashed').getByRole('link', { name: 'fx-crashed' });
    assert.equal(await link.getAttribute('href'), '/experiments/fx-crashed');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await text(table.getByTestId('run-row-web-live').getByTestId('run-sync')), 'not synced');
    await page.getByTestId('runs-problems').waitFor();
    assert.match(await text(page.getByTestId('runs-problems')), /3 run directories could not be read/);
    await screenshot(page, 'watch-runs-list');

    await page.getByTestId('runs-filter').fill('crash');
    assert.equal(await table.locator('tbody tr').count(), 1);
    await page.getByTestId('runs-filter').fill('');
    assert.equal(await table.locator('tbody tr').count(), 7);

    await page.getByTestId('sort-id').click();
    const firstId = () => table.locator('tbody tr').first().getAttribute('data-testid');
    assert.equal(await firstId(), `run-row-${COPY_ID}`);
    await page.getByTestId('sort-id').click();
    assert.equal(await firstId(), 'run-row-web-live');

    await page.getByTestId('pick-fx-finished').check();
    await page.getByTestId('pick-fx-resumed').check();
    const href = await page.getByTestId('compare-link').getAttribute('href');
    assert.ok(
      href === '/compare?ids=fx-resumed,fx-finished' || href === '/compare?ids=fx-finished,fx-resumed',
    );
  });

  test('the runs table filters by config and metric expressions, sorts by a column, and a link restores both', async () => {
    await page.goto('/');
    const table = page.getByTestId('runs-table');
    await table.getByTestId('run-row-web-live').waitFor();
    const ids = async () =>
      (
        await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-testid')))
      ).map((t) => String(t).slice('run-row-'.length));
    // Top-level config keys are columns by default; nested ones are in the picker.
    assert.equal(await text(table.getByTestId('run-row-fx-finished').getByTestId('cell-c:lr')), '0.001');
    assert.equal(await page.getByTestId('sort-c:model/layers').count(), 0);

    await page.getByTestId('runs-filter').fill('lr=0.001');
    assert.deepEqual((await ids()).sort(), [COPY_ID, 'fx-finished', 'web-live'].sort());
    await page.getByTestId('runs-filter').fill('lr=0.001 model/layers>2');
    assert.deepEqual(await ids(), ['web-live']);
    await page.getByTestId('runs-filter').fill('loss<1');
    assert.deepEqual((await ids()).sort(), [COPY_ID, 'fx-finished'].sort());
    assert.equal(await page.getByTestId('filter-error').isVisible(), false);

    await page.getByTestId('runs-filter').fill('lr>');
    assert.match(await text(page.getByTestId('filter-error')), /no value after >/);
    assert.equal(await page.getByTestId('filter-error').isVisible(), true);
    await page.getByTestId('runs-filter').fill('lrr>0.1');
    assert.match(await text(page.getByTestId('filter-error')), /unknown key "lrr"/);

    // A metric column from the picker, sorted numerically both ways (runs without it last).
    await page.getByTestId('runs-filter').fill('');
    await page.getByTestId('column-picker').locator('summary').click();
    await page.getByTestId('col-m:loss').check();
    await page.getByTestId('sort-m:loss').click();
    assert.deepEqual((await ids()).slice(0, 5), [
      COPY_ID,
      'fx-finished',
      'fx-rewound',
      'fx-crashed',
      'fx-resumed',
    ]);
    await page.getByTestId('sort-m:loss').click();
    assert.deepEqual((await ids()).slice(0, 3), ['fx-resumed', 'fx-crashed', 'fx-rewound']);
    assert.equal(await text(table.getByTestId('run-row-fx-resumed').getByTestId('cell-m:loss')), '49000');
    await page.getByTestId('metric-stat').selectOption('min');
    assert.equal(await text(table.getByTestId('run-row-fx-resumed').getByTestId('cell-m:loss')), '0');
    await page.getByTestId('metric-stat').selectOption('last');

    await page.getByTestId('runs-filter').fill('acc>1');
    assert.deepEqual(await ids(), ['fx-resumed', 'fx-crashed']);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('q'), 'acc>1');
    assert.equal(url.searchParams.get('sort'), 'm:loss');
    await page.goto(url.pathname + url.search);
    await table.getByTestId('run-row-fx-resumed').waitFor();
    assert.equal(await page.getByTestId('runs-filter').inputValue(), 'acc>1');
    assert.equal(await page.getByTestId('sort-m:loss').getAttribute('data-sorted'), 'desc');
    assert.deepEqual(await ids(), ['fx-resumed', 'fx-crashed']);
    await screenshot(page, 'watch-runs-table-filtered');

    // watch mode is read-only: no edit controls anywhere.
    await page.goto('/');
    await table.getByTestId('run-row-web-live').waitFor();
    for (const id of ['edit-tags', 'edit-note', 'edit-name', 'archive']) {
      assert.equal(await page.getByTestId(id).count(), 0, `no ${id} control in watch mode`);
    }
  });

  test('a run page draws one chart per key with rewinds marked and superseded points on demand', async () => {
    await page.goto('/experiments/fx-rewound');
    assert.equal(await text(page.getByTestId('run-state')), 'finished');
    const chart = page.getByTestId('chart-loss');
    await chart.locator('canvas').waitFor();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points'),
    );
    assert.equal(await chart.getAttribute('data-last-step'), '30');
    assert.equal(await chart.getAttribute('data-points'), '31');
    assert.match(await text(chart.getByTestId('chart-markers')), /rewind to 20/);
    assert.equal(await page.getByTestId('segments-table').locator('tbody tr').count(), 2);
    assert.match(await text(page.getByTestId('segments-table')), /rewind to 20/);

    await page.getByTestId('superseded-toggle').check();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-loss"] .u-legend')?.textContent?.includes('superseded'),
    );
    await screenshot(page, 'watch-run-rewound-superseded');

    await page.goto('/experiments/fx-two-writers');
    for (const key of ['eval/loss', 'train/loss']) {
      await page.getByTestId(`chart-${key}`).locator('canvas').waitFor();
    }
    assert.equal(await page.locator('[data-testid^="chart-"] canvas').count(), 2);
    // A chart far below the viewport is fetched only when scrolled to.
    await page.setViewportSize({ width: 1280, height: 200 });
    await page.goto('/experiments/fx-two-writers');
    await page.getByTestId('chart-eval/loss').locator('canvas').waitFor();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-eval/loss"]')?.getAttribute('data-points'),
    );
    assert.equal(await page.getByTestId('chart-train/loss').getAttribute('data-points'), null);
    await page.getByTestId('chart-train/loss').scrollIntoViewIfNeeded();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-train/loss"]')?.getAttribute('data-points'),
    );
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByTestId('key-search').fill('eval');
    assert.equal(await page.getByTestId('chart-eval/loss').isVisible(), true);
    assert.equal(await page.getByTestId('chart-train/loss').isVisible(), false);
    await page.getByTestId('key-search').fill('');
    await page.locator('[data-group="train"] > summary').click();
    assert.equal(
      await page.getByTestId('chart-train/loss').isVisible(),
      false,
      'the train/ section is collapsed',
    );
    assert.equal(await page.getByTestId('chart-eval/loss').isVisible(), true);
    assert.match(await text(page.getByTestId('config')), /\{/);
  });

  test('dragging on a chart zooms into that step range with a finer fetch; double click resets', async () => {
    await page.goto('/experiments/fx-finished');
    const chart = page.getByTestId('chart-loss');
    await chart.locator('canvas').waitFor();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points'),
    );
    const all = Number(await chart.getAttribute('data-points'));
    // The chart's download link gets every visible point of the key.
    const csvHref = (await chart.getByTestId('export-csv').getAttribute('href'))!;
    assert.equal(csvHref, '/api/v1/experiments/fx-finished/export/loss?format=csv');
    const fullCsv = await (await page.request.get(csvHref)).text();
    const csvLines = fullCsv.trim().split('\n');
    assert.equal(csvLines.length - 1, all, `${csvLines.length - 1} data rows for ${all} points`);
    const box = (await chart.locator('.u-over').boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.25, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() =>
      document
        .querySelector('[data-testid="chart-loss"] [data-testid="chart-note"]')
        ?.textContent?.includes('steps'),
    );
    const zoomed = Number(await chart.getAttribute('data-points'));
    assert.ok(zoomed > 0 && zoomed < all, `zoomed to ${zoomed} of ${all} points`);
    const lossNote = await text(chart.getByTestId('chart-note'));
    // Zoomed, the download covers that step range only.
    const zoomedHref = new URL((await chart.getByTestId('export-json').getAttribute('href'))!, page.url());
    assert.equal(zoomedHref.searchParams.get('format'), 'json');
    const from = Number(zoomedHref.searchParams.get('from'));
    const to = Number(zoomedHref.searchParams.get('to'));
    assert.ok(from > 0 && from < to && to < 49, `zoomed download range ${from}–${to}`);
    const zoomedCsv = await (
      await page.request.get((await chart.getByTestId('export-csv').getAttribute('href'))!)
    ).text();
    const zoomedRows = zoomedCsv.trim().split('\n').length - 1;
    assert.ok(zoomedRows > 0 && zoomedRows < all, `the zoomed download has ${zoomedRows} of ${all} rows`);
    // The zoom is shared: the acc chart shows the same step range.
    await page.waitForFunction(
      (note) =>
        document.querySelector('[data-testid="chart-acc"] [data-testid="chart-note"]')?.textContent === note,
      lossNote,
    );
    // The zoom is in the address: a link (here a reload) shows the same step range.
    assert.equal(new URL(page.url()).searchParams.get('steps'), `${from}-${to}`);
    await page.goto(page.url());
    await page.waitForFunction(
      (note) =>
        document.querySelector('[data-testid="chart-loss"] [data-testid="chart-note"]')?.textContent === note,
      lossNote,
    );
    assert.equal(Number(await chart.getAttribute('data-points')), zoomed);
    await chart.locator('.u-over').dblclick();
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points') === String(n),
      all,
    );
    assert.equal(new URL(page.url()).searchParams.get('steps'), null);
  });

  test('log scale changes the y axis, smoothing the drawn line (not the data), and a link restores both', async () => {
    await page.goto('/experiments/fx-finished');
    const chart = page.getByTestId('chart-loss');
    await chart.locator('canvas').waitFor();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points'),
    );
    const points = await chart.getAttribute('data-points');
    const rawLast = await chart.getAttribute('data-raw-last');
    const linearTicks = await chart.getAttribute('data-y-ticks');
    assert.equal(await chart.getAttribute('data-drawn-last'), rawLast);

    await page.getByTestId('log-scale').check();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-y-scale') === 'log',
    );
    await page.waitForFunction(
      (before) =>
        document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-y-ticks') !== before,
      linearTicks,
    );

    await page.getByTestId('smoothing').fill('0.9');
    assert.equal(await text(page.getByTestId('smoothing-value')), '0.90');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-smoothing') === '0.9',
    );
    assert.notEqual(await chart.getAttribute('data-drawn-last'), rawLast, 'the drawn line is smoothed');
    assert.equal(await chart.getAttribute('data-raw-last'), rawLast, 'the data is unchanged');
    assert.equal(await chart.getAttribute('data-points'), points);
    assert.match(await text(chart.locator('.u-legend')), /loss \(raw\)/);

    const url = new URL(page.url());
    assert.equal(url.searchParams.get('smooth'), '0.9');
    assert.equal(url.searchParams.get('log'), '1');
    await page.goto(url.pathname + url.search);
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-y-scale') === 'log' &&
        document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-smoothing') === '0.9',
    );
    assert.equal(await page.getByTestId('log-scale').isChecked(), true);
    assert.equal(await page.getByTestId('smoothing').inputValue(), '0.9');
    await screenshot(page, 'watch-run-log-smoothed');
  });

  test('the x axis switches between step, relative time and wall clock, and a link restores it', async () => {
    await page.goto('/experiments/fx-finished');
    const chart = page.getByTestId('chart-loss');
    const attr = (name: string) => chart.getAttribute(name);
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points'),
    );
    assert.equal(await attr('data-x-mode'), 'step');
    const stepTicks = (await attr('data-x-ticks'))!;
    assert.match(stepTicks, /^\d+( \d+)+$/, `step ticks are plain numbers: ${stepTicks}`);
    const points = await attr('data-points');

    await page.getByTestId('x-axis').selectOption('relative');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-x-mode') === 'relative',
    );
    const relTicks = (await attr('data-x-ticks'))!;
    assert.notEqual(relTicks, stepTicks);
    assert.match(
      relTicks,
      /^(\d+(\.\d+)?(ms|s|m|h|d)\S*|0s)( |$)/,
      `relative ticks are durations: ${relTicks}`,
    );
    assert.equal(await attr('data-points'), points, 'the same points on another axis');

    await page.getByTestId('x-axis').selectOption('wall');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-x-mode') === 'wall',
    );
    const wallTicks = (await attr('data-x-ticks'))!;
    assert.match(wallTicks, /\d\d:\d\d/, `wall-clock ticks are times of day: ${wallTicks}`);
    assert.equal(
      await page.getByTestId('chart-acc').getAttribute('data-x-mode'),
      'wall',
      'every chart of the run switches',
    );

    const url = new URL(page.url());
    assert.equal(url.searchParams.get('x'), 'wall');
    await page.goto(url.pathname + url.search);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-x-mode') === 'wall',
    );
    assert.equal(await page.getByTestId('x-axis').inputValue(), 'wall');
    await screenshot(page, 'watch-run-wall-clock');
  });

  test("a chart's own log box changes only that chart; points <= 0 are left out with a note", async () => {
    await page.goto('/experiments/fx-finished');
    for (const key of ['loss', 'acc']) {
      await page.waitForFunction(
        (k) => document.querySelector(`[data-testid="chart-${k}"]`)?.getAttribute('data-points'),
        key,
      );
    }
    const loss = page.getByTestId('chart-loss');
    const acc = page.getByTestId('chart-acc');
    const accTicks = await acc.getAttribute('data-y-ticks');
    await acc.getByTestId('chart-log').check();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-acc"]')?.getAttribute('data-y-scale') === 'log',
    );
    assert.notEqual(await acc.getAttribute('data-y-ticks'), accTicks);
    assert.equal(await loss.getAttribute('data-y-scale'), 'linear', 'the other chart stays linear');
    assert.equal(await loss.getByTestId('chart-log').isChecked(), false);
    // acc starts at 0: that point has no place on a log axis.
    assert.match(await text(acc.getByTestId('chart-note')), /1 point ≤ 0 left out \(log scale\)/);
    assert.equal(new URL(page.url()).searchParams.get('ylog'), 'acc');

    // "log-scale y (all)" sets every chart; a chart can then go back to linear on its own.
    await page.getByTestId('log-scale').check();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-y-scale') === 'log',
    );
    assert.equal(await acc.getAttribute('data-y-scale'), 'log');
    await loss.getByTestId('chart-log').uncheck();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-y-scale') === 'linear',
    );
    assert.equal(await acc.getAttribute('data-y-scale'), 'log');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('log'), '1');
    assert.equal(url.searchParams.get('ylin'), 'loss');
    await page.goto(url.pathname + url.search);
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="chart-acc"]')?.getAttribute('data-y-scale') === 'log' &&
        document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-y-scale') === 'linear',
    );
    assert.equal(await page.getByTestId('chart-loss').getByTestId('chart-log').isChecked(), false);
    assert.equal(await page.getByTestId('chart-acc').getByTestId('chart-log').isChecked(), true);
  });

  test('clipping outliers narrows the y range and marks the clipped points, not the data or the download', async () => {
    await page.goto('/experiments/fx-finished');
    const chart = page.getByTestId('chart-loss');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-y-max'),
    );
    const before = {
      points: await chart.getAttribute('data-points'),
      rawLast: await chart.getAttribute('data-raw-last'),
      yMax: Number(await chart.getAttribute('data-y-max')),
      csv: await chart.getByTestId('export-csv').getAttribute('href'),
    };
    // loss = 1/(step+1): the first steps are far above the rest.
    assert.ok(before.yMax >= 1, `the full range reaches the first point: ${before.yMax}`);
    assert.equal(await chart.getAttribute('data-clipped'), '0');
    await page.getByTestId('clip-outliers').check();
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-clipped')) > 0,
    );
    const yMax = Number(await chart.getAttribute('data-y-max'));
    assert.ok(yMax < before.yMax / 2, `clipped y max ${yMax} below ${before.yMax}`);
    assert.match(await text(chart.getByTestId('chart-note')), /\d+ outliers? clipped/);
    assert.equal(await chart.getAttribute('data-points'), before.points, 'the same points are drawn');
    assert.equal(await chart.getAttribute('data-raw-last'), before.rawLast);
    assert.equal(await chart.getByTestId('export-csv').getAttribute('href'), before.csv);
    const csv = await (await page.request.get(before.csv!)).text();
    assert.equal(csv.trim().split('\n').length - 1, Number(before.points), 'the download keeps every point');
    assert.equal(new URL(page.url()).searchParams.get('clip'), '1');
    await screenshot(page, 'watch-run-clipped');
    await page.getByTestId('clip-outliers').uncheck();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-clipped') === '0',
    );
    assert.equal(Number(await chart.getAttribute('data-y-max')), before.yMax);
  });

  test('the crosshair moves in every chart of the run when the pointer is over one', async () => {
    await page.goto('/experiments/fx-finished');
    for (const key of ['loss', 'acc']) await page.getByTestId(`chart-${key}`).locator('canvas').waitFor();
    const cursorLeft = (key: string) =>
      page.evaluate((k) => {
        const el = document.querySelector<HTMLElement>(`[data-testid="chart-${k}"] .u-cursor-x`);
        return el ? el.style.transform || el.style.left : '';
      }, key);
    const before = await cursorLeft('acc');
    const box = (await page.getByTestId('chart-loss').locator('.u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 3 });
    await page.waitForFunction((b) => {
      const el = document.querySelector<HTMLElement>('[data-testid="chart-acc"] .u-cursor-x');
      return el && (el.style.transform || el.style.left) !== b && !el.classList.contains('u-off');
    }, before);
    const accLeft = await cursorLeft('acc');
    assert.equal(accLeft, await cursorLeft('loss'), 'both crosshairs stand at the same x');
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2, { steps: 3 });
    await page.waitForFunction(
      (b) =>
        (() => {
          const el = document.querySelector<HTMLElement>('[data-testid="chart-acc"] .u-cursor-x');
          return el ? el.style.transform || el.style.left : '';
        })() !== b,
      accLeft,
    );
  });

  test('a point logged by a live process appears without a reload', async () => {
    await page.goto('/experiments/web-live');
    const lastStep = page.getByTestId('last-step');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="last-step"]')?.textContent === '19',
    );
    for (const key of ['lr', 'train/acc', 'train/loss']) {
      await page.getByTestId(`chart-${key}`).locator('canvas').waitFor();
    }
    assert.equal(await text(page.getByTestId('run-state')), 'running');
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await live.log(15);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="last-step"]')?.textContent === '34',
      null,
      {
        timeout: 15_000,
      },
    );
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="chart-train/loss"]')?.getAttribute('data-last-step') === '34',
      null,
      { timeout: 15_000 },
    );
    assert.equal(await text(lastStep), '34');
    assert.equal(
      await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
      true,
    );
    await screenshot(page, 'watch-run-live');
  });

  test('the compare view overlays two runs on one chart per key', async () => {
    await page.goto('/compare?ids=fx-finished,fx-resumed');
    await page.getByTestId('compare-run-fx-finished').waitFor();
    await page.getByTestId('compare-run-fx-resumed').waitFor();
    const loss = page.getByTestId('compare-chart-loss');
    await loss.locator('canvas').waitFor();
    await page.getByTestId('compare-chart-weird').waitFor();
    const legend = (await loss.locator('.u-legend').textContent()) ?? '';
    assert.match(legend, /finished/);
    assert.match(legend, /resumed/);
    assert.equal(await page.locator('[data-testid^="compare-chart-"]').count(), 3);
    await screenshot(page, 'watch-compare');
  });

  test('compare: legend with the config values that differ, colors by position, per-run markers, config diff', async () => {
    await page.goto(`/compare?ids=fx-finished,web-live,${COPY_ID},fx-rewound&smooth=0.5&x=relative`);
    for (const id of ['fx-finished', 'web-live', COPY_ID, 'fx-rewound']) {
      await page.getByTestId(`compare-run-${id}`).waitFor();
    }
    // lr is 0.001 in the three runs that have a config; model/layers differs (2, 4, 2, none).
    const legendConfig = (id: string) =>
      text(page.getByTestId(`compare-run-${id}`).getByTestId('compare-run-config'));
    assert.match(await legendConfig('fx-finished'), /model\/layers=2/);
    assert.match(await legendConfig('web-live'), /model\/layers=4/);
    assert.match(await legendConfig('fx-rewound'), /model\/layers=—/);
    const loss = page.getByTestId('compare-chart-loss');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="compare-chart-loss"]')?.getAttribute('data-points'),
    );
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="compare-chart-train/loss"]')?.getAttribute('data-points'),
    );
    // Settings from the URL: smoothing and relative time on every chart.
    assert.equal(await loss.getAttribute('data-smoothing'), '0.5');
    assert.equal(await loss.getAttribute('data-x-mode'), 'relative');
    assert.equal(await page.getByTestId('x-axis').inputValue(), 'relative');
    // One color per run, by its position in the link, the same on every chart.
    const colors = (await loss.getAttribute('data-colors'))!.split(' ');
    assert.equal(colors.length, 4);
    assert.equal(new Set(colors).size, 4);
    assert.equal(
      await page.getByTestId('compare-chart-train/loss').getAttribute('data-colors'),
      colors.join(' '),
    );
    const swatch = (id: string) =>
      page
        .getByTestId(`compare-run-${id}`)
        .locator('.swatch')
        .evaluate((el) => getComputedStyle(el).backgroundColor);
    const rgb = (hex: string) =>
      `rgb(${[1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
    assert.equal(await swatch('fx-rewound'), rgb(colors[3]!));
    // The two copies of fx-finished share a name: the chart's legend tells them apart by id.
    const legend = await text(loss.locator('.u-legend'));
    assert.match(legend, new RegExp(COPY_ID));
    assert.match(legend, /rewound/);
    // Per-run markers: fx-rewound's rewind, named after that run.
    assert.match(await text(loss.getByTestId('chart-markers')), /^rewound · fx-rewound: rewind to 20/);

    // The config table shows the keys that differ (a key a run lacks differs too).
    const table = page.getByTestId('config-diff');
    assert.match(await text(table.getByTestId('config-row-model/layers')), /2.*4.*2.*—/);
    assert.match(await text(table.getByTestId('config-row-lr')), /0\.001.*0\.001.*0\.001.*—/);
    await screenshot(page, 'watch-compare-four');

    // A shared zoom: dragging on one chart refetches the others for that step range.
    await page.getByTestId('x-axis').selectOption('step');
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="compare-chart-loss"]')?.getAttribute('data-x-mode') === 'step',
    );
    const box = (await loss.locator('.u-over').boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.1, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, y, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() =>
      document
        .querySelector('[data-testid="compare-chart-train/loss"] [data-testid="chart-note"]')
        ?.textContent?.includes('steps'),
    );
    await loss.locator('.u-over').dblclick();
    await page.waitForFunction(
      () =>
        !document
          .querySelector('[data-testid="compare-chart-train/loss"] [data-testid="chart-note"]')
          ?.textContent?.includes('steps'),
    );

    // The same link in another order: colors follow the position.
    await page.goto(`/compare?ids=fx-rewound,fx-finished`);
    await page.getByTestId('compare-run-fx-rewound').waitFor();
    assert.equal(await swatch('fx-rewound'), rgb(colors[0]!));
    // Per-chart log and clip, as on the run page.
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="compare-chart-loss"]')?.getAttribute('data-points'),
    );
    await loss.getByTestId('chart-log').check();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="compare-chart-loss"]')?.getAttribute('data-y-scale') === 'log',
    );
    assert.equal(await page.getByTestId('compare-chart-acc').getAttribute('data-y-scale'), 'linear');
    assert.equal(new URL(page.url()).searchParams.get('ylog'), 'loss');
  });

  test('the compare config table hides the keys all runs share until "show all"; the crosshair is synced', async () => {
    await page.goto('/compare?ids=fx-finished,web-live');
    const table = page.getByTestId('config-diff');
    await table.getByTestId('config-row-model/layers').waitFor();
    assert.equal(await table.getByTestId('config-row-lr').count(), 0, 'lr is 0.001 in both');
    assert.match(
      await text(page.getByTestId('compare-run-web-live').getByTestId('compare-run-config')),
      /^model\/layers=4$/,
    );
    await page.getByTestId('config-diff-all').check();
    assert.match(await text(table.getByTestId('config-row-lr')), /0\.001/);
    assert.equal(await table.locator('tr.differs').count(), 1);

    // The crosshair is synced across the compare charts too.
    for (const key of ['loss', 'acc']) {
      await page.waitForFunction(
        (k) => document.querySelector(`[data-testid="compare-chart-${k}"]`)?.getAttribute('data-points'),
        key,
      );
    }
    await page.getByTestId('compare-chart-loss').scrollIntoViewIfNeeded();
    assert.equal(await page.locator('[data-testid="compare-chart-acc"] .u-cursor-x.u-off').count(), 1);
    const box = (await page.getByTestId('compare-chart-loss').locator('.u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 3 });
    await page.waitForFunction(() => {
      const el = document.querySelector<HTMLElement>('[data-testid="compare-chart-acc"] .u-cursor-x');
      return el !== null && !el.classList.contains('u-off');
    });
  });

  test('compare refuses more than 20 runs with a message; past 6 runs the charts have no legend of their own', async () => {
    const ids = Array.from({ length: 21 }, (_, i) => `run-${i}`);
    await page.goto(`/compare?ids=${ids.join(',')}`);
    await page.getByTestId('compare-status').waitFor();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="compare-status"]')?.textContent?.includes('at most 20'),
    );
    assert.match(await text(page.getByTestId('compare-status')), /at most 20 runs; this link names 21/);
    assert.equal(await page.locator('[data-testid^="compare-chart-"]').count(), 0);

    // Seven runs: the page's legend names them; the charts leave out uPlot's legend under each.
    const seven = [
      'fx-finished',
      'fx-crashed',
      'fx-resumed',
      'fx-rewound',
      'fx-two-writers',
      COPY_ID,
      'web-live',
    ];
    await page.goto(`/compare?ids=${seven.join(',')}`);
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="compare-chart-loss"]')?.getAttribute('data-points'),
    );
    assert.equal(await page.getByTestId('compare-legend').locator('li').count(), 7);
    assert.equal(await page.getByTestId('compare-chart-loss').locator('.u-legend').count(), 0);
    assert.equal(
      (await page.getByTestId('compare-chart-loss').getAttribute('data-colors'))!.split(' ').length,
      7,
    );
  });

  test('the run page lists what each config revision added, changed or removed', async () => {
    await page.goto('/experiments/fx-resumed');
    const history = page.getByTestId('config-history');
    await history.waitFor();
    await screenshot(page, 'watch-run-config-history');
    const last = history.locator('[data-testid^="config-revision-"]').last();
    const added = last.getByTestId('change-added');
    assert.equal(await added.getAttribute('data-key'), 'phase');
    assert.match(await text(added), /\+ phase = 2/);
    assert.match(await text(last), /1 added/);
  });

  test("the environment panel: the writers' host and pid, a copy's origin with a link, an imported run's source", async () => {
    await page.goto('/experiments/fx-resumed');
    const env = page.getByTestId('environment');
    await env.waitFor();
    assert.equal(await text(env.getByTestId('env-origin')), 'logged by swanlog');
    assert.equal(await text(env.getByTestId('env-hosts')), hostname());
    assert.equal(await text(env.getByTestId('env-sessions')), '2 (1 resumed)');
    const header = await page.getByTestId('segments-table').locator('thead').textContent();
    assert.match(header ?? '', /host.*pid/i);
    const pids = await page
      .getByTestId('segments-table')
      .locator('tbody tr td:nth-child(4)')
      .evaluateAll((tds) => tds.map((td) => Number(td.textContent)));
    assert.ok(pids.length === 2 && pids.every((p) => Number.isInteger(p) && p > 0), `pids ${pids}`);

    await page.goto(`/experiments/${COPY_ID}`);
    await env.waitFor();
    assert.equal(await text(env.getByTestId('env-origin')), 'a copy');
    const link = env.getByTestId('env-copied-from').getByRole('link');
    assert.equal(await link.getAttribute('href'), '/experiments/fx-finished');

    // A TensorBoard run imported into the served logdir shows where it came from.
    const source = join(REPO_ROOT, 'swanlog-fixtures', 'tensorboard', 'runs', 'tbx');
    const out = execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'apps', 'cli', 'bin', 'swanlog.js'), 'import', source, '--logdir', logdir, '--json'],
      { encoding: 'utf8' },
    );
    const [imported] = JSON.parse(out) as { id: string; sourceId: string }[];
    assert.ok(imported?.id, out);
    await page.goto('/');
    await page.getByTestId(`run-row-${imported.id}`).waitFor({ timeout: 15_000 });
    await page.goto(`/experiments/${encodeURIComponent(imported.id)}`);
    await env.waitFor();
    assert.equal(await text(env.getByTestId('env-origin')), 'imported from tensorboard');
    assert.equal(await text(env.getByTestId('env-source-path')), source);
    assert.equal(await text(env.getByTestId('env-source-id')), imported.sourceId);
    await screenshot(page, 'watch-run-imported-environment');
  });

  test('a run of 60 keys draws its first screen, then places every chart; the key search finds late ones', async () => {
    const run = await init({ logdir, id: 'web-wide', resume: 'allow', project: 'web-tests', name: 'wide' });
    for (let s = 0; s < 30; s++) {
      const row: Record<string, number> = {};
      for (let k = 0; k < 60; k++) row[`layers/${String(k).padStart(2, '0')}/norm`] = k + 1 / (s + 1);
      run.log(row, s);
    }
    await run.finish();
    await page.goto('/experiments/web-wide');
    await page.getByTestId('chart-layers/00/norm').locator('canvas').waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('figure.chart').length === 60);
    // The last chart is far below: it exists but has fetched nothing yet.
    const last = page.getByTestId('chart-layers/59/norm');
    assert.equal(await last.getAttribute('data-points'), null);
    await page.getByTestId('key-search').fill('59');
    await last.locator('canvas').waitFor();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="chart-layers/59/norm"]')?.getAttribute('data-points') === '30',
    );
    assert.equal(await page.getByTestId('chart-layers/00/norm').isVisible(), false);
  });

  test("a run page asks for its first screen's points in one request; each chart draws its own key", async () => {
    // Key k has k + 3 points: a chart showing another key's series would show another count.
    const run = await init({ logdir, id: 'web-grid', resume: 'allow', project: 'web-tests', name: 'grid' });
    for (let s = 0; s < 45; s++) {
      const row: Record<string, number> = {};
      for (let k = 0; k < 40; k++) if (s < k + 3) row[`grid/${String(k).padStart(2, '0')}`] = k + s / 100;
      run.log(row, s);
    }
    await run.finish();
    const requests: string[] = [];
    const onRequest = (req: { url(): string }) => {
      // Only this run's requests: the previous test's page may still have one in flight.
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/v1/experiments/web-grid/') && url.pathname.includes('/metrics'))
        requests.push(url.pathname + url.search);
    };
    page.on('request', onRequest);
    await page.goto('/experiments/web-grid');
    const first = ['00', '01', '02', '03'];
    for (const k of first) {
      await page.waitForFunction(
        (key) =>
          document.querySelector(`[data-testid="chart-grid/${key}"]`)?.getAttribute('data-points') ===
          String(Number(key) + 3),
        k,
        { timeout: 15_000 },
      );
    }
    page.off('request', onRequest);
    const [firstRequest] = requests;
    assert.ok(firstRequest, 'a metrics request');
    assert.match(firstRequest, /^\/api\/v1\/experiments\/web-grid\/metrics\?/, requests.join(' '));
    const keys = new URLSearchParams(firstRequest.split('?')[1]).getAll('key');
    for (const k of first) assert.ok(keys.includes(`grid/${k}`), `${k} in ${keys.join(',')}`);
    // Scrolled to, a chart further down draws its own points too.
    const far = page.getByTestId('chart-grid/39');
    await page.waitForFunction(() => document.querySelectorAll('figure.chart').length === 40);
    await far.scrollIntoViewIfNeeded();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="chart-grid/39"]')?.getAttribute('data-points') === '42',
    );
  });

  test('a run page makes no request outside its backend and no script error (screenshot kept)', async () => {
    await page.goto('/experiments/fx-resumed');
    await page.getByTestId('chart-loss').locator('canvas').waitFor();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-acc"]')?.getAttribute('data-points'),
    );
    // (The README's pictures are of a real training sweep: apps/web/screenshot-sweep.mjs.)
    await screenshot(page, 'watch-run-resumed');
    assert.deepEqual(foreign, [], 'the dashboard made no request outside its backend');
    assert.deepEqual(errors, [], 'no script error');
  });
});
