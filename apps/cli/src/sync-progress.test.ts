import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_BIN, tempDir } from './test-support/cli.js';
import { type SyncServer, startSyncServer, writeRun } from './test-support/sync-server.js';

/** Runs `command` under script(1), so it writes to a real pseudo-terminal; resolves with the transcript. */
function underTerminal(command: string, transcript: string, env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((done) => {
    const child = spawn('script', ['-q', '-e', '-c', command, transcript], {
      env,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    child.on('close', done);
  });
}

describe('swanlog sync progress', () => {
  const tmp = tempDir();
  let server: SyncServer;
  before(async () => {
    server = await startSyncServer();
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('draws a progress bar on a terminal, and none when stderr is not one', async () => {
    const run = await writeRun({ logdir: join(tmp.path, 'logs'), steps: 20_000 });
    const env = {
      PATH: process.env.PATH ?? '',
      SWANLOG_HOST: server.url,
      SWANLOG_API_KEY: server.key,
      SWANLOG_SYNC_BATCH_POINTS: '5000',
    };
    const transcript = join(tmp.path, 'tty.log');
    const code = await underTerminal(`${process.execPath} ${CLI_BIN} sync ${run.dir}`, transcript, env);
    assert.equal(code, 0);
    const screen = readFileSync(transcript, 'utf8');
    assert.match(screen, /\d+% \| \d+\/60000 points/, 'a bar with the points to upload');
    assert.match(screen, /created\s+exp/);

    const piped = spawn(process.execPath, [CLI_BIN, 'sync', '--new', run.dir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    piped.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const pipedCode = await new Promise((done) => piped.on('close', done));
    assert.equal(pipedCode, 0);
    assert.doesNotMatch(stderr, /points \|/, 'no bar when stderr is a pipe');
  });
});
