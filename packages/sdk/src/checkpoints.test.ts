import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RunReader } from '@swanlog/store';
import {
  checkpointFileName,
  init,
  latestCheckpoint,
  listCheckpoints,
  resumeFromCheckpoint,
} from './index.js';
import { tempDir } from './test-support/temp-dir.js';

const tmp = tempDir('swanlog-ckpt-');
after(() => tmp.remove());
let n = 0;
const fresh = () => {
  const base = join(tmp.path, `case-${n++}`);
  return { logdir: join(base, 'swanlog'), ckptDir: join(base, 'checkpoints') };
};
const child = new URL('./test-support/checkpoint-child.js', import.meta.url).pathname;

/** Runs the checkpoint child until `until(event)` holds, then SIGKILLs it; resolves with its events. */
function runChild(options: Record<string, unknown>, until: (e: Record<string, unknown>) => boolean) {
  return new Promise<Record<string, unknown>[]>((done, fail) => {
    const proc = spawn(process.execPath, [child, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const events: Record<string, unknown>[] = [];
    let pending = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      fail(new Error(`child never reached the awaited event: ${JSON.stringify(events)}`));
    }, 30_000);
    proc.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        const e = JSON.parse(pending.slice(0, nl)) as Record<string, unknown>;
        pending = pending.slice(nl + 1);
        events.push(e);
        if (until(e)) proc.kill('SIGKILL');
      }
    });
    proc.on('exit', () => {
      clearTimeout(timer);
      done(events);
    });
  });
}

describe('checkpoints', () => {
  it('save() writes a file named by step holding the run id and step; latest and list find it; read() gives the data back', async () => {
    const { logdir, ckptDir } = fresh();
    const run = await init({ project: 'p', logdir });
    const ckpts = run.checkpoints({ dir: ckptDir });
    run.log({ loss: 1 }, 0);
    const bytes = Buffer.from(new Float64Array([1.5, Number.NaN, -0, 1e-300]).buffer);
    await ckpts.save(0, { epoch: 0, lr: 0.01 });
    await ckpts.save(1, bytes);
    await run.finish();
    assert.deepEqual(readdirSync(ckptDir).sort(), [checkpointFileName(0), checkpointFileName(1)]);
    const latest = await latestCheckpoint(ckptDir);
    assert.equal(latest?.step, 1);
    assert.equal(latest?.runId, run.id);
    assert.equal(latest?.kind, 'bytes');
    assert.deepEqual(await latest?.read(), bytes);
    const all = await listCheckpoints(ckptDir);
    assert.deepEqual(
      all.map((c) => [c.step, c.kind]),
      [
        [0, 'json'],
        [1, 'bytes'],
      ],
    );
    assert.deepEqual(await all[0]?.read(), { epoch: 0, lr: 0.01 });
  });

  it('orders by step past 999 and past 10^9 (names sort, steps compare as numbers)', async () => {
    const { logdir, ckptDir } = fresh();
    const run = await init({ project: 'p', logdir });
    const ckpts = run.checkpoints({ dir: ckptDir });
    for (const step of [5, 999, 1000, 12_345, 1_000_000_001]) await ckpts.save(step, { step });
    await run.finish();
    assert.deepEqual(
      (await listCheckpoints(ckptDir)).map((c) => c.step),
      [5, 999, 1000, 12_345, 1_000_000_001],
    );
    assert.equal((await latestCheckpoint(ckptDir))?.step, 1_000_000_001);
  });

  it('keep prunes the oldest after each save', async () => {
    const { logdir, ckptDir } = fresh();
    const run = await init({ project: 'p', logdir });
    const ckpts = run.checkpoints({ dir: ckptDir, keep: 2 });
    for (let step = 0; step < 6; step++) await ckpts.save(step, { step });
    await run.finish();
    assert.deepEqual(
      (await listCheckpoints(ckptDir)).map((c) => c.step),
      [4, 5],
    );
    assert.throws(() => run.checkpoints({ dir: ckptDir, keep: 0 }), { code: 'INVALID_OPTION' });
  });

  it('torn, truncated and corrupt files are skipped and reported; the previous one is the latest', async () => {
    const { logdir, ckptDir } = fresh();
    const run = await init({ project: 'p', logdir });
    const ckpts = run.checkpoints({ dir: ckptDir });
    await ckpts.save(1, { good: 1 });
    const flipped = await ckpts.save(2, Buffer.alloc(4096, 7));
    const cut = await ckpts.save(3, Buffer.alloc(4096, 8));
    await run.finish();
    const b = readFileSync(flipped.path);
    b[100] = (b[100] ?? 0) ^ 1;
    writeFileSync(flipped.path, b);
    truncateSync(cut.path, 2000);
    writeFileSync(join(ckptDir, checkpointFileName(4)), 'not a checkpoint');
    writeFileSync(join(ckptDir, checkpointFileName(5)), '');
    const skipped: string[] = [];
    const latest = await latestCheckpoint(ckptDir, {
      onSkipped: (path, reason) => skipped.push(`${path}: ${reason}`),
    });
    assert.equal(latest?.step, 1);
    assert.deepEqual(await latest?.read(), { good: 1 });
    assert.equal(skipped.length, 4, skipped.join('\n'));
    assert.ok(skipped.some((s) => s.includes(checkpointFileName(2)) && /checksum/.test(s)));
    const listed = await listCheckpoints(ckptDir, { onSkipped: () => {} });
    assert.deepEqual(
      listed.map((c) => c.step),
      [1],
    );
    await assert.rejects(flipped.read(), { code: 'CHECKPOINT_CORRUPT' });
  });

  it('SIGKILL in the middle of a save leaves the previous checkpoint the latest, and no partial file counts', async () => {
    const { logdir, ckptDir } = fresh();
    const events = await runChild(
      { logdir, ckptDir, steps: 10, every: 2, slowSaveAt: 5 },
      (e) => e.event === 'writing',
    );
    assert.ok(
      events.some((e) => e.event === 'writing'),
      'the kill landed inside the slow save',
    );
    const latest = await latestCheckpoint(ckptDir);
    assert.equal(latest?.step, 3, 'step 5 was being written: step 3 is still the latest');
    assert.deepEqual(await latest?.read(), { step: 3, weights: [3, 4] });
    assert.ok(!readdirSync(ckptDir).includes(checkpointFileName(5)), 'no file by the final name');
  });

  it('save() makes every metric logged before it durable: SIGKILL right after a save loses none up to its step', async () => {
    const { logdir, ckptDir } = fresh();
    const events = await runChild(
      { logdir, ckptDir, steps: 40, every: 20, flushInterval: 3_600_000 },
      (e) => e.event === 'saved' && e.step === 19,
    );
    const saved = events.find((e) => e.event === 'saved');
    assert.equal(saved?.flushedThrough, saved?.logged);
    const dir = readdirSync(logdir).find((d) => d.startsWith('run-'))!;
    const reader = RunReader.open(join(logdir, dir));
    const series = reader.series('loss');
    reader.close();
    assert.deepEqual(
      Array.from(series.steps).slice(0, 20),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('resumeFromCheckpoint: the same run rewound to the checkpoint; what was logged after it is superseded, not duplicated', async () => {
    const { logdir, ckptDir } = fresh();
    const events = await runChild({ logdir, ckptDir, steps: 9, every: 4 }, (e) => e.event === 'done');
    const id = events[0]?.id as string;
    const { run, checkpoint } = await resumeFromCheckpoint(ckptDir, { project: 'ckpt', logdir });
    assert.equal(checkpoint?.step, 7);
    assert.equal(run.id, id);
    assert.equal(run.step, 8);
    run.log({ loss: -8 });
    await run.finish();
    const reader = RunReader.open(run.dir!);
    const visible = reader.series('loss');
    const all = reader.series('loss', { superseded: true });
    reader.close();
    assert.deepEqual(Array.from(visible.steps), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(visible.values[8], -8);
    assert.equal(
      Array.from(all.superseded ?? []).filter((s) => s === 1).length,
      1,
      'the first step 8 is superseded',
    );
  });

  it('resumeFromCheckpoint without a checkpoint starts a fresh run', async () => {
    const { logdir, ckptDir } = fresh();
    const { run, checkpoint } = await resumeFromCheckpoint(ckptDir, { project: 'p', logdir });
    assert.equal(checkpoint, undefined);
    assert.equal(run.step, 0);
    assert.equal(run.resumed, false);
    await run.finish();
  });
});
