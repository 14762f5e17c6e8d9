import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { SwanlogError } from '@swanlog/protocol';
import { createApp } from './create-app.js';
import { createPostgresEvents, type PostgresEvents } from './postgres-events.js';
import { openStorage, type StorageLocation } from './storage/open-storage.js';

export interface StartServerOptions {
  /** Data directory (created when missing): `server.sqlite` lives there. Or give `databaseUrl`. */
  dataDir?: string;
  /**
   * A PostgreSQL database (`postgres://user@host:port/db`) instead of `dataDir`: any number of
   * servers on one database act as one (replicas behind a load balancer).
   */
  databaseUrl?: string;
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

/**
 * Starts the server over SQLite storage in `dataDir` or PostgreSQL at `databaseUrl`: the thin
 * node adapter of `createApp`.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const location = locationOf(options);
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const storage = await openStorage(location);
  let events: PostgresEvents | undefined;
  try {
    // Replicas on one database tell each other's dashboards about writes through LISTEN/NOTIFY.
    if (location.databaseUrl !== undefined)
      events = await createPostgresEvents({
        url: location.databaseUrl,
        instanceId: await storage.instanceId(),
        log,
      });
    const app = createApp({
      storage,
      ...(events === undefined ? {} : { events }),
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
    const instanceId = await storage.instanceId();
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      instanceId,
      close: () => {
        closing ??= new Promise<void>((resolve, reject) => {
          server.close((error) => {
            Promise.all([events?.close(), storage.close()]).then(
              () => (error ? reject(error) : resolve()),
              (closeError: unknown) => reject(error ?? closeError),
            );
          });
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
        return closing;
      },
    };
  } catch (error) {
    await events?.close();
    await storage.close();
    throw error;
  }
}

function locationOf(options: StartServerOptions): StorageLocation {
  if (options.databaseUrl !== undefined && options.dataDir !== undefined)
    throw new SwanlogError('INVALID_OPTION', 'give a data directory or a database URL, not both', {
      hint: '--data <dir> is the embedded SQLite; --database postgres://… a PostgreSQL database',
    });
  if (options.databaseUrl !== undefined) return { databaseUrl: options.databaseUrl };
  if (options.dataDir !== undefined) return { dataDir: options.dataDir };
  throw new SwanlogError('INVALID_OPTION', 'no data directory or database URL given', {
    hint: 'give --data <dir> (SQLite) or --database postgres://user@host:port/db',
  });
}
