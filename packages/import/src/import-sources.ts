import { resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { type JsonObject, RunReader } from '@swanlog/store';
import { findSources, type Source } from './find-sources.js';
import { locateRun } from './locate-run.js';
import { importSwanlab, readSwanlabRunInfo } from './swanlab/import-swanlab.js';
import { type ImportCounts, importTensorboard } from './tensorboard/import-tensorboard.js';
import { importWandb, readWandbRunInfo } from './wandb/import-wandb.js';

export interface ImportOptions {
  cwd: string;
  /** Files or directories to search for runs of other trackers. */
  paths: string[];
  /** Where the swanlog runs go. */
  logdir: string;
  /** Only sources of these kinds (default: every kind). */
  kinds?: Source['kind'][];
  /** Called after each source, for a progress bar. */
  onSource?: (done: number, total: number, result: ImportResult) => void;
}

export type ImportAction = 'created' | 'appended' | 'up-to-date';

/** What `swanlog import --json` prints for one source. */
export interface ImportResult {
  /** The source's directory (or the path given, when nothing could be found there). */
  source: string;
  kind: Source['kind'] | null;
  /** The swanlog run id (null when the source failed before a run was made). */
  id: string | null;
  /** The source's own run id. */
  sourceId: string | null;
  /** True when the run id is derived from the source id (invalid as a run id, or taken). */
  derivedId: boolean;
  dir: string | null;
  action: ImportAction | null;
  /** Points added by this import. */
  points: number;
  /** Points this import made superseded (steps written again, rewinds). */
  superseded: number;
  /** Sessions (writer restarts) this import added. */
  sessions: number;
  /** What was not imported, by kind: damaged records, histograms, images, ... */
  skipped: Record<string, number>;
  /** W&B: offsets added to the steps of directories whose steps restarted, by directory. */
  stepOffsets?: Record<string, number>;
  error?: { code: string; message: string; hint?: string };
}

/**
 * Imports every run found under `paths` into `logdir`. A source that fails is reported in its
 * result and never stops the others; importing a source again adds only what it gained since.
 */
export function importSources(options: ImportOptions): ImportResult[] {
  const logdir = resolve(options.cwd, options.logdir);
  const found: (Source | ImportResult)[] = [];
  for (const path of options.paths) {
    try {
      found.push(
        ...findSources(path, options.cwd).filter(
          (s) => options.kinds === undefined || options.kinds.includes(s.kind),
        ),
      );
    } catch (error) {
      found.push({ ...emptyResult(resolve(options.cwd, path)), error: errorOf(error) });
    }
  }
  const results: ImportResult[] = [];
  for (const item of found) {
    const result = 'files' in item ? importSource(item, logdir) : item;
    results.push(result);
    options.onSource?.(results.length, found.length, result);
  }
  return results;
}

function importSource(found: Source, logdir: string): ImportResult {
  let source = found;
  const result: ImportResult = { ...emptyResult(source.dir), kind: source.kind, sourceId: source.id };
  try {
    const info = runInfoOf(source);
    // A W&B file given by a name of its own: the run's id is the one its run record holds.
    if (
      source.kind === 'wandb' &&
      info !== null &&
      info.id !== null &&
      info.id !== '' &&
      info.id !== source.id
    ) {
      source = { ...source, id: info.id };
      result.sourceId = info.id;
    }
    const run = locateRun(
      logdir,
      { kind: source.kind, path: source.kind === 'tensorboard' ? source.dir : source.root, id: source.id },
      {
        project: info?.project ?? '',
        name: info?.name ?? source.id,
        config: info?.config ?? {},
        ...(info?.startTime == null ? {} : { configTs: Math.round(info.startTime) }),
      },
    );
    Object.assign(result, { id: run.id, dir: run.dir, derivedId: run.derivedId });
    const before = supersededIn(run.dir);
    let counts: ImportCounts;
    if (source.kind === 'wandb') {
      const w = importWandb(run.dir, source.files);
      if (Object.keys(w.stepOffsets).length > 0) result.stepOffsets = w.stepOffsets;
      counts = w;
    } else if (source.kind === 'swanlab') {
      counts = importSwanlab(run.dir, source.runs);
    } else {
      counts = importTensorboard(run.dir, source.dir, source.files);
    }
    result.points = counts.points;
    result.sessions = counts.sessions;
    result.skipped = counts.skipped;
    result.superseded = supersededIn(run.dir) - before;
    const added = counts.points + counts.rewinds + counts.sessions > 0;
    result.action = run.created ? 'created' : added ? 'appended' : 'up-to-date';
    if (counts.error !== undefined) result.error = errorOf(counts.error);
  } catch (error) {
    result.error = errorOf(error);
  }
  return result;
}

/** What the source's own files say of the run (project, name, config, start), before importing it. */
function runInfoOf(source: Source): {
  id: string | null;
  project: string | null;
  name: string | null;
  config: JsonObject;
  startTime: number | null;
} | null {
  if (source.kind === 'wandb') return readWandbRunInfo(source.files[0]!);
  if (source.kind === 'swanlab') return readSwanlabRunInfo(source.runs[0]!);
  return null;
}

function emptyResult(source: string): ImportResult {
  return {
    source,
    kind: null,
    id: null,
    sourceId: null,
    derivedId: false,
    dir: null,
    action: null,
    points: 0,
    superseded: 0,
    sessions: 0,
    skipped: {},
  };
}

function supersededIn(dir: string): number {
  const reader = RunReader.open(dir);
  try {
    let n = 0;
    for (const key of reader.keys()) {
      const flags = reader.series(key, { superseded: true }).superseded;
      if (flags !== undefined) for (const f of flags) n += f;
    }
    return n;
  } finally {
    reader.close();
  }
}

function errorOf(error: unknown): { code: string; message: string; hint?: string } {
  if (error instanceof SwanlogError) return error.toJSON();
  // A file the system will not let us read (permissions, a directory vanishing mid-walk).
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno.code === 'string' && typeof errno.path === 'string') {
    return {
      code: 'SOURCE_CORRUPT',
      message: `${errno.path}: ${errno.message}`,
      hint: 'check that the file is readable',
    };
  }
  throw error;
}
