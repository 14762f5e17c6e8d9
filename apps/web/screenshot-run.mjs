// Screenshot of a run page in the dashboard: `node apps/web/screenshot-run.mjs <logdir> <run id>
// <out.png> [query]` serves <logdir> with `swanlog watch` and saves the page of <run id> (with the
// query string, e.g. `smooth=0.6`) as drawn by Debian's Chromium. For the README's pictures.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [logdir, runId, out, query = ''] = process.argv.slice(2);
if (out === undefined) {
  process.stderr.write('usage: node apps/web/screenshot-run.mjs <logdir> <run id> <out.png> [query]\n');
  process.exit(2);
}
const cli = fileURLToPath(new URL('../cli/bin/swanlog.js', import.meta.url));
const watch = spawn(process.execPath, [cli, 'watch', logdir, '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  let text = '';
  watch.stdout.on('data', (d) => {
    text += d;
    const m = /http:\/\/[\d.]+:\d+/.exec(text);
    if (m !== null) resolve(m[0]);
  });
  watch.on('exit', (code) => reject(new Error(`swanlog watch exited with ${code}`)));
});
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/experiments/${runId}${query === '' ? '' : `?${query}`}`);
  await page.waitForSelector('.u-over', { timeout: 20_000 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: out, fullPage: false });
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
  watch.kill('SIGTERM');
}
