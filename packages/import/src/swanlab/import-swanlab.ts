import { basename, dirname } from 'node:path';
import { ImportedSession, type JsonObject, readImportProgress } from '@swanlog/store';
import { addConfigRevisions } from '../add-config-revisions.js';
import { readFrom } from '../read-from.js';
import type { ImportCounts } from '../tensorboard/import-tensorboard.js';
import { readSwanlabConfig } from './read-swanlab-config.js';
import {
  INITIAL_SWANLAB_STATE,
  readSwanlabFile,
  type SwanlabReaderState,
  type SwanlabRunInfo,
} from './read-swanlab-file.js';

/** One folder of a SwanLab run: its run file and the config file beside it. */
export interface SwanlabRunFile {
  /** `run-<id>.swanlab` or `backup.swanlab`, absolute. */
  file: string;
  /** `files/config.yaml` of the folder, absolute. */
  config: string;
}

/** How a SwanLab file is named in the import progress: its folder and file name, so a moved folder matches. */
export function swanlabFileKey(file: string): string {
  return `${basename(dirname(file))}/${basename(file)}`;
}

/** The run's start record (id, project, name, start time) and config, to create the swanlog run with. */
export function readSwanlabRunInfo(run: SwanlabRunFile): SwanlabRunInfo & { config: JsonObject } {
  const chunk = readSwanlabFile({
    bytes: readFrom(run.file, 0),
    base: 0,
    offset: 0,
    state: INITIAL_SWANLAB_STATE,
    file: run.file,
  });
  return { ...chunk.run, config: readSwanlabConfig(run.config) };
}

/**
 * Imports the folders of one SwanLab run (one per start of the run, in time order: a resumed
 * SwanLab run keeps its id) into `runDir`, each folder's file a writer session. A later folder
 * whose config differs adds a config revision at its start.
 */
export function importSwanlab(runDir: string, runs: SwanlabRunFile[]): ImportCounts {
  const progress = new Map(readImportProgress(runDir).map((p) => [p.file, p]));
  const counts: ImportCounts = { points: 0, rewinds: 0, sessions: 0, skipped: {} };
  let index = 0;
  for (const { file, config } of runs) {
    const key = swanlabFileKey(file);
    const done = progress.get(key);
    const offset = done?.offset ?? 0;
    const start: SwanlabReaderState =
      done === undefined ? INITIAL_SWANLAB_STATE : (JSON.parse(done.state) as SwanlabReaderState);
    const chunk = readSwanlabFile({
      bytes: readFrom(file, offset),
      base: offset,
      offset,
      state: start,
      file,
    });
    for (const [what, n] of Object.entries(chunk.skipped))
      counts.skipped[what] = (counts.skipped[what] ?? 0) + n;
    if (chunk.error !== undefined) counts.error ??= chunk.error;
    const finishChanged = done !== undefined && chunk.state.finish !== start.finish;
    if (chunk.end === offset && !finishChanged) {
      if (done !== undefined) index++;
      continue;
    }
    const first = chunk.records[0]?.time;
    const session =
      done === undefined
        ? ImportedSession.begin(runDir, {
            firstTime:
              first !== undefined && Number.isFinite(first) ? first : (chunk.run.startTime ?? Date.now()),
            resumed: index > 0,
          })
        : ImportedSession.reopen(runDir, done.source);
    if (done === undefined) counts.sessions++;
    try {
      if (done === undefined && index > 0) addConfigRevisions(runDir, session, [readSwanlabConfig(config)]);
      index++;
      const written = session.write({
        records: chunk.records,
        progress: [{ file: key, offset: chunk.end, state: JSON.stringify(chunk.state) }],
        endState: endStateOf(chunk.state),
      });
      counts.points += written.points;
    } finally {
      session.close();
    }
  }
  return counts;
}

/**
 * SwanLab >= 0.8 writes a finish record when the run ends: without one the run is crashed (or
 * still running, which the next import sees). The JSON files of 0.6-0.7 have no such record.
 */
function endStateOf(state: SwanlabReaderState): 'finished' | 'crashed' {
  if (state.finish !== null) return state.finish;
  return state.version === 2 ? 'crashed' : 'finished';
}
