import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { RUN_FILE } from './format.js';

const RUN_DIR = /^run-\d{8}_\d{6}-([A-Za-z0-9_-]{1,64})$/;

/** `run-<YYYYMMDD_HHMMSS>-<id>` in local time. */
export function runDirName(id: string, date: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}_${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
  return `run-${stamp}-${id}`;
}

/** The run id a directory name carries, or undefined when the name is not a run directory's. */
export function runIdOfDirName(name: string): string | undefined {
  return RUN_DIR.exec(name)?.[1];
}

/**
 * Every run directory directly under `logdir`, sorted by name (so by creation time): entries
 * named like run directories and any other directory holding a run.sqlite.
 */
export function listRunDirs(logdir: string): string[] {
  const root = resolve(logdir);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') {
      throw new SwanlogError('NOT_FOUND', `${root} is a file, not a log directory`, {
        hint: 'pass the directory your runs log into (default ./swanlog, or SWANLOG_LOGDIR)',
        cause: error,
      });
    }
    throw error;
  }
  const dirs: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const path = join(root, name);
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (!isDir) continue;
    if (existsSync(join(path, RUN_FILE))) dirs.push(path);
    else if (RUN_DIR.test(name) && !isSwanlabRunDir(path)) dirs.push(path);
  }
  return dirs;
}

/**
 * SwanLab's folders under a log directory: SwanLab also logs into `./swanlog`, with
 * `run-<YYYYMMDD_HHMMSS>-<id>` folders, which are SwanLab runs (a `.swanlab` file and no
 * run.sqlite), never damaged swanlog runs.
 */
export function listSwanlabRunDirs(logdir: string): { dir: string; id: string }[] {
  const root = resolve(logdir);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
  const out: { dir: string; id: string }[] = [];
  for (const name of names.sort()) {
    const id = RUN_DIR.exec(name)?.[1];
    const path = join(root, name);
    if (id !== undefined && !existsSync(join(path, RUN_FILE)) && isSwanlabRunDir(path))
      out.push({ dir: path, id });
  }
  return out;
}

/** A SwanLab run folder: `run-<id>.swanlab` (SwanLab >= 0.8) or `backup.swanlab` (0.6-0.7). */
function isSwanlabRunDir(path: string): boolean {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw error;
  }
  return names.some((n) => n === 'backup.swanlab' || /^run-.+\.swanlab$/.test(n));
}

/** The run directory under `logdir` whose name carries `id`, or undefined. */
export function findRunDir(logdir: string, id: string): string | undefined {
  const matches = listRunDirs(logdir).filter(
    (dir) => runIdOfDirName(dir.slice(dir.lastIndexOf('/') + 1)) === id,
  );
  if (matches.length > 1) {
    throw new SwanlogError(
      'CONFLICT',
      `run id ${id} names ${matches.length} directories in ${resolve(logdir)}`,
      {
        hint: `keep one of: ${matches.join(', ')} (move the others to another logdir)`,
      },
    );
  }
  return matches[0];
}

/**
 * A run directory given either as a path (relative to `cwd`), a run directory's name, or a run
 * id under `logdir`.
 */
export function resolveRunDir(target: string, logdir: string, cwd: string = process.cwd()): string {
  const asPath = resolve(cwd, target);
  if (existsSync(asPath) && statSync(asPath).isDirectory()) return asPath;
  const id = runIdOfDirName(target) ?? (/^[A-Za-z0-9_-]{1,64}$/.test(target) ? target : undefined);
  const found = id === undefined ? undefined : findRunDir(resolve(cwd, logdir), id);
  if (found !== undefined) return found;
  throw new SwanlogError(
    'RUN_NOT_FOUND',
    `no run directory or run id "${target}" under ${resolve(cwd, logdir)}`,
    {
      hint: 'pass a run directory path, or the id with --logdir <dir>; `swanlog ls <logdir>` lists runs',
    },
  );
}
