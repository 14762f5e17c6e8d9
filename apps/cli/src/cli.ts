import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SwanlogError } from '@swanlog/protocol';
import { Command, CommanderError, Option } from 'commander';
import { copy } from './commands/copy.js';
import { exportRun } from './commands/export.js';
import { ls } from './commands/ls.js';
import { registerServerCommands } from './commands/server.js';
import { show } from './commands/show.js';
import { registerSyncCommands } from './commands/sync.js';
import { verify } from './commands/verify.js';
import { registerWatchCommand } from './commands/watch.js';
import {
  errorJson,
  formatCopy,
  formatLs,
  formatShow,
  formatVerify,
  printError,
  printJson,
  writeChunks,
} from './print.js';

const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function defaultLogdir(): string {
  return process.env.SWANLOG_LOGDIR || './swanlog';
}

const logdirOption = () =>
  new Option('--logdir <dir>', 'where to look up a run given by id (default: $SWANLOG_LOGDIR or ./swanlog)');

/** The `swanlog` program. Commands return data; printing and exit codes happen here only. */
export function buildProgram(): Command {
  const program = new Command('swanlog')
    .description('offline-first experiment log store: inspect, export, copy and verify run directories')
    .version(version)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const cwd = process.cwd();

  program
    .command('ls')
    .description('list every run under a log directory, with its state and last step')
    .argument('[logdir]', 'log directory (default: $SWANLOG_LOGDIR or ./swanlog)')
    .option('--json', 'print a JSON array on stdout')
    .action((logdir: string | undefined, opts: { json?: boolean }) => {
      const entries = ls({ cwd, logdir, defaultLogdir: defaultLogdir() });
      if (opts.json) printJson(entries);
      else process.stdout.write(formatLs(entries, resolve(cwd, logdir ?? defaultLogdir())));
    });

  program
    .command('show')
    .description('show a run: state, config and its revisions, keys, segments (resumes)')
    .argument('<run>', 'run directory, or run id under --logdir')
    .addOption(logdirOption())
    .option('--json', 'print a JSON document on stdout')
    .action((target: string, opts: { json?: boolean; logdir?: string }) => {
      const details = show({ cwd, target, logdir: opts.logdir ?? defaultLogdir() });
      if (opts.json) printJson(details);
      else process.stdout.write(`${formatShow(details)}\n`);
    });

  program
    .command('export')
    .description('export the visible points of a run, one per line: {key, step, value, ts}')
    .argument('<run>', 'run directory, or run id under --logdir')
    .addOption(logdirOption())
    .addOption(new Option('--format <format>', 'jsonl or csv').default('jsonl'))
    .option('--all', 'include superseded points, marked superseded: true')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(
      async (target: string, opts: { logdir?: string; format: string; all?: boolean; out?: string }) => {
        const result = exportRun({
          cwd,
          target,
          logdir: opts.logdir ?? defaultLogdir(),
          format: opts.format,
          all: opts.all === true,
        });
        await writeChunks(result.chunks, opts.out === undefined ? undefined : resolve(cwd, opts.out));
      },
    );

  program
    .command('copy')
    .description('copy a run (live or not) into a new run with a new id; the original is not touched')
    .argument('<run>', 'run directory, or run id under --logdir')
    .addOption(logdirOption())
    .option('--into <dir>', 'log directory for the copy (default: next to the original)')
    .option('--json', 'print {id, dir, copiedFrom} on stdout')
    .action((target: string, opts: { logdir?: string; into?: string; json?: boolean }) => {
      const result = copy({ cwd, target, into: opts.into, logdir: opts.logdir ?? defaultLogdir() });
      if (opts.json) printJson(result);
      else process.stdout.write(formatCopy(result));
    });

  program
    .command('verify')
    .description('check a run directory end to end (files, format, every chunk); exit 1 when damaged')
    .argument('<run_dir>', 'run directory')
    .option('--json', 'print the report (or {dir, ok: false, error}) on stdout')
    .action((target: string, opts: { json?: boolean }) => {
      try {
        const report = verify({ cwd, target });
        if (opts.json) printJson(report);
        else process.stdout.write(formatVerify(report));
      } catch (error) {
        if (opts.json) printJson({ dir: resolve(cwd, target), ok: false, error: errorJson(error) });
        throw error;
      }
    });

  program
    .command('pull')
    .description(
      'seed a local run directory from the server (config, last step) so an SDK resumes the run offline',
    )
    .argument('<id>', 'run id (the experiment id on the server)')
    .addOption(
      new Option('--logdir <dir>', 'where the run directory goes (default: $SWANLOG_LOGDIR or ./swanlog)'),
    )
    .addOption(new Option('--host <url>', 'server URL').env('SWANLOG_HOST'))
    .addOption(new Option('--api-key <key>', "API key of the run's workspace").env('SWANLOG_API_KEY'))
    .option('--timeout <seconds>', 'how long one request keeps retrying, all attempts together', '30')
    .option('--json', 'print {id, dir, created, lastStep} on stdout')
    .addHelpText(
      'after',
      `
Prints the run directory. A local directory with the id is reused, not replaced (RUN_DIVERGED when
the server holds writes it lacks). Resume it with init({ id, resume: 'must' }); the steps continue
after the server's last step, and \`swanlog sync\` uploads into the same experiment.`,
    )
    .action(async (id: string, opts: PullCliOptions) => {
      const { pull } = await import('./commands/pull.js');
      const result = await pull({
        cwd,
        id,
        logdir: opts.logdir ?? defaultLogdir(),
        host: opts.host,
        apiKey: opts.apiKey,
        timeoutSeconds: parseSeconds(opts.timeout),
      });
      if (opts.json) printJson(result);
      else process.stdout.write(`${result.dir}\n`);
      const step = result.lastStep === null ? 'no steps yet' : `last step ${result.lastStep}`;
      process.stderr.write(
        result.created
          ? `swanlog: seeded run ${id} from the server (${step})\n`
          : `swanlog: run ${id} already has a local directory; reusing it (${step})\n`,
      );
    });

  registerSyncCommands(program);
  registerWatchCommand(program);
  registerServerCommands(program);
  return program;
}

interface PullCliOptions {
  logdir?: string;
  host?: string;
  apiKey?: string;
  timeout: string;
  json?: boolean;
}

function parseSeconds(raw: string): number {
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new SwanlogError('INVALID_OPTION', `--timeout ${raw} is not a number of seconds > 0`, {
      hint: 'e.g. --timeout 120 to wait up to two minutes for a server that restarts',
    });
  }
  return seconds;
}

/** Runs the CLI: exit 0 on success, 1 on an error, 2 on a usage error. */
export async function main(argv: string[]): Promise<void> {
  // A reader that stops early (`| head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    printError(error);
    process.exitCode = 1;
  }
}
