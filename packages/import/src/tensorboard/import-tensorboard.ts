import { join } from 'node:path';
import { ImportedSession, readImportProgress } from '@swanlog/store';
import { readFrom } from '../read-from.js';
import { type EventReaderState, INITIAL_EVENT_STATE, readEventFile } from './read-event-file.js';

export interface ImportCounts {
  points: number;
  rewinds: number;
  /** Sessions (event files) this import started. */
  sessions: number;
  skipped: Record<string, number>;
  /** The first file that could not be read to its end (the rest of the run was imported). */
  error?: unknown;
}

/**
 * Imports the event files of one TensorBoard run into the run directory `runDir`: each file is one
 * writer session; a file read before is read on from where the last import stopped.
 */
export function importTensorboard(runDir: string, sourceDir: string, files: string[]): ImportCounts {
  const progress = new Map(readImportProgress(runDir).map((p) => [p.file, p]));
  const counts: ImportCounts = { points: 0, rewinds: 0, sessions: 0, skipped: {} };
  let state: EventReaderState = INITIAL_EVENT_STATE;
  let index = 0;
  for (const file of files) {
    const done = progress.get(file);
    const offset = done?.offset ?? 0;
    const start: EventReaderState = done === undefined ? state : (JSON.parse(done.state) as EventReaderState);
    const path = join(sourceDir, file);
    const bytes = readFrom(path, offset);
    const chunk = readEventFile(bytes, 0, start, path);
    for (const [what, n] of Object.entries(chunk.skipped))
      counts.skipped[what] = (counts.skipped[what] ?? 0) + n;
    state = chunk.state;
    if (chunk.error !== undefined) counts.error ??= chunk.error;
    if (chunk.end === 0) {
      if (done !== undefined) index++;
      continue;
    }
    const session =
      done === undefined
        ? ImportedSession.begin(runDir, { firstTime: chunk.firstTime ?? Date.now(), resumed: index > 0 })
        : ImportedSession.reopen(runDir, done.source);
    if (done === undefined) counts.sessions++;
    index++;
    try {
      const written = session.write({
        records: chunk.records,
        progress: [{ file, offset: offset + chunk.end, state: JSON.stringify(chunk.state) }],
      });
      counts.points += written.points;
      counts.rewinds += written.rewinds;
    } finally {
      session.close();
    }
  }
  return counts;
}
