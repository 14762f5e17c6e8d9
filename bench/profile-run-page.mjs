// Where the run page's first screen goes (issue 16): a 500-key run under `swanlog watch`,
// headless Debian Chromium; prints the resource timeline of one cold load (after a warm-up)
// and the time each request spent in the server. `node bench/profile-run-page.mjs` after a build.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWatch } from '@swanlog/server';
import { chromium } from 'playwright-core';
import { init } from 'swanlog';

const WEB_ROOT = fileURLToPath(new URL('../apps/web/dist/public', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'swanlog-profile-'));
const logdir = join(work, 'logdir');
const run = await init({ logdir, id: 'wide', resume: 'allow', project: 'bench', config: {} });
const names = Array.from({ length: 500 }, (_, k) =>
  k < 4 ? ['train/loss', 'train/acc', 'val/loss', 'val/acc'][k] : `layers/${k}/grad_norm`,
);
for (let s = 0; s < 2000; s++) {
  const row = {};
  for (let k = 0; k < 500; k++)
    row[names[k]] = Math.exp(-s / 400) * (1 + k / 500) + Math.sin(s / 7 + k) * 0.02;
  run.log(row, s);
}
await run.finish();
const watch = await startWatch({ logdir, port: 0, host: '127.0.0.1', webRoot: WEB_ROOT, log: () => {} });
const browser = await chromium.launch({
  executablePath: process.env.SWANLOG_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
try {
  for (let rep = 0; rep < 3; rep++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${watch.url}/experiments/wide`, { waitUntil: 'commit' });
    const done = await (
      await page.waitForFunction(
        `(() => { const cs = document.querySelectorAll('figure.chart'); let n = 0;
          for (const c of cs) { if (c.getBoundingClientRect().top >= innerHeight) break;
            if (!c.dataset.points || !c.querySelector('canvas')) return false; n++; }
          return n >= 4 && performance.now(); })()`,
        undefined,
        { polling: 'raf', timeout: 60000 },
      )
    ).jsonValue();
    const entries = await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const rows = [{ name: 'document', start: 0, ttfb: nav.responseStart - nav.requestStart, end: nav.responseEnd }];
      for (const e of performance.getEntriesByType('resource'))
        rows.push({ name: e.name.replace(location.origin, ''), start: e.startTime, ttfb: e.responseStart - e.requestStart, end: e.responseEnd, bytes: e.encodedBodySize });
      const marks = performance.getEntriesByType('mark').filter((m, i, a) => a.findIndex((x) => x.name === m.name) === i).map((m) => m.name + '@' + m.startTime.toFixed(0)).join(' '); const paints = [marks, ...performance.getEntriesByType('paint').map((p) => p.name + '@' + p.startTime.toFixed(0))]; const _p = performance.getEntriesByType('paint').map((p) => p.name + '@' + p.startTime.toFixed(0));
      return { rows, paints, domContentLoaded: nav.domContentLoadedEventEnd, charts: document.querySelectorAll('figure.chart').length };
    })()`);
    console.log(
      `\nload ${rep}: first screen drawn at ${done.toFixed(0)} ms; DOMContentLoaded ${entries.domContentLoaded.toFixed(0)} ms; ${entries.paints.join(' ')}; charts placed ${entries.charts}`,
    );
    for (const r of entries.rows.filter((r) => r.start < done))
      console.log(
        `  ${r.start.toFixed(0).padStart(5)} → ${r.end.toFixed(0).padStart(5)} ms  server ${r.ttfb.toFixed(1).padStart(6)} ms  ${String(r.bytes ?? '').padStart(8)} B  ${r.name.slice(0, 90)}`,
      );
    await context.close();
  }
} finally {
  await browser.close();
  await watch.close();
  rmSync(work, { recursive: true, force: true });
}
