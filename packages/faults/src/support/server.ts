// A real server over a temp data dir (restartable on the same port), and a loopback TCP proxy that
// cuts, stalls and truncates connections.
import { createServer, type Server, Socket } from 'node:net';
import { createClient, type SwanlogClient } from '@swanlog/client';
import { createApiKey, type RunningServer, startServer } from '@swanlog/server';
import { removeTempDir, tempDir } from './temp.js';

export interface FaultServer {
  readonly url: string;
  readonly port: number;
  readonly key: string;
  readonly client: SwanlogClient;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultServer(): Promise<FaultServer> {
  const dataDir = tempDir('server');
  let running: RunningServer | undefined = await startServer({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    log: () => {},
  });
  const port = running.port;
  const url = running.url;
  const key = createApiKey({ dataDir, workspace: 'ws', scope: 'write' }).key;
  const client = createClient({ host: url, apiKey: key, retryLimit: 2 });
  return {
    url,
    port,
    key,
    client,
    stop: async () => {
      await running?.close();
      running = undefined;
    },
    start: async () => {
      running = await startServer({ dataDir, port, host: '127.0.0.1', log: () => {} });
    },
    close: async () => {
      await running?.close();
      running = undefined;
      removeTempDir(dataDir);
    },
  };
}

export function syncEnv(server: { url: string; key: string }, extra: Record<string, string> = {}) {
  return { SWANLOG_HOST: server.url, SWANLOG_API_KEY: server.key, ...extra };
}

export type ProxyFault = 'cut-request' | 'cut-answer' | 'stall' | 'truncate-answer';

export interface FaultProxy {
  url: string;
  /** Faults injected so far, by kind. */
  faults(): Record<ProxyFault, number>;
  close(): Promise<void>;
}

/**
 * A loopback proxy to `targetPort`. Each new connection draws one fault (or none) from `choose`:
 * `cut-request` drops it mid-request, `cut-answer` drops it once the server answered (the request
 * was applied, the answer lost), `stall` holds the answer for `stallMs` then passes it on,
 * `truncate-answer` passes the first bytes of the answer and then closes.
 */
export async function startFaultProxy(
  targetPort: number,
  choose: () => ProxyFault | null,
  options: { stallMs: number; maxFaults: number },
): Promise<FaultProxy> {
  const counts: Record<ProxyFault, number> = {
    'cut-request': 0,
    'cut-answer': 0,
    stall: 0,
    'truncate-answer': 0,
  };
  let total = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((client) => {
    const target = new Socket();
    sockets.add(client);
    sockets.add(target);
    const fault = total < options.maxFaults ? choose() : null;
    if (fault !== null) {
      total++;
      counts[fault]++;
    }
    const destroyBoth = () => {
      client.destroy();
      target.destroy();
      sockets.delete(client);
      sockets.delete(target);
    };
    let sent = 0;
    let stalled = false;
    target.connect(targetPort, '127.0.0.1');
    client.on('data', (d: Buffer) => {
      if (fault === 'cut-request' && sent + d.length > 2000) {
        target.write(d.subarray(0, Math.max(0, 2000 - sent)));
        destroyBoth();
        return;
      }
      sent += d.length;
      target.write(d);
    });
    target.on('data', (d: Buffer) => {
      if (fault === 'cut-answer') return destroyBoth();
      if (fault === 'truncate-answer') {
        client.end(d.subarray(0, Math.min(d.length - 1, 40)));
        target.destroy();
        return;
      }
      if (fault === 'stall' && !stalled) {
        stalled = true;
        target.pause();
        const t = setTimeout(() => {
          timers.delete(t);
          client.write(d);
          target.resume();
        }, options.stallMs);
        timers.add(t);
        return;
      }
      client.write(d);
    });
    client.on('close', destroyBoth);
    target.on('close', () => {
      if (!stalled || target.readableEnded) destroyBoth();
    });
    client.on('error', destroyBoth);
    target.on('error', destroyBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    faults: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
