// Screenshots of the dashboard: `node apps/web/screenshot-run.mjs <logdir> <run id> <out.png>
// [query]` serves <logdir> with `swanlog watch` and saves the page of <run id> (with the query
// string, e.g. `smooth=0.6`) as drawn by Debian's Chromium. A <run id> starting with `/` is a page
// path instead (`/`, `/compare?ids=a,b`). For the README's pictures; `screenshotPages` is the same
// for several pages of one logdir (apps/web/screenshot-sweep.mjs uses it).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.SWANLOG_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Serves `logdir` with `swanlog watch` and saves each shot: `{path, out, width?, height?,
 * fullPage?, ready?}` where `path` is a page path with its query and `ready` a CSS selector to
 * wait for (default: a drawn chart).
 */
export async function screenshotPages(logdir, shots) {
  const cli = fileURLToPath(new URL('../cli/bin/swanlog.js', import.meta.url));
  const watch = spawn(process.execPath, [cli, 'watch', logdir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise((resolve, reject) => {
      let text = '';
      watch.stdout.on('data', (d) => {
        text += d;
        const m = /http:\/\/[\d.]+:\d+/.exec(text);
        if (m !== null) resolve(m[0]);
      });
      watch.on('exit', (code) => reject(new Error(`swanlog watch exited with ${code}`)));
    });
    // Keep reading what watch prints, so it never blocks on a full pipe.
    watch.stdout.on('data', () => {});
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      for (const shot of shots) {
        const page = await browser.newPage({
          viewport: { width: shot.width ?? 1280, height: shot.height ?? 900 },
        });
        await page.goto(`${url}${shot.path}`);
        await page.waitForSelector(shot.ready ?? '.u-over', { timeout: 20_000 });
        // Let every chart on screen fetch and draw.
        await page.waitForTimeout(1500);
        await page.screenshot({ path: shot.out, fullPage: shot.fullPage ?? false });
        await page.close();
        process.stdout.write(`${shot.out}\n`);
      }
    } finally {
      await browser.close();
    }
  } finally {
    watch.kill('SIGTERM');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [logdir, runId, out, query = ''] = process.argv.slice(2);
  if (out === undefined) {
    process.stderr.write(
      'usage: node apps/web/screenshot-run.mjs <logdir> <run id | /path> <out.png> [query]\n',
    );
    process.exit(2);
  }
  const path = runId.startsWith('/') ? runId : `/experiments/${encodeURIComponent(runId)}`;
  await screenshotPages(logdir, [{ path: `${path}${query === '' ? '' : `?${query}`}`, out }]);
}
