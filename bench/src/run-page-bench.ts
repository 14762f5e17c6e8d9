// The run page's first screen in a real browser: `swanlog watch` over a 500-key run (2,000 steps
// per key), headless Debian Chromium (playwright-core, never a downloaded browser), the time from
// navigation to every chart in the first viewport drawn — beside the same page for a 10-key run
// and the fetch of the run's JSON, measured in the same run.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWatch } from '@swanlog/server';
import { init } from 'swanlog';
import { launchHeadlessChromium, WEB_ROOT } from './headless-chromium.js';

export interface RunPageBenchResult {
  /** Median of the repetitions (5; 3 with --quick): navigation to the first screen of charts drawn, 500-key run. */
  run_page_first_screen_ms: number;
  /** Baseline: the same for a 10-key run of the same length. */
  run_page_first_screen_10keys_ms: number;
  /** Baseline: `GET /experiments/:id` of the 500-key run from Node (median). */
  run_json_fetch_ms: number;
  run_page_keys: number;
  run_page_steps: number;
}

const KEYS = 500;
const STEPS = 2000;

/** A run of `keys` keys in sections (`train/`, `val/`, `layers/…`), `steps` steps each. */
async function makeRun(logdir: string, id: string, keys: number, steps: number): Promise<void> {
  const names = Array.from({ length: keys }, (_, k) =>
    k < 4 ? ['train/loss', 'train/acc', 'val/loss', 'val/acc'][k]! : `layers/${k}/grad_norm`,
  );
  const run = await init({
    logdir,
    id,
    resume: 'allow',
    project: 'bench',
    name: id,
    config: { keys, steps },
  });
  for (let s = 0; s < steps; s++) {
    const row: Record<string, number> = {};
    for (let k = 0; k < keys; k++)
      row[names[k]!] = Math.exp(-s / 400) * (1 + k / keys) + Math.sin(s / 7 + k) * 0.02;
    run.log(row, s);
  }
  await run.finish();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runPageBench(work: string, reps = 5): Promise<RunPageBenchResult> {
  // The browser first: a missing build or Chromium fails before the runs are made.
  const browser = await launchHeadlessChromium('run-page');
  const logdir = join(work, 'run-page-logdir');
  mkdirSync(logdir, { recursive: true });
  let watch: Awaited<ReturnType<typeof startWatch>> | undefined;
  try {
    await makeRun(logdir, 'wide', KEYS, STEPS);
    await makeRun(logdir, 'narrow', 10, STEPS);
    watch = await startWatch({ logdir, port: 0, host: '127.0.0.1', webRoot: WEB_ROOT, log: () => {} });
    const server = watch;
    /** One cold page load (a fresh context: no HTTP cache), ms from navigation start to drawn. */
    const firstScreen = async (id: string, keys: number): Promise<number> => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        const page = await context.newPage();
        await page.goto(`${server.url}/experiments/${id}`, { waitUntil: 'commit' });
        // Every chart whose top is inside the first viewport has drawn its points.
        // (A string: bench compiles without the DOM's types.)
        const handle = await page.waitForFunction(
          `(() => {
            // The page may still be adding charts further down: the first screen is every chart
            // whose top is in the viewport (in document order: stop at the first one below it).
            const charts = document.querySelectorAll('figure.chart');
            let seen = 0;
            for (const c of charts) {
              if (c.getBoundingClientRect().top >= innerHeight) break;
              if (!c.dataset.points || !c.querySelector('canvas')) return false;
              seen++;
            }
            // The charts are placed once the run's keys are known: a full first screen, or all.
            return (seen >= Math.min(${keys}, 4)) && performance.now();
          })()`,
          undefined,
          { polling: 'raf', timeout: 60_000 },
        );
        return (await handle.jsonValue()) as number;
      } finally {
        await context.close();
      }
    };
    // One load of each first: compiles nothing for later ones, but warms the run readers.
    await firstScreen('wide', KEYS);
    await firstScreen('narrow', 10);
    const wide: number[] = [];
    const narrow: number[] = [];
    const fetches: number[] = [];
    for (let i = 0; i < reps; i++) {
      wide.push(await firstScreen('wide', KEYS));
      narrow.push(await firstScreen('narrow', 10));
      const t0 = performance.now();
      const res = await fetch(`${server.url}/api/v1/experiments/wide`);
      const body = (await res.json()) as { keys: string[] };
      fetches.push(performance.now() - t0);
      if (body.keys.length !== KEYS) throw new Error(`run-page bench: the run has ${body.keys.length} keys`);
    }
    return {
      run_page_first_screen_ms: Number(median(wide).toFixed(1)),
      run_page_first_screen_10keys_ms: Number(median(narrow).toFixed(1)),
      run_json_fetch_ms: Number(median(fetches).toFixed(1)),
      run_page_keys: KEYS,
      run_page_steps: STEPS,
    };
  } finally {
    await browser.close();
    await watch?.close();
  }
}

// `node bench/dist/run-page-bench.js`: this row alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const work = mkdtempSync(join(tmpdir(), 'swanlog-run-page-bench-'));
  try {
    console.log(JSON.stringify(await runPageBench(work)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
