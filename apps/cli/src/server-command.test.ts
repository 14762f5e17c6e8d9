import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI_BIN, cliEnv, describeResult, REPO_ROOT, runCli } from './test-support/cli.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'swanlog-cli-server-'));
  dirs.push(d);
  return d;
};

interface RunningCli {
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  proc: ChildProcess;
}

/** Starts `swanlog server ... --port 0` and waits for its listening line. */
function startCliServer(dataDir: string): Promise<RunningCli> {
  const proc = spawn(process.execPath, [CLI_BIN, 'server', '--data', dataDir, '--port', '0'], {
    cwd: REPO_ROOT,
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (match) resolve({ url: match[1]!, stdout: () => stdout, stderr: () => stderr, exited, proc });
    });
    void exited.then((r) => reject(new Error(`server exited early (${r.code ?? r.signal}): ${stderr}`)));
  });
}

describe('swanlog server', () => {
  test('prints one listening line, serves, and stops cleanly on SIGTERM', async () => {
    const dataDir = tempDir();
    const server = await startCliServer(dataDir);
    const created = await runCli(['server', 'key', 'create', '--data', dataDir, '--workspace', 'team']);
    assert.equal(created.code, 0, describeResult(created));
    const key = created.stdout.trim();
    assert.match(created.stdout, /^swl_[0-9A-Za-z]{32,}\n$/, 'the key is the only stdout line');
    const auth = { authorization: `Bearer ${key}` };
    const info = await fetch(`${server.url}/api/v1/server`, { headers: auth });
    assert.equal(info.status, 200, 'a key created while the server runs works at once');
    assert.equal(((await info.json()) as { workspace: string }).workspace, 'team');

    const listed = await runCli(['server', 'key', 'list', '--data', dataDir, '--json']);
    assert.equal(listed.code, 0, describeResult(listed));
    const keys = JSON.parse(listed.stdout) as {
      id: string;
      workspace: string;
      scope: string;
      revokedAt: null;
    }[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.scope, 'write');
    assert.ok(!listed.stdout.includes(key), 'keys are never listed');

    const revoked = await runCli(['server', 'key', 'revoke', '--data', dataDir, keys[0]!.id]);
    assert.equal(revoked.code, 0, describeResult(revoked));
    assert.equal(
      (await fetch(`${server.url}/api/v1/server`, { headers: auth })).status,
      401,
      'revoked at once',
    );

    server.proc.kill('SIGTERM');
    const end = await server.exited;
    assert.deepEqual(end, { code: 0, signal: null }, server.stderr());
    assert.equal(server.stdout(), `listening on ${server.url}\n`);
  });

  test('stops on SIGINT too; revoking by the key itself works', async () => {
    const dataDir = tempDir();
    const created = await runCli([
      'server',
      'key',
      'create',
      '--data',
      dataDir,
      '--workspace',
      'w',
      '--scope',
      'read',
    ]);
    const key = created.stdout.trim();
    const server = await startCliServer(dataDir);
    assert.equal(
      (await fetch(`${server.url}/api/v1/server`, { headers: { authorization: `Bearer ${key}` } })).status,
      200,
    );
    const revoked = await runCli(['server', 'key', 'revoke', '--data', dataDir, key]);
    assert.equal(revoked.code, 0, describeResult(revoked));
    assert.equal(
      (await fetch(`${server.url}/api/v1/server`, { headers: { authorization: `Bearer ${key}` } })).status,
      401,
    );
    server.proc.kill('SIGINT');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
  });

  test('errors: missing --data is a usage error, unknown key and bad workspace exit 1 with a code', async () => {
    const dataDir = tempDir();
    const noData = await runCli(['server', 'key', 'create', '--workspace', 'w']);
    assert.equal(noData.code, 2, describeResult(noData));
    assert.match(noData.stderr, /--data/);
    const unknown = await runCli(['server', 'key', 'revoke', '--data', dataDir, 'nope']);
    assert.equal(unknown.code, 1, describeResult(unknown));
    assert.match(unknown.stderr, /^error\[NOT_FOUND\]/m);
    const badWs = await runCli(['server', 'key', 'create', '--data', dataDir, '--workspace', 'a b']);
    assert.equal(badWs.code, 1, describeResult(badWs));
    assert.match(badWs.stderr, /^error\[INVALID_OPTION\]/m);
    const badScope = await runCli([
      'server',
      'key',
      'create',
      '--data',
      dataDir,
      '--workspace',
      'w',
      '--scope',
      'admin',
    ]);
    assert.equal(badScope.code, 2, describeResult(badScope));
    const badPort = await runCli(['server', '--data', dataDir, '--port', 'abc']);
    assert.equal(badPort.code, 1, describeResult(badPort));
    assert.match(badPort.stderr, /^error\[INVALID_OPTION\]/m);
  });

  test('--help of server and server key describe their commands', async () => {
    const help = await runCli(['server', '--help']);
    assert.equal(help.code, 0, describeResult(help));
    assert.match(help.stdout, /^Usage: swanlog server /m);
    assert.match(help.stdout, /--data <dir>/);
    assert.match(help.stdout, /--public-url <url>/);
    assert.match(help.stdout, /^\s+key\b/m);
    const keyHelp = await runCli(['server', 'key', '--help']);
    assert.equal(keyHelp.code, 0, describeResult(keyHelp));
    for (const sub of ['create', 'revoke', 'list'])
      assert.match(keyHelp.stdout, new RegExp(`^\\s+${sub}\\b`, 'm'));
    const createHelp = await runCli(['server', 'key', 'create', '--help']);
    assert.match(createHelp.stdout, /--workspace <ws>/);
    assert.match(createHelp.stdout, /--scope <scope>/);
  });

  test('--database: a URL that is not postgres://, one that refuses, or both --data and --database', async () => {
    const notPg = await runCli(['server', '--database', 'mysql://db/x', '--port', '0']);
    assert.equal(notPg.code, 1, describeResult(notPg));
    assert.match(
      notPg.stderr,
      /^error\[INVALID_OPTION\]: database "mysql:\/\/db\/x" is not a postgres:\/\/ URL/m,
    );
    const refused = await runCli([
      'server',
      'key',
      'list',
      '--database',
      'postgres://u:secret@127.0.0.1:1/x',
    ]);
    assert.equal(refused.code, 1, describeResult(refused));
    assert.match(
      refused.stderr,
      /^error\[SERVER_ERROR\]: cannot open the server database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/m,
    );
    assert.ok(!refused.stderr.includes('secret'), 'the password is never printed');
    const both = await runCli(['server', '--data', tempDir(), '--database', 'postgres://a@b/c']);
    assert.equal(both.code, 2, describeResult(both));
    assert.match(both.stderr, /give --data <dir> or --database <url>, not both/);
    // SWANLOG_DATABASE_URL from the environment yields to an explicit --data.
    const dataDir = tempDir();
    const listed = await runCli(['server', 'key', 'list', '--data', dataDir], {
      env: { SWANLOG_DATABASE_URL: 'postgres://a@127.0.0.1:1/c' },
    });
    assert.equal(listed.code, 0, describeResult(listed));
    assert.equal(listed.stdout, 'no API keys\n');
  });
});
