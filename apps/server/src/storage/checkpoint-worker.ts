// Checkpoints the server database's write-ahead log off the server's main thread: a checkpoint of
// a large upload copies tens of megabytes into the database file, and on the main thread that
// stalled every request meanwhile (~100 ms per 40 MB). A PASSIVE checkpoint on this connection runs
// beside the main connection's commits; WAL mode lets both go on at once.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path } = workerData as { path: string };
const db = new Database(path, { fileMustExist: true });
db.pragma('busy_timeout = 10000');

parentPort?.on('message', (message: unknown) => {
  if (message === 'checkpoint') {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      // A checkpoint that cannot run now (busy) runs at the next request or at the WAL cap; anything
      // else is a bug.
      if (!String((error as { code?: unknown }).code).startsWith('SQLITE_')) throw error;
    }
    parentPort?.postMessage('done');
  } else if (message === 'stop') {
    db.close();
    parentPort?.close();
  }
});
