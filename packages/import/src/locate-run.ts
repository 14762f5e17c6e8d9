import { createHash } from 'node:crypto';
import { SwanlogError } from '@swanlog/protocol';
import {
  createRun,
  findRunDir,
  type JsonObject,
  listRunDirs,
  RunReader,
  type RunSource,
} from '@swanlog/store';

export interface LocatedRun {
  dir: string;
  id: string;
  created: boolean;
  /** True when the source's own id could not be the run id (invalid, or taken by a run of another origin). */
  derivedId: boolean;
}

/**
 * The run under `logdir` that holds `source` (same kind and source id, wherever the files now
 * are, so a moved folder imports into the same run), created when there is none. Its id is the
 * source's id where that is a valid run id and free, else a stable id derived from it.
 */
export function locateRun(
  logdir: string,
  source: RunSource,
  init: { project: string; name: string | null; config: JsonObject; configTs?: number },
): LocatedRun {
  const existing = findImportedRun(logdir, source);
  if (existing !== undefined) return { ...existing, created: false };
  const plain = source.id.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  const candidates = [plain, derivedId(source)];
  for (const id of candidates) {
    if (id === '' || findRunDir(logdir, id) !== undefined) continue;
    const made = createRun({ logdir, id, workspace: null, source, ...init });
    if (!made.created && !sameSource(made.dir, source)) continue;
    return { dir: made.dir, id, created: made.created, derivedId: id !== source.id };
  }
  throw new SwanlogError('CONFLICT', `no free run id for ${source.kind} run ${source.id} in ${logdir}`, {
    hint: `runs ${candidates.join(' and ')} exist with another origin: import into another --logdir`,
  });
}

function findImportedRun(
  logdir: string,
  source: RunSource,
): { dir: string; id: string; derivedId: boolean } | undefined {
  for (const dir of listRunDirs(logdir)) {
    let reader: RunReader;
    try {
      reader = RunReader.open(dir);
    } catch (error) {
      // A damaged run of swanlog's own is not the one we look for; `ls` reports it.
      if (error instanceof SwanlogError) continue;
      throw error;
    }
    const meta = reader.meta;
    reader.close();
    // A copy keeps its original's origin in meta, but imports go on into the original.
    if (meta.copiedFrom === null && meta.source?.kind === source.kind && meta.source.id === source.id) {
      return { dir, id: meta.id, derivedId: meta.id !== source.id };
    }
  }
  return undefined;
}

function sameSource(dir: string, source: RunSource): boolean {
  const reader = RunReader.open(dir);
  try {
    return reader.meta.source?.kind === source.kind && reader.meta.source.id === source.id;
  } finally {
    reader.close();
  }
}

/** `<id, cleaned, cut to 50>-<12 hex of sha256(kind, id)>`: the same source always gets the same id. */
function derivedId(source: RunSource): string {
  const hash = createHash('sha256').update(`${source.kind}\0${source.id}`).digest('hex').slice(0, 12);
  const stem = source.id
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return stem === '' ? `${source.kind}-${hash}` : `${stem}-${hash}`;
}
