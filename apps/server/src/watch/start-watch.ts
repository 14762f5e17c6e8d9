import { statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { SwanlogError } from '@swanlog/protocol';
import { createDashboardEvents } from '../dashboard-events.js';
import { SERVER_VERSION } from '../start-server.js';
import { createWatchApp } from './create-watch-app.js';
import { watchLogdir } from './watch-logdir.js';

export interface StartWatchOptions {
  /** The log directory whose run directories are shown. */
  logdir: string;
  /** Default 5092; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The dashboard's static build (default: `apps/web/dist/public` of this repository). */
  webRoot?: string;
  /** Where unexpected request failures are reported (default: stderr). */
  log?: (message: string) => void;
}

export interface RunningWatch {
  /** `http://<host>:<port>` */
  url: string;
  port: number;
  /** Stops watching, ends open connections (event streams included) and stops listening. */
  close(): Promise<void>;
}

/**
 * `swanlog watch`: serves the dashboard, read-only and live, over the run directories of
 * `logdir`. Nothing in the logdir is ever written.
 */
export async function startWatch(options: StartWatchOptions): Promise<RunningWatch> {
  const logdir = resolve(options.logdir);
  checkLogdir(logdir);
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 5092;
  const events = createDashboardEvents();
  const app = createWatchApp({
    logdir,
    version: SERVER_VERSION,
    events,
    webRoot: options.webRoot,
    log: options.log,
    listenHost: host,
  });
  const watcher = await watchLogdir(logdir, events);
  let server: ReturnType<typeof serve>;
  try {
    server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
      const s = serve({ fetch: app.fetch, port, hostname: host }, () => done(s));
      s.once('error', (error: NodeJS.ErrnoException) =>
        fail(
          new SwanlogError(
            'INVALID_OPTION',
            `cannot listen on ${host}:${port}: ${error.code ?? error.message}`,
            {
              hint:
                error.code === 'EADDRINUSE'
                  ? 'another process uses that port: pick another --port'
                  : undefined,
              cause: error,
            },
          ),
        ),
      );
    });
  } catch (error) {
    await watcher.close();
    throw error;
  }
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    close: () => {
      closing ??= (async () => {
        await watcher.close();
        await new Promise<void>((done, fail) => {
          server.close((error) => (error ? fail(error) : done()));
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function checkLogdir(logdir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(logdir).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new SwanlogError('NOT_FOUND', `log directory ${logdir} does not exist`, {
      hint: 'pass the directory your runs log into (default ./swanlog, or SWANLOG_LOGDIR)',
      cause: error,
    });
  }
  if (!isDir) throw new SwanlogError('NOT_FOUND', `${logdir} is a file, not a log directory`);
}
