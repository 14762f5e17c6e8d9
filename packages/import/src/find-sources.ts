import { lstatSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';

/** One run of another tracker found on disk. */
export interface Source {
  kind: 'tensorboard';
  /** The path the user gave that led here. */
  root: string;
  /** The directory of the run. */
  dir: string;
  /** The source's own id: for TensorBoard, the run directory's path relative to the import root. */
  id: string;
  /** The run's files in reading order (file-name order), relative to `dir`. */
  files: string[];
}

/** TensorBoard's own test for an event file (`io_wrapper.IsSummaryEventsFile`). */
export function isEventFile(name: string): boolean {
  return name.includes('tfevents');
}

/**
 * Every run of every kind under `path` (a file or a directory). TensorBoard: each directory that
 * holds event files is one run. Symlinked directories are not followed, so a link such as
 * `latest-run` is not a second copy of a run; swanlog's own run directories are not searched.
 */
export function findSources(path: string, cwd: string): Source[] {
  const abs = resolve(cwd, path);
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(abs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new SwanlogError('NOT_FOUND', `${abs} does not exist`, {
      hint: 'pass a TensorBoard log directory or event file',
      cause: error,
    });
  }
  if (!stat.isDirectory()) {
    if (!isEventFile(basename(abs))) {
      throw new SwanlogError('SOURCE_CORRUPT', `${abs} is not a file swanlog imports`, {
        hint: 'pass a TensorBoard event file (events.out.tfevents.*) or a directory to search',
      });
    }
    const dir = dirname(abs);
    return [{ kind: 'tensorboard', root: abs, dir, id: basename(dir), files: eventFilesOf(dir) }];
  }
  const out: Source[] = [];
  walk(abs, abs, out);
  return out;
}

function walk(root: string, dir: string, out: Source[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  const events = entries.filter((e) => e.isFile() && isEventFile(e.name)).map((e) => e.name);
  if (events.length > 0) {
    out.push({ kind: 'tensorboard', root, dir, id: relative(root, dir) || basename(dir), files: events });
  }
  for (const e of entries) {
    if (!e.isDirectory() || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const sub = join(dir, e.name);
    if (isSwanlogRun(sub)) continue;
    walk(root, sub, out);
  }
}

function eventFilesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && isEventFile(e.name))
    .map((e) => e.name)
    .sort();
}

function isSwanlogRun(dir: string): boolean {
  try {
    return lstatSync(join(dir, 'run.sqlite')).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
