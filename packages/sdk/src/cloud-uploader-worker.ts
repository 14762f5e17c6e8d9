// Cloud mode's uploader: runs the sync engine over the run directory in its own thread, so
// uploads never take time from the training loop. The run directory is the source of truth; this
// thread only reads it. Network trouble is retried for as long as the run lives.
import { parentPort, workerData } from 'node:worker_threads';
import { createClient, syncRunDir } from '@swanlog/client';

interface UploaderData {
  dir: string;
  host: string;
  apiKey: string;
  intervalMs: number;
}

export interface DrainResult {
  complete: boolean;
  experimentId: string | null;
  url: string | null;
  error: { code: string; message: string } | null;
}

const { dir, host, apiKey, intervalMs } = workerData as UploaderData;
const client = createClient({ host, apiKey, retryLimit: 2 });
let last: DrainResult = { complete: false, experimentId: null, url: null, error: null };
let draining = false;

async function syncOnce(): Promise<void> {
  try {
    const result = await syncRunDir({ dir, client, target: { kind: 'live' } });
    last = { complete: result.complete, experimentId: result.experimentId, url: result.url, error: null };
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    last = {
      ...last,
      complete: false,
      error: { code: String(e.code ?? 'SERVER_ERROR'), message: String(e.message) },
    };
  }
}

async function loop(): Promise<void> {
  let wait = intervalMs;
  while (!draining) {
    await syncOnce();
    // Back off while the server is unreachable, up to 30 s; come back to the interval once it answers.
    wait = last.error === null ? intervalMs : Math.min(wait * 2, 30_000);
    await new Promise((r) => setTimeout(r, wait));
  }
}

parentPort?.on('message', async (message: { type: 'drain'; deadline: number }) => {
  if (message.type !== 'drain' || draining) return;
  draining = true;
  do {
    await syncOnce();
    if (last.complete) break;
    await new Promise((r) => setTimeout(r, 500));
  } while (Date.now() < message.deadline);
  parentPort?.postMessage(last);
});

void loop();
