import { lstatSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';

/** One run of another tracker found on disk. */
export type Source = TensorboardSource | WandbSource;

/** A W&B run: every directory (`offline-run-<time>-<id>`, `run-<time>-<id>`) of one run id. */
export interface WandbSource {
  kind: 'wandb';
  root: string;
  /** The first directory of the run. */
  dir: string;
  /** W&B's run id. */
  id: string;
  /** The run's `.wandb` files, absolute, in time order (one per directory: a session each). */
  files: string[];
}

export interface TensorboardSource {
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
      hint: 'pass a TensorBoard log directory or event file, or a W&B directory (./wandb)',
      cause: error,
    });
  }
  if (!stat.isDirectory()) {
    // A file given by name may be called anything (`run-<id>.wandb` in W&B's own directories).
    const wandbFile = /^(?:run-)?(.+)\.wandb$/.exec(basename(abs));
    if (wandbFile !== null)
      return [{ kind: 'wandb', root: abs, dir: dirname(abs), id: wandbFile[1]!, files: [abs] }];
    if (!isEventFile(basename(abs))) {
      throw new SwanlogError('SOURCE_CORRUPT', `${abs} is not a file swanlog imports`, {
        hint: 'pass a TensorBoard event file (events.out.tfevents.*), a W&B run file (run-<id>.wandb) or a directory to search',
      });
    }
    const dir = dirname(abs);
    return [{ kind: 'tensorboard', root: abs, dir, id: basename(dir), files: eventFilesOf(dir) }];
  }
  const out: Source[] = [];
  const wandb = new Map<string, string[]>();
  const own = wandbRunOf(abs);
  if (own !== undefined) wandb.set(own.id, [own.file]);
  else walk(abs, abs, out, wandb);
  for (const [id, files] of wandb) {
    files.sort((a, b) => compareByTime(dirname(a), dirname(b)));
    out.push({ kind: 'wandb', root: abs, dir: dirname(files[0]!), id, files });
  }
  return out;
}

/** `offline-run-20210216_154407-g9dvvkua` (offline) or `run-…` (online). */
const WANDB_DIR = /^(?:offline-)?run-(\d{8}_\d{6})-([A-Za-z0-9_-]+)$/;

/** The W&B run a directory is, when it is one (its name and its `run-<id>.wandb`). */
function wandbRunOf(dir: string): { id: string; file: string } | undefined {
  const m = WANDB_DIR.exec(basename(dir));
  if (m === null) return undefined;
  const file = join(dir, `run-${m[2]}.wandb`);
  try {
    return lstatSync(file).isFile() ? { id: m[2]!, file } : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function compareByTime(a: string, b: string): number {
  const ta = WANDB_DIR.exec(basename(a))?.[1] ?? '';
  const tb = WANDB_DIR.exec(basename(b))?.[1] ?? '';
  return ta < tb ? -1 : ta > tb ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

function walk(root: string, dir: string, out: Source[], wandb: Map<string, string[]>): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  const events = entries.filter((e) => e.isFile() && isEventFile(e.name)).map((e) => e.name);
  if (events.length > 0) {
    out.push({ kind: 'tensorboard', root, dir, id: relative(root, dir) || basename(dir), files: events });
  }
  for (const e of entries) {
    if (!e.isDirectory() || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const sub = join(dir, e.name);
    if (isSwanlogRun(sub)) continue;
    const run = wandbRunOf(sub);
    if (run !== undefined) {
      // A W&B directory's files/ may hold copies of TensorBoard logs (sync_tensorboard): not searched.
      wandb.set(run.id, [...(wandb.get(run.id) ?? []), run.file]);
      continue;
    }
    walk(root, sub, out, wandb);
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
