import { Worker } from 'node:worker_threads';
import type { DrainResult } from './cloud-uploader-worker.js';

export interface CloudUploaderOptions {
  dir: string;
  host: string;
  apiKey: string;
  intervalMs?: number;
}

/**
 * The main-thread handle of cloud mode's upload thread. The thread is unref'd: it never keeps
 * the process alive, and a failure in it never ends training (it is reported once as a warning).
 */
export class CloudUploader {
  private readonly worker: Worker;
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(options: CloudUploaderOptions) {
    this.worker = new Worker(new URL('./cloud-uploader-worker.js', import.meta.url), {
      workerData: {
        dir: options.dir,
        host: options.host,
        apiKey: options.apiKey,
        intervalMs: options.intervalMs ?? 1000,
      },
    });
    this.exited = new Promise((done) => this.worker.once('exit', () => done()));
    this.worker.on('error', (error) => {
      this.failure = error;
      process.emitWarning(
        `cloud upload of ${options.dir} stopped: ${error.message}; finish it with \`swanlog sync\``,
        {
          code: 'SWANLOG_UPLOAD',
        },
      );
    });
    this.worker.unref();
  }

  /** Uploads what is left, waiting at most `timeoutMs`; then stops the thread. */
  async drain(timeoutMs: number): Promise<DrainResult> {
    if (this.failure !== undefined) {
      return {
        complete: false,
        experimentId: null,
        url: null,
        error: { code: 'SERVER_ERROR', message: this.failure.message },
      };
    }
    this.worker.ref();
    const answer = new Promise<DrainResult>((done) =>
      this.worker.once('message', (m: DrainResult) => done(m)),
    );
    const timeout = new Promise<DrainResult>((done) =>
      setTimeout(
        () =>
          done({
            complete: false,
            experimentId: null,
            url: null,
            error: { code: 'SERVER_UNREACHABLE', message: `upload not complete after ${timeoutMs} ms` },
          }),
        timeoutMs + 2000,
      ).unref(),
    );
    this.worker.postMessage({ type: 'drain', deadline: Date.now() + timeoutMs });
    const result = await Promise.race([answer, timeout]);
    await this.worker.terminate();
    await this.exited;
    return result;
  }

  /** Stops the thread without waiting for uploads (exit and signal paths): the data stays local. */
  stop(): void {
    void this.worker.terminate();
  }
}
