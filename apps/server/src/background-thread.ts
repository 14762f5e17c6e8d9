import { Worker } from 'node:worker_threads';

/**
 * Starts a server thread (`url`, a module beside the caller's) that does not keep the process alive
 * by itself: `ref()` it while work is waiting on it. `onEnd` is called once when the thread ends:
 * with its error when it failed, without one when it exited.
 */
export function startBackgroundThread<Message>(
  url: URL,
  options: {
    workerData?: unknown;
    onMessage: (message: Message) => void;
    onEnd: (error: Error | undefined) => void;
  },
): Worker {
  const worker = new Worker(url, { workerData: options.workerData });
  let ended = false;
  const end = (error: Error | undefined) => {
    if (ended) return;
    ended = true;
    options.onEnd(error);
  };
  worker.on('message', options.onMessage);
  worker.on('error', end);
  worker.on('exit', () => end(undefined));
  // After the listeners: adding a 'message' listener refs the thread's port again.
  worker.unref();
  return worker;
}
