import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { ImportResult } from '@swanlog/import';
import { RUN_FILE, WRITERS_DIR } from '@swanlog/store';
import { type Command, Option } from 'commander';
import { formatImportResult, printJson } from '../print.js';

export interface ImportCommandOptions {
  cwd: string;
  paths: string[];
  logdir: string;
  /** Keep importing what the sources gain until the signal fires. */
  watch?: boolean;
  signal?: AbortSignal;
  onSource?: (done: number, total: number, result: ImportResult) => void;
  /** --watch: each later pass's results that added something. */
  onUpdate?: (result: ImportResult) => void;
}

/** How long --watch waits for a burst of writes to settle before importing again. */
const WATCH_SETTLE_MS = 300;

/**
 * `swanlog import`: every run of another tracker under `paths` becomes (or grows) a swanlog run
 * under `logdir`. With `watch`, follows the sources (chokidar) until the signal fires.
 */
export async function importCommand(options: ImportCommandOptions): Promise<ImportResult[]> {
  const { importSources } = await import('@swanlog/import');
  const run = (onSource?: ImportCommandOptions['onSource']) =>
    importSources({ cwd: options.cwd, paths: options.paths, logdir: options.logdir, onSource });
  if (options.watch !== true) return run(options.onSource);
  const { watch } = await import('chokidar');
  const { resolve } = await import('node:path');
  let pending: NodeJS.Timeout | undefined;
  let changed = false;
  let wake: () => void = () => {};
  const watcher = watch(
    options.paths.map((p) => resolve(options.cwd, p)),
    // swanlog's own runs may sit beside the sources (SwanLab and swanlog share ./swanlog): the
    // writes of an import are not a change to import again.
    { ignoreInitial: true, ignored: isSwanlogOwnFile },
  ).on('all', () => {
    changed = true;
    clearTimeout(pending);
    pending = setTimeout(() => wake(), WATCH_SETTLE_MS);
  });
  // Watching before the first pass: what a job writes meanwhile is seen by the next one.
  await new Promise<void>((ready) => watcher.once('ready', () => ready()));
  let results = run(options.onSource);
  const stopped = () => options.signal?.aborted === true;
  try {
    while (!stopped()) {
      if (!changed) {
        await new Promise<void>((done) => {
          wake = done;
          options.signal?.addEventListener('abort', () => done(), { once: true });
        });
      }
      if (stopped()) break;
      changed = false;
      const next = run();
      for (const r of next) if (r.action !== 'up-to-date' || r.error !== undefined) options.onUpdate?.(r);
      results = mergeResults(results, next);
    }
  } finally {
    clearTimeout(pending);
    await watcher.close();
  }
  return results;
}

/** A file of a swanlog run directory (run.sqlite*, writers/), or the claims and temp dirs of a logdir. */
function isSwanlogOwnFile(path: string): boolean {
  const parts = path.split(sep);
  const name = parts.at(-1) ?? '';
  if (name === RUN_FILE || name.startsWith(`${RUN_FILE}-`) || name.startsWith('.tmp-')) return true;
  if (parts.includes('.swanlog')) return true;
  const writers = parts.lastIndexOf(WRITERS_DIR);
  return writers > 0 && existsSync(join(parts.slice(0, writers).join(sep), RUN_FILE));
}

/** Totals per source over the passes of --watch. */
function mergeResults(before: ImportResult[], next: ImportResult[]): ImportResult[] {
  const byDir = new Map(before.map((r) => [r.source, r]));
  for (const r of next) {
    const old = byDir.get(r.source);
    if (old === undefined) {
      byDir.set(r.source, r);
      continue;
    }
    const skipped = { ...old.skipped };
    for (const [k, n] of Object.entries(r.skipped)) skipped[k] = (skipped[k] ?? 0) + n;
    byDir.set(r.source, {
      ...r,
      action: old.action === 'created' ? 'created' : r.action === 'up-to-date' ? old.action : r.action,
      points: old.points + r.points,
      superseded: old.superseded + r.superseded,
      sessions: old.sessions + r.sessions,
      skipped,
    });
  }
  return [...byDir.values()];
}

/** Declares `swanlog import` on the program. */
export function registerImportCommand(program: Command, defaultLogdir: () => string): void {
  const cwd = process.cwd();
  program
    .command('import')
    .description(
      'import TensorBoard event files, W&B offline runs and SwanLab run folders as swanlog runs, incrementally (again: only what is new)',
    )
    .argument(
      '<paths...>',
      'event files, .wandb or .swanlab files, or directories to search for runs (e.g. runs/, ./wandb, ./swanlog)',
    )
    .addOption(new Option('--logdir <dir>', 'where the runs go (default: $SWANLOG_LOGDIR or ./swanlog)'))
    .option('--watch', 'keep importing what the sources gain until SIGINT/SIGTERM')
    .option('--json', 'print only a JSON array on stdout, one element per source')
    .action(async (paths: string[], opts: { logdir?: string; watch?: boolean; json?: boolean }) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      if (opts.watch) {
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      }
      const bar = await progressBar();
      try {
        const results = await importCommand({
          cwd,
          paths,
          logdir: opts.logdir ?? defaultLogdir(),
          watch: opts.watch,
          signal: stop.signal,
          onSource: (done, total, result) => {
            // The line goes above the bar: clear the bar's row first, then redraw it below.
            bar?.clear();
            if (!opts.json) printResult(result);
            bar?.update(done, total);
          },
          onUpdate: (result) => {
            if (!opts.json) printResult(result);
          },
        });
        bar?.stop();
        if (opts.json) printJson(results);
        if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
      } finally {
        bar?.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

function printResult(result: ImportResult): void {
  if (result.error === undefined) process.stdout.write(formatImportResult(result));
  else process.stderr.write(formatImportResult(result));
}

/** One bar over the sources, on stderr, only when it is a terminal. */
async function progressBar(): Promise<
  { update: (done: number, total: number) => void; clear: () => void; stop: () => void } | undefined
> {
  if (!process.stderr.isTTY) return undefined;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: false,
      format: '{bar} {value}/{total} sources',
      barCompleteChar: '#',
      barIncompleteChar: '-',
    },
    cliProgress.Presets.legacy,
  );
  let started = false;
  let stopped = false;
  return {
    update: (done, total) => {
      if (!started) bar.start(total, done);
      else bar.update(done);
      started = true;
      bar.render();
    },
    clear: () => {
      if (started && !stopped) process.stderr.write('\r\x1b[2K');
    },
    stop: () => {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}
