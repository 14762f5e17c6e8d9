import { lstatSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import type { SwanlabRunFile } from './swanlab/import-swanlab.js';

/** One run of another tracker found on disk. */
export type Source = TensorboardSource | WandbSource | SwanlabSource;

/** A SwanLab run: every folder (`run-<time>-<id>`) of one run id, a resumed run's too. */
export interface SwanlabSource {
  kind: 'swanlab';
  root: string;
  /** The first folder of the run. */
  dir: string;
  /** SwanLab's run id. */
  id: string;
  /** The run's `.swanlab` files, absolute, in time order (one per folder: a session each). */
  files: string[];
  /** Each folder's run file and config file, in the same order. */
  runs: SwanlabRunFile[];
}

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
    if (abs.endsWith('.swanlab')) {
      const run = swanlabRunOf(dirname(abs));
      const id = run?.id ?? /^run-(.+)\.swanlab$/.exec(basename(abs))?.[1] ?? basename(dirname(abs));
      return [swanlabSource(abs, id, [{ file: abs, config: swanlabConfigOf(dirname(abs)) }])];
    }
    if (!isEventFile(basename(abs))) {
      throw new SwanlogError('SOURCE_CORRUPT', `${abs} is not a file swanlog imports`, {
        hint: 'pass a TensorBoard event file (events.out.tfevents.*), a W&B run file (run-<id>.wandb), a SwanLab run file (*.swanlab) or a directory to search',
      });
    }
    const dir = dirname(abs);
    return [{ kind: 'tensorboard', root: abs, dir, id: basename(dir), files: eventFilesOf(dir) }];
  }
  const out: Source[] = [];
  const found: Found = { wandb: new Map(), swanlab: new Map() };
  const own = wandbRunOf(abs);
  const ownSwanlab = own === undefined ? swanlabRunOf(abs) : undefined;
  if (own !== undefined) found.wandb.set(own.id, [own.file]);
  else if (ownSwanlab !== undefined) found.swanlab.set(ownSwanlab.id, [ownSwanlab.run]);
  else walk(abs, abs, out, found);
  for (const [id, files] of found.wandb) {
    files.sort((a, b) => compareByTime(dirname(a), dirname(b)));
    out.push({ kind: 'wandb', root: abs, dir: dirname(files[0]!), id, files });
  }
  for (const [id, runs] of found.swanlab) {
    runs.sort((a, b) => compareByTime(dirname(a.file), dirname(b.file)));
    out.push(swanlabSource(abs, id, runs));
  }
  return out;
}

interface Found {
  wandb: Map<string, string[]>;
  swanlab: Map<string, SwanlabRunFile[]>;
}

function swanlabSource(root: string, id: string, runs: SwanlabRunFile[]): SwanlabSource {
  return { kind: 'swanlab', root, dir: dirname(runs[0]!.file), id, files: runs.map((r) => r.file), runs };
}

/** `run-20250101_120000-abc123`: SwanLab's folder name (also swanlog's, told apart by their files). */
const SWANLAB_DIR = /^run-(\d{8}_\d{6})-([A-Za-z0-9_-]+)$/;

/**
 * The SwanLab run a folder is, when it is one: `run-<id>.swanlab` (SwanLab >= 0.8) or
 * `backup.swanlab` (0.6-0.7), and no run.sqlite (a swanlog run of the same name).
 */
function swanlabRunOf(dir: string): { id: string; run: SwanlabRunFile } | undefined {
  const m = SWANLAB_DIR.exec(basename(dir));
  if (m === null || isSwanlogRun(dir)) return undefined;
  for (const name of [`run-${m[2]}.swanlab`, 'backup.swanlab']) {
    const file = join(dir, name);
    try {
      if (lstatSync(file).isFile()) return { id: m[2]!, run: { file, config: swanlabConfigOf(dir) } };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return undefined;
}

function swanlabConfigOf(dir: string): string {
  return join(dir, 'files', 'config.yaml');
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

function walk(root: string, dir: string, out: Source[], found: Found): void {
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
      found.wandb.set(run.id, [...(found.wandb.get(run.id) ?? []), run.file]);
      continue;
    }
    const swanlab = swanlabRunOf(sub);
    if (swanlab !== undefined) {
      found.swanlab.set(swanlab.id, [...(found.swanlab.get(swanlab.id) ?? []), swanlab.run]);
      continue;
    }
    walk(root, sub, out, found);
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
