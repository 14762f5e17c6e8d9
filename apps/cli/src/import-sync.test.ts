// `swanlog sync` of a TensorBoard log directory, W&B runs or SwanLab folders: imported into
// --logdir, then synced; the server knows each run's origin.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeSwanlabFile, type SwanlabTestRecord } from '@swanlog/import';
import { describeResult, hashTree, REPO_ROOT, runCli, type TempDir, tempDir } from './test-support/cli.js';
import {
  localSeries,
  type SyncServer,
  serverSeries,
  startSyncServer,
  syncEnv,
  writeRun,
} from './test-support/sync-server.js';

interface Entry {
  dir: string;
  runId?: string;
  action?: string;
  experimentId?: string;
  uploaded?: { points: number; superseded: number };
  error?: { code: string; message: string };
}

let server: SyncServer;
let tmp: TempDir;
before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-import-sync-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

describe('swanlog sync <TensorBoard dir>', () => {
  test('imports into --logdir, syncs every run with its origin; again: nothing new', async () => {
    const runs = join(tmp.path, 'runs');
    cpSync(join(REPO_ROOT, 'swanlog-fixtures', 'tensorboard', 'runs'), runs, { recursive: true });
    const logdir = join(tmp.path, 'swanlog');
    const r = await runCli(['sync', runs, '--logdir', logdir, '--json'], { env: syncEnv(server) });
    assert.equal(r.code, 0, describeResult(r));
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.equal(entries.length, 7, describeResult(r));
    for (const e of entries) {
      assert.equal(e.error, undefined, JSON.stringify(e));
      assert.equal(e.action, 'created');
      assert.ok(e.dir.startsWith(`${logdir}/`), e.dir);
      assert.deepEqual(await serverSeries(server.client, e.experimentId!), localSeries(e.dir));
    }
    const purge = entries.find((e) => e.runId === 'torch-purge')!;
    const exp = await server.client.getExperiment(purge.experimentId!);
    assert.deepEqual(exp.source, { kind: 'tensorboard', path: join(runs, 'torch-purge'), id: 'torch-purge' });

    const again = await runCli(['sync', runs, '--logdir', logdir, '--json'], { env: syncEnv(server) });
    assert.equal(again.code, 0, describeResult(again));
    assert.deepEqual(
      (JSON.parse(again.stdout) as Entry[]).map((e) => [e.runId, e.action, e.uploaded?.points]),
      entries.map((e) => [e.runId, 'up-to-date', 0]),
    );
  });

  test('swanlog sync ./wandb: the W&B runs are imported and synced, the step offset in the origin', async () => {
    const wandb = join(tmp.path, 'wandb');
    cpSync(join(REPO_ROOT, 'swanlog-fixtures', 'wandb', 'wandb'), wandb, {
      recursive: true,
      verbatimSymlinks: true,
    });
    const logdir = join(tmp.path, 'wandb-logs');
    const r = await runCli(['sync', wandb, '--logdir', logdir, '--json'], { env: syncEnv(server) });
    assert.equal(r.code, 0, describeResult(r));
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.deepEqual(entries.map((e) => e.runId).sort(), ['cont0001', 'cont0002', 'nested01']);
    for (const e of entries)
      assert.deepEqual(await serverSeries(server.client, e.experimentId!), localSeries(e.dir));
    const cont = await server.client.getExperiment(
      entries.find((e) => e.runId === 'cont0001')!.experimentId!,
    );
    assert.equal(cont.source?.kind, 'wandb');
    assert.deepEqual(Object.values(cont.source?.stepOffsets ?? {}), [5]);
    assert.equal(cont.project, 'fixtures');
  });
});

/** A SwanLab run folder under `logdir` (files/config.yaml beside the run file); returns the run file. */
function swanlabFolder(
  logdir: string,
  stamp: string,
  id: string,
  from: number,
  to: number,
  t0: number,
): string {
  const dir = join(logdir, `run-${stamp}-${id}`);
  mkdirSync(join(dir, 'files'), { recursive: true });
  const records: SwanlabTestRecord[] = [
    { kind: 'start', id, project: 'swanlab-proj', name: `exp-${id}`, time: t0 },
  ];
  for (let step = from; step < to; step++) {
    records.push({ kind: 'scalar', key: 'loss', step, time: t0 + step * 1000, value: 1 / (step + 1) });
  }
  records.push({ kind: 'finish', state: 'finished', time: t0 + to * 1000 });
  const file = join(dir, `run-${id}.swanlab`);
  writeFileSync(file, encodeSwanlabFile(records));
  writeFileSync(join(dir, 'files', 'config.yaml'), 'lr:\n  value: 0.01\n  desc: null\n  sort: 0\n');
  return file;
}

describe('swanlog sync ./swanlog holding SwanLab folders beside swanlog runs', () => {
  test('the SwanLab runs are imported beside them and everything syncs once; again: nothing new; originals unchanged', async () => {
    const cwd = join(tmp.path, 'project');
    const logdir = join(cwd, 'swanlog');
    const own = await writeRun({ logdir, steps: 20 });
    const t0 = Date.UTC(2026, 0, 5, 9, 0, 0);
    swanlabFolder(logdir, '20260105_090000', 'sl0resumed', 0, 10, t0);
    swanlabFolder(logdir, '20260105_100000', 'sl0resumed', 8, 15, t0 + 3_600_000);
    swanlabFolder(logdir, '20260106_090000', 'sl0single', 0, 5, t0 + 86_400_000);
    const originals = hashTree(join(logdir));
    const swanlabOnly = (h: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(h).filter(([k]) => k.includes('.swanlab') || k.includes('config.yaml')),
      );

    const r = await runCli(['sync', 'swanlog', '--json'], { env: syncEnv(server), cwd });
    assert.equal(r.code, 0, describeResult(r));
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.deepEqual(
      entries.map((e) => e.runId).sort(),
      [own.id, 'sl0resumed', 'sl0single'].sort(),
      describeResult(r),
    );
    for (const e of entries) {
      assert.equal(e.error, undefined, JSON.stringify(e));
      assert.ok(e.dir.startsWith(`${logdir}/`), e.dir);
      assert.deepEqual(await serverSeries(server.client, e.experimentId!), localSeries(e.dir));
    }
    const resumed = entries.find((e) => e.runId === 'sl0resumed')!;
    assert.equal(resumed.uploaded?.points, 17, '10 + 7 points, steps 8-9 written again');
    const exp = await server.client.getExperiment(resumed.experimentId!);
    assert.equal(exp.source?.kind, 'swanlab');
    assert.equal(exp.project, 'swanlab-proj');
    assert.deepEqual(swanlabOnly(hashTree(logdir)), swanlabOnly(originals), 'SwanLab files untouched');

    const again = await runCli(['sync', 'swanlog', '--json'], { env: syncEnv(server), cwd });
    assert.equal(again.code, 0, describeResult(again));
    assert.deepEqual(
      (JSON.parse(again.stdout) as Entry[]).map((e) => [e.runId, e.action, e.uploaded?.points]).sort(),
      entries.map((e) => [e.runId, 'up-to-date', 0]).sort(),
    );

    const ls = await runCli(['ls', 'swanlog', '--json'], { cwd });
    const listed = JSON.parse(ls.stdout) as { kind?: string; id: string; importedAs?: string | null }[];
    assert.deepEqual(
      listed.filter((x) => x.kind === 'swanlab').map((x) => [x.id, x.importedAs]),
      [
        ['sl0resumed', 'sl0resumed'],
        ['sl0resumed', 'sl0resumed'],
        ['sl0single', 'sl0single'],
      ],
    );
  });

  test('a single .swanlab file is taken directly', async () => {
    const src = join(tmp.path, 'one-file');
    const file = swanlabFolder(src, '20260107_090000', 'sl0file', 0, 3, Date.UTC(2026, 0, 7));
    const logdir = join(tmp.path, 'one-file-logs');
    const r = await runCli(['sync', file, '--logdir', logdir, '--json'], { env: syncEnv(server) });
    assert.equal(r.code, 0, describeResult(r));
    const [e] = JSON.parse(r.stdout) as Entry[];
    assert.equal(e?.runId, 'sl0file');
    assert.equal(e?.uploaded?.points, 3);
  });
});
