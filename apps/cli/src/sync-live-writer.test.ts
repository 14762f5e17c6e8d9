import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeResult, type TempDir, tempDir } from './test-support/cli.js';
import {
  localSeries,
  type SyncServer,
  serverSeries,
  startCli,
  startSyncServer,
  syncEnv,
} from './test-support/sync-server.js';

// A sync reads a writer file as one snapshot. In WAL mode it holds that read transaction open and
// reads each chunk's bytes only when its batch is built, while the writer goes on flushing and
// merging its small chunks (rows it replaces vanish from newer snapshots, never from this one).
// In rollback-journal mode (SWANLOG_NO_WAL=1) it reads the rows and the first batch's chunks, then
// every other chunk at once as that batch goes up, and ends its read (the writer waits meanwhile).
// Either way: what one sync uploads is exact, the next sync brings the rest, and nothing is doubled.

const BUSY_RUN = fileURLToPath(new URL('./test-support/busy-run.js', import.meta.url));

let server: SyncServer;
let tmp: TempDir;
before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-sync-live-writer-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

/** Starts the busy writer; resolves once it logged `prefill` steps and keeps writing. */
async function startBusyRun(logdir: string, id: string, env: NodeJS.ProcessEnv) {
  const proc = spawn(process.execPath, [BUSY_RUN, JSON.stringify({ logdir, id, keys: 5, prefill: 40_000 })], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  let wake = () => {};
  let buf = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let at = buf.indexOf('\n'); at >= 0; at = buf.indexOf('\n')) {
      lines.push(buf.slice(0, at));
      buf = buf.slice(at + 1);
      wake();
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  const nextLine = async () => {
    while (lines.length === 0) {
      if (proc.exitCode !== null) throw new Error(`busy run exited ${proc.exitCode} early`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 200);
      });
    }
    return JSON.parse(lines.shift()!) as { dir: string; steps: number };
  };
  const { dir } = await nextLine();
  return {
    dir,
    /** Stops the writer if it still runs (a failed test must not leave it writing). */
    stop: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
    /** SIGTERM: the writer finishes the run; answers the steps it logged. */
    finish: async () => {
      proc.kill('SIGTERM');
      const { steps } = await nextLine();
      assert.equal(await exited, 0);
      return steps;
    },
  };
}

describe('sync of a run whose writer keeps flushing and merging', () => {
  for (const mode of ['WAL (snapshot held, chunks read per batch)', 'SWANLOG_NO_WAL=1 (read staged)']) {
    const noWal = mode.startsWith('SWANLOG_NO_WAL');
    test(`${mode}: each sync uploads exactly what it saw; after the writer finishes, the next completes it`, async (t) => {
      const id = noWal ? 'busy-nowal' : 'busy-wal';
      const env: Record<string, string> = noWal ? { SWANLOG_NO_WAL: '1' } : {};
      const run = await startBusyRun(join(tmp.path, id), id, env);
      t.after(run.stop);
      // Small batches: the upload takes many requests while the writer flushes every 2 ms.
      const cliEnv = syncEnv(server, { SWANLOG_SYNC_BATCH_POINTS: '3000', ...env });
      for (let round = 0; round < 2; round++) {
        const r = await startCli(['sync', '--json', run.dir], cliEnv).result;
        assert.equal(r.code, 0, describeResult(r));
        const [entry] = JSON.parse(r.stdout) as { uploaded: { points: number }; complete: boolean }[];
        assert.ok(entry!.uploaded.points > 0, r.stdout);
        assert.equal(entry!.complete, false, 'the run is still being written');
      }
      const steps = await run.finish();
      const last = await startCli(['sync', '--json', run.dir], cliEnv).result;
      assert.equal(last.code, 0, describeResult(last));
      assert.equal((JSON.parse(last.stdout) as { complete: boolean }[])[0]!.complete, true, last.stdout);
      const local = localSeries(run.dir);
      assert.equal(local.k0!.length, steps, 'the writer lost nothing');
      assert.deepEqual(await serverSeries(server.client, id), local);
    });
  }
});
