import { resolve } from 'node:path';
import { type KeyScope, SwanlogError } from '@swanlog/protocol';
import type { ApiKeyRecord } from '@swanlog/server';

/** The server is loaded only by the commands that need it, so other commands start fast. */
const loadServer = () => import('@swanlog/server');

import { type Command, Option } from 'commander';
import { parsePort } from '../parse-port.js';
import { untilStopSignal } from '../until-stop-signal.js';

/** Where the server's data is: `--data <dir>` (SQLite) or `--database <url>` (PostgreSQL). */
export type StoreOptions = { data: string; database?: undefined } | { database: string; data?: undefined };

export type ServeOptions = StoreOptions & {
  cwd: string;
  port?: string;
  host?: string;
  publicUrl?: string;
};

/**
 * Runs the server until SIGINT or SIGTERM: prints `listening on <url>` once it accepts requests,
 * then closes connections and the database and returns.
 */
export async function serve(options: ServeOptions, onListening: (url: string) => void): Promise<void> {
  const { startServer } = await loadServer();
  const server = await startServer({
    ...locationOf(options),
    port: parsePort(options.port, 5090),
    host: options.host ?? '127.0.0.1',
    ...(options.publicUrl === undefined ? {} : { publicUrl: checkUrl(options.publicUrl) }),
  });
  onListening(server.url);
  await untilStopSignal();
  await server.close();
}

export type KeyCreateOptions = StoreOptions & {
  cwd: string;
  workspace: string;
  scope?: string;
};

/** Creates an API key and returns it (shown once: only its hash is stored). */
export async function keyCreate(options: KeyCreateOptions): Promise<{ id: string; key: string }> {
  const scope = options.scope ?? 'write';
  if (scope !== 'read' && scope !== 'write')
    throw new SwanlogError('INVALID_OPTION', `--scope must be read or write, not ${JSON.stringify(scope)}`);
  const { createApiKey } = await loadServer();
  const location = locationOf(options);
  const base = { workspace: options.workspace, scope: scope as KeyScope };
  return 'databaseUrl' in location
    ? createApiKey({ ...base, databaseUrl: location.databaseUrl })
    : createApiKey({ ...base, dataDir: location.dataDir });
}

/** Revokes a key given by itself or by its id; NOT_FOUND when there is no such key. */
export async function keyRevoke(
  options: StoreOptions & { cwd: string; keyOrId: string },
): Promise<{ revoked: string }> {
  const { revokeApiKey } = await loadServer();
  const location = locationOf(options);
  const revoked =
    'databaseUrl' in location
      ? await revokeApiKey({ databaseUrl: location.databaseUrl, keyOrId: options.keyOrId })
      : revokeApiKey({ dataDir: location.dataDir, keyOrId: options.keyOrId });
  if (!revoked) {
    const where = options.data ?? 'the database';
    throw new SwanlogError('NOT_FOUND', `no API key ${options.keyOrId} in ${where}`, {
      hint: `list the keys with \`swanlog server key list ${options.data === undefined ? '--database <url>' : '--data <dir>'}\``,
    });
  }
  return { revoked: options.keyOrId.startsWith('swl_') ? 'the given key' : options.keyOrId };
}

export async function keyList(options: StoreOptions & { cwd: string }): Promise<ApiKeyRecord[]> {
  const { listApiKeys } = await loadServer();
  const location = locationOf(options);
  return 'databaseUrl' in location
    ? listApiKeys({ databaseUrl: location.databaseUrl })
    : listApiKeys({ dataDir: location.dataDir });
}

/**
 * Deletes an experiment from a server's storage (works while the server runs): all its rows go,
 * a tombstone of its id stays, so a later sync of the run directory is told EXPERIMENT_DELETED.
 */
export async function deleteExperiment(
  options: StoreOptions & { cwd: string; workspace: string; id: string },
): Promise<{ id: string; points: number }> {
  const { openStorage } = await loadServer();
  const storage = await openStorage(locationOf(options));
  try {
    const ref = { workspace: options.workspace, id: options.id };
    const record = await storage.getExperiment(ref);
    if (record === undefined) {
      const deleted = await storage.deletedAt(ref);
      throw new SwanlogError(
        'RUN_NOT_FOUND',
        deleted === undefined
          ? `no experiment ${options.id} in workspace ${options.workspace}`
          : `experiment ${options.id} of workspace ${options.workspace} was already deleted (${new Date(deleted).toISOString()})`,
        { hint: 'the dashboard and GET /api/v1/workspaces/<ws>/experiments list the experiments' },
      );
    }
    const points = (await storage.chunkSummaries(ref)).reduce((n, c) => n + c.n, 0);
    await storage.deleteExperiment(ref, Date.now());
    return { id: options.id, points };
  } finally {
    await storage.close();
  }
}

/** Gives the space of deleted experiments back to the file system. */
export async function vacuum(options: StoreOptions & { cwd: string }): Promise<void> {
  const { openStorage } = await loadServer();
  const storage = await openStorage(locationOf(options));
  try {
    await storage.vacuum();
  } finally {
    await storage.close();
  }
}

/** A consistent snapshot of a running SQLite server (SQLite's online backup). */
export async function backup(options: { cwd: string; data: string; out: string }): Promise<{ out: string }> {
  const { backupServer } = await loadServer();
  return backupServer({
    dataDir: resolve(options.cwd, options.data),
    out: resolve(options.cwd, options.out),
  });
}

/** Makes a data directory a server holding a backup, with a new instance id. */
export async function restore(options: {
  cwd: string;
  data: string;
  from: string;
}): Promise<{ dataDir: string; instanceId: string }> {
  const { restoreServer } = await loadServer();
  const dataDir = resolve(options.cwd, options.data);
  return { dataDir, ...restoreServer({ dataDir, from: resolve(options.cwd, options.from) }) };
}

/** Moves a SQLite server's data into an empty PostgreSQL database, keeping its instance id. */
export async function migrate(options: { cwd: string; from: string; to: string }) {
  const { migrateToPostgres } = await loadServer();
  return migrateToPostgres({ dataDir: resolve(options.cwd, options.from), databaseUrl: options.to });
}

function locationOf(options: StoreOptions & { cwd: string }): { dataDir: string } | { databaseUrl: string } {
  return options.database !== undefined
    ? { databaseUrl: options.database }
    : { dataDir: resolve(options.cwd, options.data) };
}

/** Declares `swanlog server` and `swanlog server key ...` on the program. */
export function registerServerCommands(program: Command): void {
  const cwd = process.cwd();
  const dataOption = () => new Option('--data <dir>', 'data directory of the server (server.sqlite)');
  const databaseOption = () =>
    new Option('--database <url>', 'PostgreSQL database of the server (postgres://user@host:port/db)').env(
      'SWANLOG_DATABASE_URL',
    );
  // `server` and its key commands all take --data or --database; commander hands an option to
  // whichever command declares it first on the line, so read them from the command and its
  // ancestors alike. An explicit --data wins over SWANLOG_DATABASE_URL from the environment.
  const needData = (command: Command): StoreOptions => {
    const opts = command.optsWithGlobals() as { data?: string; database?: string };
    const data = opts.data === '' ? undefined : opts.data;
    const database = opts.database === '' ? undefined : opts.database;
    if (data !== undefined && database !== undefined && !databaseFromEnv(command))
      command.error('error: give --data <dir> or --database <url>, not both');
    if (data !== undefined) return { data };
    if (database !== undefined) return { database };
    command.error("error: required option '--data <dir>' or '--database <url>' not specified");
  };

  const server = program
    .command('server')
    .description('run the self-hosted swanlog server (SQLite in --data); `server key` manages API keys')
    .addOption(dataOption())
    .addOption(databaseOption())
    .option('--port <port>', 'port to listen on (0: any free port)', '5090')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--public-url <url>', 'base URL clients and links should use (behind a reverse proxy)')
    .addHelpText(
      'after',
      '\nExamples:\n  swanlog server --data ./swanlog-server --port 5090\n  swanlog server --database postgres://swanlog@db:5432/swanlog --port 5090\n  swanlog server key create --data ./swanlog-server --workspace team',
    )
    .action(async (opts: { port: string; host: string; publicUrl?: string }, command: Command) => {
      const store = needData(command);
      await serve({ cwd, ...store, port: opts.port, host: opts.host, publicUrl: opts.publicUrl }, (url) =>
        process.stdout.write(`listening on ${url}\n`),
      );
    });

  server
    .command('backup')
    .description(
      'write a consistent snapshot of a SQLite server to a file, while it runs (PostgreSQL: pg_dump)',
    )
    .addOption(dataOption())
    .requiredOption('--out <file>', 'the backup file to write (never overwritten)')
    .action(async (opts: { out: string }, command: Command) => {
      const store = needData(command);
      if (store.data === undefined)
        command.error('error: backup is for --data (SQLite); back up PostgreSQL with pg_dump');
      const result = await backup({ cwd, data: store.data, out: opts.out });
      process.stdout.write(`backed up to ${result.out}\n`);
    });

  server
    .command('restore')
    .description(
      'make a data directory a server holding a backup, with a new instance id (clients re-send what it lacks)',
    )
    .addOption(dataOption())
    .requiredOption('--from <file>', 'the backup file (from `swanlog server backup`)')
    .action(async (opts: { from: string }, command: Command) => {
      const store = needData(command);
      if (store.data === undefined)
        command.error('error: restore is for --data (SQLite); restore PostgreSQL with pg_restore');
      const result = await restore({ cwd, data: store.data, from: opts.from });
      process.stdout.write(`restored into ${result.dataDir} (new instance id ${result.instanceId})\n`);
    });

  server
    .command('migrate')
    .description(
      'move a SQLite server into an empty PostgreSQL database, keeping its instance id, keys and watermarks',
    )
    .requiredOption('--from <dir>', 'data directory of the SQLite server (stop it first)')
    .requiredOption('--to <url>', 'the PostgreSQL database (postgres://user@host:port/db)')
    .action(async (opts: { from: string; to: string }) => {
      const r = await migrate({ cwd, from: opts.from, to: opts.to });
      process.stdout.write(
        `migrated ${r.experiments} experiments, ${r.chunks} chunks and ${r.apiKeys} API keys; instance id ${r.instanceId}\n`,
      );
    });

  server
    .command('delete')
    .description(
      'delete an experiment and all its points (the id is never given again; a later sync of it is told EXPERIMENT_DELETED)',
    )
    .argument('<id>', 'the experiment id')
    .requiredOption('--workspace <ws>', 'the workspace it belongs to')
    .addOption(dataOption())
    .addOption(databaseOption())
    .action(async (id: string, opts: { workspace: string }, command: Command) => {
      const store = needData(command);
      const r = await deleteExperiment({ cwd, ...store, workspace: opts.workspace, id });
      process.stdout.write(
        `deleted experiment ${r.id} of workspace ${opts.workspace} (${r.points} points); \`swanlog server vacuum\` gives the space back\n`,
      );
    });

  server
    .command('vacuum')
    .description(
      'give the space of deleted experiments back to the file system (SQLite VACUUM; PostgreSQL VACUUM)',
    )
    .addOption(dataOption())
    .addOption(databaseOption())
    .action(async (_opts: unknown, command: Command) => {
      const store = needData(command);
      await vacuum({ cwd, ...store });
      process.stdout.write('vacuumed\n');
    });

  const key = server
    .command('key')
    .description('create, revoke and list API keys (works while the server runs)')
    .addHelpText(
      'after',
      '\nKeys belong to one workspace and have scope read or write (write includes read).',
    );

  key
    .command('create')
    .description('create an API key and print it (the only time it is shown)')
    .addOption(dataOption())
    .addOption(databaseOption())
    .requiredOption('--workspace <ws>', 'workspace the key belongs to')
    .addOption(
      new Option('--scope <scope>', 'what the key may do').choices(['read', 'write']).default('write'),
    )
    .action(async (opts: { workspace: string; scope: string }, command: Command) => {
      const store = needData(command);
      const created = await keyCreate({ cwd, ...store, workspace: opts.workspace, scope: opts.scope });
      process.stdout.write(`${created.key}\n`);
    });

  key
    .command('revoke')
    .description('revoke an API key, given by itself or by its id; a running server refuses it at once')
    .argument('<key-or-id>', 'the key (swl_...) or its id from `key list`')
    .addOption(dataOption())
    .addOption(databaseOption())
    .action(async (keyOrId: string, _opts: unknown, command: Command) => {
      const store = needData(command);
      const result = await keyRevoke({ cwd, ...store, keyOrId });
      process.stdout.write(`revoked ${result.revoked}\n`);
    });

  key
    .command('list')
    .description('list API keys: id, workspace, scope, created, revoked (never the keys themselves)')
    .addOption(dataOption())
    .addOption(databaseOption())
    .option('--json', 'print a JSON array on stdout')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const store = needData(command);
      const keys = await keyList({ cwd, ...store });
      if (opts.json) process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
      else process.stdout.write(formatKeys(keys));
    });
}

/** Whether the --database in effect for `command` came from SWANLOG_DATABASE_URL, not the line. */
function databaseFromEnv(command: Command): boolean {
  for (let c: Command | null = command; c !== null; c = c.parent) {
    if (c.getOptionValue('database') !== undefined && c.getOptionValueSource('database') !== 'env')
      return false;
  }
  return true;
}

function formatKeys(keys: ApiKeyRecord[]): string {
  if (keys.length === 0) return 'no API keys\n';
  const rows = keys.map((k) => [
    k.id,
    k.workspace,
    k.scope,
    new Date(k.createdAt).toISOString(),
    k.revokedAt === null ? '' : `revoked ${new Date(k.revokedAt).toISOString()}`,
  ]);
  const header = ['ID', 'WORKSPACE', 'SCOPE', 'CREATED', 'REVOKED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return `${[header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function checkUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return url.replace(/\/+$/, '');
  } catch (error) {
    throw new SwanlogError('INVALID_OPTION', `--public-url ${JSON.stringify(url)} is not a URL`, {
      cause: error,
    });
  }
  throw new SwanlogError('INVALID_OPTION', `--public-url ${JSON.stringify(url)} must be http(s)`);
}
