// Beats a writer's heartbeat off the main thread, so a long synchronous training step does not
// make the writer look dead to readers on other hosts.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path, { fileMustExist: true });
db.pragma('busy_timeout = 10000');
const beat = db.prepare('INSERT OR REPLACE INTO heartbeat (id, ts) VALUES (1, ?)');

function tick(): void {
  try {
    beat.run(Date.now());
  } catch (error) {
    // A beat that cannot be written (busy, disk full) only ages the heartbeat; the writer's own
    // flush reports storage failures to the user. Anything else is a bug.
    if (!String((error as { code?: unknown }).code).startsWith('SQLITE_')) throw error;
  }
}

const timer = setInterval(tick, intervalMs);
parentPort?.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
