// The second half of `pnpm demo`: an embedded swanlog server (temporary data directory), the
// demo run synced to it (twice: the second sync uploads nothing), the read API, and the
// copy-then-resume workflow: `swanlog sync --new` makes a copy on the server, and a training job
// on "another machine" (a fresh logdir) resumes the copy in cloud mode by its id.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../cli/bin/swanlog.js', import.meta.url).pathname;

export interface TourOptions {
  runDir: string;
  runId: string;
  /** Runs the trainer with extra arguments and environment; resolves when it exits 0. */
  train: (args: string[], env: NodeJS.ProcessEnv) => Promise<string>;
  say: (text: string) => void;
}

export async function serverTour(options: TourOptions): Promise<void> {
  const { say } = options;
  const data = mkdtempSync(join(tmpdir(), 'swanlog-demo-server-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'swanlog-demo-other-machine-'));
  const server = spawn(process.execPath, [cli, 'server', '--data', data, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await listeningUrl(server);
    say(`5. an embedded swanlog server listens on ${url} (data in ${data})`);
    const key = swanlog([
      'server',
      'key',
      'create',
      '--data',
      data,
      '--workspace',
      'demo',
      '--scope',
      'write',
    ]).trim();
    const env = { ...process.env, SWANLOG_HOST: url, SWANLOG_API_KEY: key };
    process.stdout.write(`  API key for workspace demo: ${key.slice(0, 8)}… (swanlog server key create)\n`);

    say(`6. swanlog sync ${options.runDir}`);
    process.stdout.write(indent(swanlog(['sync', options.runDir], env)));
    say('7. the same sync again: nothing is uploaded twice');
    process.stdout.write(indent(swanlog(['sync', options.runDir], env)));

    say('8. the read API');
    const headers = { authorization: `Bearer ${key}` };
    const exp = (await (
      await fetch(`${url}/api/v1/experiments/${options.runId}`, { headers })
    ).json()) as Record<string, unknown>;
    const { config: _config, ...shown } = exp;
    process.stdout.write(`  GET /api/v1/experiments/${options.runId}\n  ${JSON.stringify(shown)}\n`);
    const metrics = (await (
      await fetch(
        `${url}/api/v1/experiments/${options.runId}/metrics/${encodeURIComponent('train/loss')}?maxPoints=6`,
        {
          headers,
        },
      )
    ).json()) as { points: unknown[]; total: number; downsampled: boolean };
    process.stdout.write(
      `  GET .../metrics/train%2Floss?maxPoints=6 → ${metrics.points.length} of ${metrics.total} points (downsampled: ${metrics.downsampled}, extremes kept)\n` +
        `  ${JSON.stringify(metrics.points.slice(0, 3))} …\n`,
    );

    say('9. copy, then resume the copy on another machine: the original is never touched');
    const copied = JSON.parse(swanlog(['sync', '--new', options.runDir, '--json'], env)) as {
      experimentId: string;
    }[];
    const copyId = copied[0]!.experimentId;
    process.stdout.write(`  swanlog sync --new → copy ${copyId}\n`);
    await options.train(
      ['--mode', 'cloud', '--continue', copyId, '--logdir', elsewhere, '--steps', '350'],
      env,
    );
    for (const id of [options.runId, copyId]) {
      const e = (await (await fetch(`${url}/api/v1/experiments/${id}`, { headers })).json()) as Record<
        string,
        unknown
      >;
      process.stdout.write(
        `  ${id === copyId ? 'copy    ' : 'original'} ${id}: state ${e.state}, last step ${e.lastStep}${e.copiedFrom ? `, copied from ${e.copiedFrom}` : ''}\n` +
          `           ${url}/api/v1/experiments/${id}\n`,
      );
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((done) => server.once('exit', done));
    rmSync(data, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  }
}

function swanlog(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(process.execPath, [cli, ...args], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `  ${l}\n`)
    .join('');
}

function listeningUrl(server: ChildProcess): Promise<string> {
  return new Promise((done, fail) => {
    let out = '';
    server.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) done(m[1]!);
    });
    server.once('exit', (code) =>
      fail(new Error(`swanlog server exited (${code}) before listening: ${out}`)),
    );
  });
}
