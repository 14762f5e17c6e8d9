import { basename, dirname } from 'node:path';
import { ImportedSession, readImportProgress, recordStepOffsets } from '@swanlog/store';
import { addConfigRevisions } from '../add-config-revisions.js';
import { readFrom } from '../read-from.js';
import type { ImportCounts } from '../tensorboard/import-tensorboard.js';
import {
  INITIAL_WANDB_STATE,
  readWandbFile,
  type WandbReaderState,
  type WandbRunInfo,
} from './read-wandb-file.js';

export interface WandbImportCounts extends ImportCounts {
  /** Offsets given to directories whose steps restarted (W&B offline ignores resume), by directory. */
  stepOffsets: Record<string, number>;
}

/** How a `.wandb` file is named in the import progress: its directory and file name, so a moved folder matches. */
export function wandbFileKey(file: string): string {
  return `${basename(dirname(file))}/${basename(file)}`;
}

/** The run record of the first file (project, name, config), to create the swanlog run with. */
export function readWandbRunInfo(file: string): WandbRunInfo | null {
  const bytes = readFrom(file, 0);
  const chunk = readWandbFile({
    bytes,
    base: 0,
    offset: 0,
    state: INITIAL_WANDB_STATE,
    file,
    firstStepOffset: () => 0,
  });
  return chunk.run;
}

/**
 * Imports the `.wandb` files of one W&B run (one per directory, in time order) into `runDir`, each
 * file a writer session. A directory whose steps restart at or below the previous directory's last
 * step (an offline run continued in a new process) has its steps offset to continue after it.
 */
export function importWandb(runDir: string, files: string[]): WandbImportCounts {
  const progress = new Map(readImportProgress(runDir).map((p) => [p.file, p]));
  const counts: WandbImportCounts = { points: 0, rewinds: 0, sessions: 0, skipped: {}, stepOffsets: {} };
  let previousLast: number | null = null;
  let index = 0;
  for (const file of files) {
    const key = wandbFileKey(file);
    const done = progress.get(key);
    const offset = done?.offset ?? 0;
    const start: WandbReaderState =
      done === undefined ? INITIAL_WANDB_STATE : (JSON.parse(done.state) as WandbReaderState);
    const before = previousLast;
    const chunk = readWandbFile({
      bytes: readFrom(file, offset),
      base: offset,
      offset,
      state: start,
      file,
      firstStepOffset: (first) => (before !== null && first <= before ? before + 1 - first : 0),
    });
    for (const [what, n] of Object.entries(chunk.skipped))
      counts.skipped[what] = (counts.skipped[what] ?? 0) + n;
    if (chunk.error !== undefined) counts.error ??= chunk.error;
    if (chunk.state.stepOffset !== null && chunk.state.stepOffset > 0) {
      counts.stepOffsets[basename(dirname(file))] = chunk.state.stepOffset;
    }
    previousLast = chunk.state.lastStep ?? previousLast;
    if (chunk.end === offset) {
      if (done !== undefined) index++;
      continue;
    }
    // A later directory's run record (a resumed run given a new config) and `wandb.config.update`
    // calls change the config: each change is a config revision, recorded before the points.
    const updates = [
      ...(index > 0 && done === undefined && chunk.run !== null ? [chunk.run.config] : []),
      ...chunk.configUpdates,
    ];
    const first = chunk.records[0]?.time;
    const session =
      done === undefined
        ? ImportedSession.begin(runDir, {
            firstTime:
              first !== undefined && Number.isFinite(first) ? first : (chunk.run?.startTime ?? Date.now()),
            resumed: index > 0,
          })
        : ImportedSession.reopen(runDir, done.source);
    if (done === undefined) counts.sessions++;
    index++;
    try {
      addConfigRevisions(runDir, session, updates);
      const written = session.write({
        records: chunk.records,
        progress: [{ file: key, offset: chunk.end, state: JSON.stringify(chunk.state) }],
        // No exit record (yet): the process ended without one, or still runs (the next import sees it).
        endState:
          chunk.state.exitCode === null ? 'crashed' : chunk.state.exitCode === 0 ? 'finished' : 'crashed',
      });
      counts.points += written.points;
    } finally {
      session.close();
    }
  }
  if (Object.keys(counts.stepOffsets).length > 0) recordStepOffsets(runDir, counts.stepOffsets);
  return counts;
}
