import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parsePort } from '../parse-port.js';
import { untilStopSignal } from '../until-stop-signal.js';

export interface WatchOptions {
  cwd: string;
  logdir: string;
  port?: string;
  host?: string;
}

/**
 * Serves the dashboard over the run directories of `logdir` until SIGINT or SIGTERM: calls
 * `onListening` once it accepts requests, then stops watching and listening and returns.
 */
export async function watchLogdir(
  options: WatchOptions,
  onListening: (info: { logdir: string; url: string }) => void,
): Promise<void> {
  // Loaded only here, so other commands start fast.
  const { startWatch } = await import('@swanlog/server');
  const logdir = resolve(options.cwd, options.logdir);
  const running = await startWatch({
    logdir,
    port: parsePort(options.port, 5092),
    host: options.host ?? '127.0.0.1',
  });
  onListening({ logdir, url: running.url });
  await untilStopSignal();
  await running.close();
}

/** Declares `swanlog watch [logdir]` on the program. */
export function registerWatchCommand(program: Command): void {
  program
    .command('watch')
    .description('serve the dashboard over local run directories, live and read-only (no server needed)')
    .argument('[logdir]', 'log directory (default: $SWANLOG_LOGDIR or ./swanlog)')
    .option('--port <port>', 'port to listen on (0: any free port)', '5092')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .action(async (logdir: string | undefined, opts: { port: string; host: string }) => {
      await watchLogdir(
        {
          cwd: process.cwd(),
          logdir: logdir ?? (process.env.SWANLOG_LOGDIR || './swanlog'),
          port: opts.port,
          host: opts.host,
        },
        (info) => process.stdout.write(`swanlog watch: serving ${info.logdir} on ${info.url}\n`),
      );
    });
}
