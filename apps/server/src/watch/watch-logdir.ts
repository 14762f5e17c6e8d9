import { basename, relative, sep } from 'node:path';
import { isSwanlogError } from '@swanlog/protocol';
import { RUN_FILE, RunReader, runIdOfDirName, WRITERS_DIR } from '@swanlog/store';
import { watch } from 'chokidar';
import type { DashboardEvents } from '../dashboard-events.js';
import { LOCAL_WORKSPACE } from './local-views.js';

export const DEBOUNCE_MS = 200;

export interface LogdirWatcher {
  close(): Promise<void>;
}

/**
 * Watches `logdir` and announces, at most every ~200 ms, `runs` when a run directory appears or
 * goes or a run's run.sqlite changes (sessions, state, config), and `points` for a run whose writer
 * files change. Resolves once the initial scan is done, so later writes are seen.
 */
export async function watchLogdir(logdir: string, events: DashboardEvents): Promise<LogdirWatcher> {
  const ids = new Map<string, string | undefined>();
  let runs = false;
  const points = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (runs) events.emit(LOCAL_WORKSPACE, { type: 'runs' });
    for (const id of points) events.emit(LOCAL_WORKSPACE, { type: 'points', id });
    runs = false;
    points.clear();
  };
  const schedule = () => {
    timer ??= setTimeout(flush, DEBOUNCE_MS);
  };

  const watcher = watch(logdir, {
    ignoreInitial: true,
    depth: 3,
    // SQLite's shared-memory and rollback files change on reads too: watching them would echo.
    ignored: (path) => path.endsWith('-shm') || path.endsWith('-journal') || basename(path).startsWith('.'),
  });
  watcher.on('all', (event, path) => {
    const parts = relative(logdir, path).split(sep);
    const top = parts[0];
    if (top === undefined || top === '' || top.startsWith('..')) return;
    const dir = `${logdir}${sep}${top}`;
    if (parts.length === 1) {
      if (event === 'addDir' || event === 'unlinkDir') {
        ids.delete(dir);
        runs = true;
        schedule();
      }
      return;
    }
    const file = parts.slice(1).join('/');
    if (file === RUN_FILE || file === `${RUN_FILE}-wal`) {
      runs = true;
    } else if (parts[1] === WRITERS_DIR && parts.length === 3) {
      if (event === 'add' && file.endsWith('.sqlite')) runs = true;
      const id = idOf(ids, dir);
      if (id !== undefined) points.add(id);
    } else {
      return;
    }
    schedule();
  });
  await new Promise<void>((resolve, reject) => {
    watcher.once('ready', resolve);
    watcher.once('error', reject);
  });
  watcher.on('error', () => {
    // A run directory vanishing mid-scan is normal; the next event rescans what is there.
  });
  return {
    async close() {
      if (timer !== undefined) clearTimeout(timer);
      await watcher.close();
    },
  };
}

/** The run id of a run directory: from its name, else from its run.sqlite (cached per directory). */
function idOf(ids: Map<string, string | undefined>, dir: string): string | undefined {
  if (ids.has(dir)) return ids.get(dir);
  let id = runIdOfDirName(basename(dir));
  if (id === undefined) {
    try {
      const reader = RunReader.open(dir, { readonly: true });
      id = reader.meta.id;
      reader.close();
    } catch (error) {
      if (!isSwanlogError(error)) throw error;
    }
  }
  // Not cached when unknown: the directory may still be being built.
  if (id !== undefined) ids.set(dir, id);
  return id;
}
