import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS } from '@swanlog/web/test-support/browser';
import { type Browser, chromium } from 'playwright-core';

/** The dashboard build the browser rows serve; SWANLOG_BENCH_WEB_ROOT: another build (e.g. main's, for a same-run baseline). */
export const WEB_ROOT =
  process.env.SWANLOG_BENCH_WEB_ROOT ?? fileURLToPath(new URL('../../apps/web/dist/public', import.meta.url));

/**
 * Debian's Chromium, headless, as every browser row drives it (never a downloaded browser). Fails
 * naming `row` when the dashboard is not built or Chromium is missing.
 */
export async function launchHeadlessChromium(row: string): Promise<Browser> {
  if (!existsSync(join(WEB_ROOT, 'index.html')))
    throw new Error(
      `${row} bench: the dashboard is not built (${WEB_ROOT}): run \`node apps/web/build.mjs\``,
    );
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${row} bench: no Chromium at ${CHROMIUM} (apt-get install chromium, or set SWANLOG_CHROMIUM)`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
