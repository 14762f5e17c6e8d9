import { resolve } from 'node:path';
import type { RetryEvent, SyncProgress } from '@swanlog/client';
import { SwanlogError } from '@swanlog/protocol';
import type { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { errorJson, formatClean, formatSyncEntry, printError, printJson } from '../print.js';
import type { SyncEntry } from './sync-command.js';

/** Declares `swanlog sync` and `swanlog clean` on the program. */
export function registerSyncCommands(program: Command): void {
  const cwd = process.cwd();
  program
    .command('sync')
    .description(
      'upload run directories (or every run of a log directory) to a swanlog server, incrementally',
    )
    .argument(
      '<paths...>',
      'run directories, log directories, or TensorBoard / W&B directories (imported into --logdir first)',
    )
    .addOption(new Option('--host <url>', 'server URL').env('SWANLOG_HOST'))
    .addOption(new Option('--api-key <key>', 'API key with write scope').env('SWANLOG_API_KEY'))
    .option('--workspace <ws>', 'check that the key belongs to this workspace')
    .option(
      '--logdir <dir>',
      "where other trackers' runs are imported before they sync (default: $SWANLOG_LOGDIR or ./swanlog)",
    )
    .option('--project <name>', "project of experiments created by this sync (default: the run's)")
    .option('--id <exp_id>', 'upload into this existing experiment')
    .option('--new', 'always upload into a fresh experiment (a copy)')
    .option('--watch', 'keep syncing: a run until it ends, a log directory until SIGINT/SIGTERM')
    .option('--concurrency <n>', 'directories synced at once', '4')
    .option(
      '--timeout <seconds>',
      'how long one request keeps retrying an unreachable or failing server, all attempts together',
      '30',
    )
    .option(
      '--json',
      'print only a JSON array on stdout, one element per directory (uploaded: {points, superseded})',
    )
    .addHelpText(
      'after',
      `
Each line says what this sync uploaded: "N points (M superseded)" counts every point the server
stored, M of them not in the run's visible series (the parenthesis is left out when M is 0).
Retries of an unreachable or failing server are printed on stderr. A log directory without runs
is an error (NO_RUNS) unless --watch waits for runs to appear.`,
    )
    .action(async (paths: string[], opts: SyncCliOptions) => {
      const entries = await runSync(cwd, paths, opts);
      if (opts.json) printJson(entries);
      if (entries.some((e) => 'error' in e)) process.exitCode = 1;
    });

  program
    .command('clean')
    .description('remove run directories that are finished and completely uploaded (dry run without --yes)')
    .argument('[logdir]', 'log directory (default: $SWANLOG_LOGDIR or ./swanlog)')
    .option('--older-than <duration>', 'only runs that ended longer ago, e.g. 7d, 12h')
    .option('--yes', 'remove them (default: only list)')
    .option('--json', 'print the result as JSON on stdout')
    .action(
      async (logdir: string | undefined, opts: { olderThan?: string; yes?: boolean; json?: boolean }) => {
        const { clean } = await import('./clean.js');
        const result = clean({
          cwd,
          logdir,
          defaultLogdir: process.env.SWANLOG_LOGDIR || './swanlog',
          olderThan: opts.olderThan,
          yes: opts.yes,
        });
        if (opts.json) printJson(result);
        else process.stdout.write(formatClean(result));
      },
    );

  program
    .command('rm')
    .description(
      'remove run directories: never one still being written; one not completely uploaded only with --force',
    )
    .argument('<runs...>', 'run directories, their names or run ids')
    .option('--logdir <dir>', 'where run ids are looked up (default: $SWANLOG_LOGDIR or ./swanlog)')
    .option('--force', 'also remove runs that are not completely uploaded (their points are lost)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (targets: string[], opts: { logdir?: string; force?: boolean; json?: boolean }) => {
      const { rm } = await import('./clean.js');
      const result = rm({
        cwd,
        targets,
        logdir: opts.logdir ?? (process.env.SWANLOG_LOGDIR || './swanlog'),
        force: opts.force,
      });
      if (opts.json) printJson(result);
      for (const r of result.runs) {
        if ('error' in r) {
          process.stderr.write(`error[${r.error.code}]: ${r.error.message}\n`);
          process.stderr.write(
            `hint: ${r.error.hint ?? 'pass a run directory, its name or its run id (see `swanlog ls`)'}\n`,
          );
        } else if (!opts.json) {
          process.stdout.write(r.removed ? `removed ${r.dir}\n` : `kept ${r.dir}: ${r.keptBecause}\n`);
        }
      }
      if (result.runs.some((r) => 'error' in r || !r.removed)) process.exitCode = 1;
    });
}

interface SyncCliOptions {
  host?: string;
  apiKey?: string;
  workspace?: string;
  logdir?: string;
  project?: string;
  id?: string;
  new?: boolean;
  watch?: boolean;
  concurrency: string;
  timeout: string;
  json?: boolean;
}

async function runSync(cwd: string, paths: string[], opts: SyncCliOptions): Promise<SyncEntry[]> {
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new SwanlogError('INVALID_OPTION', `--concurrency ${opts.concurrency} is not a whole number >= 1`);
  }
  const timeoutSeconds = Number(opts.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new SwanlogError('INVALID_OPTION', `--timeout ${opts.timeout} is not a number of seconds > 0`, {
      hint: 'e.g. --timeout 120 to wait up to two minutes for a server that restarts',
    });
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (opts.watch) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const bars = await progressBars();
  try {
    const { syncCommand } = await import('./sync-command.js');
    return await syncCommand({
      cwd,
      paths,
      host: opts.host,
      apiKey: opts.apiKey,
      workspace: opts.workspace,
      logdir: opts.logdir ?? (process.env.SWANLOG_LOGDIR || './swanlog'),
      project: opts.project,
      id: opts.id,
      new: opts.new,
      watch: opts.watch,
      concurrency,
      batchPoints: envInt('SWANLOG_SYNC_BATCH_POINTS'),
      retryLimit: envInt('SWANLOG_SYNC_RETRY_LIMIT'),
      timeoutSeconds,
      // Every retry is said on stderr: a server that is down is never a silent wait.
      onRetry: (e) => {
        const line = formatRetry(e);
        if (bars === undefined) process.stderr.write(line);
        else bars.log(line);
      },
      signal: stop.signal,
      ...(bars === undefined ? {} : { onProgress: bars.update }),
      onResult: (entry) => {
        bars?.done(entry.dir);
        if ('warnings' in entry) for (const w of entry.warnings) process.stderr.write(`warning: ${w}\n`);
        if (opts.json) return;
        if ('error' in entry) process.stderr.write(formatSyncEntry(entry));
        else process.stdout.write(formatSyncEntry(entry));
      },
    });
  } catch (error) {
    // --json keeps its promise of a JSON array on stdout; the error itself goes to stderr.
    if (opts.json) {
      printError(error);
      return paths.map((p) => ({ dir: resolve(cwd, p), error: errorJson(error) }));
    }
    throw error;
  } finally {
    bars?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new SwanlogError('INVALID_OPTION', `${name}=${JSON.stringify(raw)} is not a whole number >= 0`);
  }
  return n;
}

/** `server http://h:1 unreachable (ECONNREFUSED), retry 3 in 2.0 s`. */
function formatRetry(e: RetryEvent): string {
  return `server ${e.host} ${e.reason}, retry ${e.retry} in ${(e.delayMs / 1000).toFixed(1)} s\n`;
}

/** Progress bars on stderr, only when it is a terminal. */
async function progressBars(): Promise<
  | {
      update: (p: SyncProgress) => void;
      done: (dir: string) => void;
      log: (line: string) => void;
      stop: () => void;
    }
  | undefined
> {
  if (!process.stderr.isTTY) return undefined;
  const { default: cliProgress } = await import('cli-progress');
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: false,
      format: '{bar} {percentage}% | {value}/{total} points | {name}',
      barCompleteChar: '#',
      barIncompleteChar: '-',
    },
    cliProgress.Presets.legacy,
  );
  const bars = new Map<string, SingleBar>();
  return {
    update: (p) => {
      const name = p.dir.slice(p.dir.lastIndexOf('/') + 1);
      let bar = bars.get(p.dir);
      if (bar === undefined) {
        bar = multi.create(p.totalPoints, p.uploadedPoints, { name });
        bars.set(p.dir, bar);
        // Drawn at once, not a frame (100 ms) later: a sync shorter than that showed no bar at all.
        multi.update();
      }
      bar.setTotal(p.totalPoints);
      bar.update(p.uploadedPoints, { name });
    },
    done: (dir) => {
      const bar = bars.get(dir);
      if (bar === undefined) return;
      multi.remove(bar);
      bars.delete(dir);
    },
    // Above the bars, which are drawn again below it.
    log: (line) => multi.log(line),
    stop: () => multi.stop(),
  };
}
