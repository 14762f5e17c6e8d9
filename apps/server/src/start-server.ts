import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { SwanlogError } from '@swanlog/protocol';
import { createApp } from './create-app.js';
import { openSqliteStorage } from './storage/sqlite-storage.js';

export interface StartServerOptions {
  /** Data directory (created when missing): `server.sqlite` lives there. */
  dataDir: string;
  /** Default 5090; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  publicUrl?: string;
  /** Where unexpected request failures are reported (default: stderr). */
  log?: (message: string) => void;
  /** The dashboard's static build (default: `apps/web/dist/public` of this repository). */
  webRoot?: string;
}

export interface RunningServer {
  /** `http://<host>:<port>` */
  url: string;
  port: number;
  instanceId: string;
  /** Stops accepting requests, ends open connections and closes the database. */
  close(): Promise<void>;
}

export const SERVER_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Starts the server over SQLite storage in `dataDir`: the thin node adapter of `createApp`. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const storage = openSqliteStorage({ dataDir: options.dataDir });
  try {
    const app = createApp({
      storage,
      publicUrl: options.publicUrl ?? null,
      version: SERVER_VERSION,
      log: options.log,
      webRoot: options.webRoot,
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: options.port ?? 5090, hostname: host }, () => resolve(s));
      s.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new SwanlogError(
            'INVALID_OPTION',
            `cannot listen on ${host}:${options.port ?? 5090}: ${error.code ?? error.message}`,
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
    const port = (server.address() as AddressInfo).port;
    const instanceId = storage.instanceId() as string;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      instanceId,
      close: () => {
        closing ??= new Promise<void>((resolve, reject) => {
          server.close((error) => {
            storage.close();
            if (error) reject(error);
            else resolve();
          });
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
        return closing;
      },
    };
  } catch (error) {
    storage.close();
    throw error;
  }
}
