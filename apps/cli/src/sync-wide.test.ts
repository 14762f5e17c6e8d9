import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_BATCH_HEADER_BYTES } from '@swanlog/protocol';
import { init } from 'swanlog';
import { describeResult, runCli, type TempDir, tempDir } from './test-support/cli.js';
import {
  localSeries,
  type SyncServer,
  serverSeries,
  startSyncServer,
  syncEnv,
} from './test-support/sync-server.js';

// The server refuses a batch header over MAX_BATCH_HEADER_BYTES (hostile headers stalled it);
// a wide run, many keys with long names and a few points each, makes one small chunk per key
// per flush, so its batches are cut by header bytes: every one must be a batch the server takes.

let server: SyncServer;
let tmp: TempDir;
before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-sync-wide-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

const KEYS = 20_000;
const STEPS = 3;

test(`a run of ${KEYS} long-named keys × ${STEPS} steps syncs completely within the header limit`, async () => {
  const keys = Array.from({ length: KEYS }, (_, i) => `layers/${i}/${'weights_histogram_'.repeat(11)}norm`);
  // Every log call's chunk entries alone are over half the limit: no two fit in one batch.
  const entry = 40 + JSON.stringify(keys[0]).length;
  assert.ok(KEYS * entry > MAX_BATCH_HEADER_BYTES / 2);
  const run = await init({ logdir: join(tmp.path, 'wide'), project: 'wide', flushInterval: 3_600_000 });
  for (let step = 0; step < STEPS; step++) {
    const data: Record<string, number> = {};
    keys.forEach((k, i) => {
      data[k] = step + i / KEYS;
    });
    run.log(data, step);
    run.flush(); // one chunk per key per step
  }
  await run.finish();

  const r = await runCli(['sync', '--json', run.dir!], { env: syncEnv(server) });
  assert.equal(r.code, 0, describeResult(r));
  const [entry0] = JSON.parse(r.stdout) as {
    experimentId: string;
    complete: boolean;
    uploaded: { points: number };
  }[];
  assert.equal(entry0!.complete, true);
  assert.equal(entry0!.uploaded.points, KEYS * STEPS);
  const local = localSeries(run.dir!);
  assert.equal(Object.keys(local).length, KEYS);
  assert.deepEqual(await serverSeries(server.client, entry0!.experimentId), local);
});
