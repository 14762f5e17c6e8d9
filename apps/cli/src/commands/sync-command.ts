import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  createClient,
  type RetryEvent,
  type SwanlogClient,
  type SyncProgress,
  type SyncResult,
  type SyncTarget,
  syncRunDir,
} from '@swanlog/client';
import type { findSources } from '@swanlog/import';
import { SwanlogError } from '@swanlog/protocol';
import { listRunDirs, listSwanlabRunDirs, RUN_FILE } from '@swanlog/store';
import { errorJson } from '../print.js';
import { withCliHint } from '../with-cli-hint.js';

export interface SyncCommandOptions {
  cwd: string;
  /** Run directories, log directories, and other trackers' runs (imported into `logdir` first). */
  paths: string[];
  /** Where other trackers' runs are imported to before they sync (default ./swanlog). */
  logdir?: string | undefined;
  host?: string | undefined;
  apiKey?: string | undefined;
  /** When given, the API key must belong to this workspace. */
  workspace?: string | undefined;
  project?: string | undefined;
  id?: string | undefined;
  new?: boolean | undefined;
  concurrency?: number | undefined;
  watch?: boolean | undefined;
  /** Points per ingest request (tests make it small). */
  batchPoints?: number | undefined;
  retryLimit?: number | undefined;
  /** How long one request keeps retrying, all attempts together, in seconds (default 30). */
  timeoutSeconds?: number | undefined;
  /** Each retry of a failed request (the CLI prints them, so a wait is never silent). */
  onRetry?: (event: RetryEvent) => void;
  /** Ends --watch (SIGINT/SIGTERM). */
  signal?: AbortSignal | undefined;
  onProgress?: (progress: SyncProgress) => void;
  /** Each result as it happens (--watch reports every upload, not only the last). */
  onResult?: (entry: SyncEntry) => void;
}

export type SyncSuccess = Pick<
  SyncResult,
  'dir' | 'runId' | 'experimentId' | 'action' | 'uploaded' | 'url' | 'complete' | 'warnings'
>;
export type SyncFailure = { dir: string; error: { code: string; message: string; hint?: string } };
export type SyncEntry = SyncSuccess | SyncFailure;

/** Codes that may pass on their own (the server restarting); --watch keeps trying through them. */
const TRANSIENT = new Set(['SERVER_UNREACHABLE', 'SERVER_ERROR', 'CONFLICT']);
const WATCH_INTERVAL_MS = 1000;

/**
 * `swanlog sync`: uploads every run directory named (or found under a log directory named) with
 * bounded concurrency; a bad directory is an error entry and the others still sync.
 */
export async function syncCommand(options: SyncCommandOptions): Promise<SyncEntry[]> {
  const target = targetOf(options);
  // Local checks first: a wrong directory is reported without waiting for a server.
  const { runDirs, logdirs, failures } = await expandPaths(options);
  await importForeignRuns(options, logdirs, runDirs, failures);
  const found = logdirs.map((logdir) => ({ logdir, dirs: listRunDirs(logdir) }));
  if (!options.watch) {
    // --watch waits for runs to appear; a plain sync of nothing is a mistake worth saying so.
    const empty = found.filter((f) => f.dirs.length === 0).map((f) => f.logdir);
    if (runDirs.length === 0 && failures.length === 0 && empty.length === found.length) throw noRuns(empty);
    for (const logdir of empty) failures.push({ dir: logdir, error: errorJson(noRuns([logdir])) });
  }
  if (target.kind === 'id' && runDirs.length + found.flatMap((f) => f.dirs).length > 1) {
    throw new SwanlogError('INVALID_OPTION', '--id uploads one run directory into one experiment', {
      hint: 'pass a single run directory with --id, or drop --id to give each run its own experiment',
    });
  }
  const client = await connect(options);
  for (const f of failures) options.onResult?.(f);
  if (options.watch) return [...failures, ...(await watchLoop(options, client, target, runDirs, logdirs))];
  // A run imported into a log directory named too is found there again: sync it once.
  const dirs = [...new Set([...runDirs, ...found.flatMap((f) => f.dirs)])];
  const entries = await mapPool(dirs, concurrencyOf(options), async (dir) => {
    const entry = await syncOne(options, client, target, dir);
    options.onResult?.(entry);
    return entry;
  });
  return [...failures, ...entries];
}

async function connect(options: SyncCommandOptions): Promise<SwanlogClient> {
  if (!options.host) {
    throw new SwanlogError('INVALID_OPTION', 'no server to sync to', {
      hint: 'pass --host <url> or set SWANLOG_HOST',
    });
  }
  if (!options.apiKey) {
    throw new SwanlogError('INVALID_OPTION', `no API key for ${options.host}`, {
      hint: 'pass --api-key <key> or set SWANLOG_API_KEY (create one with `swanlog server key create`)',
    });
  }
  if (options.id !== undefined && options.new) {
    throw new SwanlogError('INVALID_OPTION', '--id and --new exclude each other', {
      hint: '--id appends to an existing experiment, --new always makes a fresh one',
    });
  }
  const client = createClient({
    host: options.host,
    apiKey: options.apiKey,
    retryTimeMs: (options.timeoutSeconds ?? 30) * 1000,
    ...(options.retryLimit === undefined ? {} : { retryLimit: options.retryLimit }),
    ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
  });
  let info: Awaited<ReturnType<SwanlogClient['serverInfo']>>;
  try {
    info = await client.serverInfo();
  } catch (error) {
    throw withCliHint(error, client.host);
  }
  if (options.workspace !== undefined && info.workspace !== options.workspace) {
    throw new SwanlogError(
      'INVALID_OPTION',
      `the API key belongs to workspace ${info.workspace}, not ${options.workspace}`,
      { hint: `use a key of workspace ${options.workspace}, or drop --workspace` },
    );
  }
  return client;
}

function noRuns(logdirs: string[]): SwanlogError {
  return new SwanlogError('NO_RUNS', `no runs under ${logdirs.join(', ')}`, {
    hint: 'run directories are named run-<date>_<time>-<id>; pass the log directory your job wrote (default ./swanlog, or $SWANLOG_LOGDIR), or add --watch to wait for runs',
  });
}

function targetOf(options: SyncCommandOptions): SyncTarget {
  if (options.id !== undefined) return { kind: 'id', id: options.id };
  if (options.new) return { kind: 'new' };
  return { kind: 'auto' };
}

function concurrencyOf(options: SyncCommandOptions): number {
  const n = options.concurrency ?? 4;
  if (!Number.isInteger(n) || n < 1) {
    throw new SwanlogError('INVALID_OPTION', `--concurrency ${n} is not a whole number >= 1`);
  }
  return n;
}

/**
 * The importers (@swanlog/import: protobuf and YAML, ~0.1 s of every sync's start-up when loaded
 * eagerly), loaded only when a path is not a swanlog run or log directory of runs.
 */
const importer = () => import('@swanlog/import');

/** Splits the paths into run directories and log directories; a missing path is an error entry. */
async function expandPaths(options: SyncCommandOptions): Promise<{
  runDirs: string[];
  logdirs: string[];
  failures: SyncFailure[];
}> {
  const runDirs: string[] = [];
  const logdirs: string[] = [];
  const failures: SyncFailure[] = [];
  for (const p of options.paths) {
    const abs = resolve(options.cwd, p);
    if (existsSync(join(abs, RUN_FILE))) runDirs.push(abs);
    else if (existsSync(abs) && statSync(abs).isDirectory()) logdirs.push(abs);
    else if (
      existsSync(abs) &&
      (abs.endsWith('.wandb') || abs.endsWith('.swanlab') || (await importer()).isEventFile(basename(abs)))
    )
      logdirs.push(dirname(abs));
    else {
      const error = new SwanlogError('NOT_FOUND', `${abs} is neither a run directory nor a log directory`, {
        hint: 'pass a run directory (run-<date>-<id>) or the log directory holding runs',
      });
      failures.push({ dir: abs, error: errorJson(error) });
    }
  }
  return { runDirs, logdirs, failures };
}

/**
 * Directories that hold no swanlog run but other trackers' runs (TensorBoard event files, W&B
 * and SwanLab runs) are imported into the logdir first; their swanlog runs then sync like any
 * other. A log directory holding swanlog runs may hold SwanLab folders too (both log into
 * ./swanlog): those are imported (or brought up to date) and the directory syncs as a whole.
 */
async function importForeignRuns(
  options: SyncCommandOptions,
  logdirs: string[],
  runDirs: string[],
  failures: SyncFailure[],
): Promise<void> {
  const importInto = options.logdir ?? './swanlog';
  for (const dir of [...logdirs]) {
    if (listRunDirs(dir).length > 0) {
      if (listSwanlabRunDirs(dir).length === 0) continue;
      const { importSources } = await importer();
      const results = importSources({
        cwd: options.cwd,
        paths: [dir],
        logdir: importInto,
        kinds: ['swanlab'],
      });
      for (const r of results) {
        if (r.error !== undefined) failures.push({ dir: r.source, error: r.error });
        else if (r.dir !== null) runDirs.push(r.dir);
      }
      continue;
    }
    const { findSources, importSources } = await importer();
    let sources: ReturnType<typeof findSources>;
    try {
      sources = findSources(dir, options.cwd);
    } catch (error) {
      failures.push({ dir, error: errorJson(error) });
      continue;
    }
    if (sources.length === 0) continue;
    logdirs.splice(logdirs.indexOf(dir), 1);
    const results = importSources({ cwd: options.cwd, paths: [dir], logdir: importInto });
    for (const r of results) {
      if (r.error !== undefined) failures.push({ dir: r.source, error: r.error });
      else if (r.dir !== null) runDirs.push(r.dir);
    }
  }
}

async function syncOne(
  options: SyncCommandOptions,
  client: SwanlogClient,
  target: SyncTarget,
  dir: string,
): Promise<SyncEntry> {
  try {
    const r = await syncRunDir({
      dir,
      client,
      target,
      ...(options.project === undefined ? {} : { project: options.project }),
      ...(options.batchPoints === undefined ? {} : { batchPoints: options.batchPoints }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    return {
      dir: r.dir,
      runId: r.runId,
      experimentId: r.experimentId,
      action: r.action,
      uploaded: r.uploaded,
      url: r.url,
      complete: r.complete,
      warnings: r.warnings,
    };
  } catch (error) {
    // One bad directory is reported; the others still sync.
    return { dir, error: errorJson(error) };
  }
}

/**
 * --watch: syncs the run directories until each has ended and is complete; with log directories,
 * keeps syncing new and growing runs until the signal fires. Returns the last entry per directory.
 */
async function watchLoop(
  options: SyncCommandOptions,
  client: SwanlogClient,
  target: SyncTarget,
  runDirs: string[],
  logdirs: string[],
): Promise<SyncEntry[]> {
  const last = new Map<string, SyncEntry>();
  const done = new Set<string>();
  const changed = new Set<string>();
  // Loaded only here: a plain sync does not pay for the file watcher.
  const { watch: watchFiles } = await import('chokidar');
  const watchers = logdirs.map((logdir) =>
    watchFiles(logdir, { ignoreInitial: true, depth: 3 }).on('all', (_event, path) => {
      for (const d of done) if (path.startsWith(`${d}/`)) changed.add(d);
    }),
  );
  try {
    const concurrency = concurrencyOf(options);
    while (options.signal?.aborted !== true) {
      for (const d of changed) done.delete(d);
      changed.clear();
      const dirs = [...new Set([...runDirs, ...logdirs.flatMap((l) => listRunDirs(l))])].filter(
        (d) => !done.has(d),
      );
      await mapPool(dirs, concurrency, async (dir) => {
        const entry = await syncOne(options, client, target, dir);
        const before = last.get(dir);
        last.set(dir, entry);
        if ('error' in entry) {
          if (!TRANSIENT.has(entry.error.code)) done.add(dir);
          if (before === undefined || !('error' in before) || before.error.code !== entry.error.code)
            options.onResult?.(entry);
          return;
        }
        if (entry.complete) done.add(dir);
        if (
          before === undefined ||
          'error' in before ||
          entry.uploaded.points > 0 ||
          entry.action !== 'up-to-date'
        )
          options.onResult?.(entry);
      });
      if (logdirs.length === 0 && runDirs.every((d) => done.has(d))) break;
      await sleep(WATCH_INTERVAL_MS, options.signal);
    }
  } finally {
    await Promise.all(watchers.map((w) => w.close()));
  }
  return [...last.values()];
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolveSleep) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolveSleep();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `fn` over `items` with at most `limit` at once, keeping the order of the results. */
async function mapPool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
