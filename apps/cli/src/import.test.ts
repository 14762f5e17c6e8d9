import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { encodeSwanlabFile, type SwanlabTestRecord } from '@swanlog/import';
import { CLI_BIN, cliEnv, describeResult, hasStack, REPO_ROOT, runCli, tempDir } from './test-support/cli.js';

const TB_RUNS = join(REPO_ROOT, 'swanlog-fixtures', 'tensorboard', 'runs');
const tmp = tempDir();
after(() => tmp.remove());

interface ImportJson {
  source: string;
  kind: string | null;
  id: string | null;
  sourceId: string | null;
  derivedId: boolean;
  dir: string | null;
  action: 'created' | 'appended' | 'up-to-date' | null;
  points: number;
  superseded: number;
  sessions: number;
  skipped: Record<string, number>;
  error?: { code: string; message: string; hint?: string };
}

function copyRuns(name: string): string {
  const to = join(tmp.path, name);
  cpSync(TB_RUNS, to, { recursive: true });
  return to;
}

describe('swanlog import', () => {
  test('--json: one element per source with action, points, superseded, skipped; again: up-to-date', async () => {
    const runs = copyRuns('json');
    const logdir = join(tmp.path, 'json-logs');
    const r = await runCli(['import', runs, '--logdir', logdir, '--json']);
    assert.equal(r.code, 0, describeResult(r));
    const first = JSON.parse(r.stdout) as ImportJson[];
    assert.equal(first.length, 7);
    const purge = first.find((e) => e.sourceId === 'torch-purge')!;
    assert.deepEqual(
      { ...purge, dir: undefined },
      {
        source: join(runs, 'torch-purge'),
        kind: 'tensorboard',
        id: 'torch-purge',
        sourceId: 'torch-purge',
        derivedId: false,
        dir: undefined,
        action: 'created',
        points: 29,
        superseded: 11,
        sessions: 2,
        skipped: { histogram: 1, image: 1, text: 1 },
      },
    );
    const again = await runCli(['import', runs, '--logdir', logdir, '--json']);
    assert.equal(again.code, 0, describeResult(again));
    const second = JSON.parse(again.stdout) as ImportJson[];
    assert.deepEqual(
      second.map((e) => [e.id, e.action, e.points]),
      first.map((e) => [e.id, 'up-to-date', 0]),
    );
  });

  test('show names the origin of an imported run', async () => {
    const runs = copyRuns('show');
    const logdir = join(tmp.path, 'show-logs');
    await runCli(['import', join(runs, 'tbx'), '--logdir', logdir]);
    const shown = await runCli(['show', 'tbx', '--logdir', logdir, '--json']);
    assert.equal(shown.code, 0, describeResult(shown));
    assert.deepEqual(JSON.parse(shown.stdout).source, {
      kind: 'tensorboard',
      path: join(runs, 'tbx'),
      id: 'tbx',
    });
    const text = await runCli(['show', 'tbx', '--logdir', logdir]);
    assert.match(text.stdout, new RegExp(`imported   from tensorboard run tbx \\(${join(runs, 'tbx')}\\)`));
  });

  test('a file that cannot be read: error[SOURCE_CORRUPT] naming it, the other runs imported, exit 1', async () => {
    const runs = copyRuns('bad');
    const dir = join(runs, 'tf1-restart');
    const file = join(dir, readdirSync(dir)[0]!);
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0x40; // the first record's length
    writeFileSync(file, bytes);
    const logdir = join(tmp.path, 'bad-logs');
    const r = await runCli(['import', runs, '--logdir', logdir]);
    assert.equal(r.code, 1, describeResult(r));
    assert.ok(!hasStack(r.stderr), describeResult(r));
    assert.match(
      r.stderr,
      new RegExp(`^failed +tensorboard tf1-restart .*error\\[SOURCE_CORRUPT\\]: ${file}: `, 'm'),
    );
    assert.equal(r.stdout.match(/^created /gm)?.length, 6, describeResult(r));

    const json = await runCli(['import', runs, join(tmp.path, 'missing'), '--logdir', logdir, '--json']);
    assert.equal(json.code, 1);
    const entries = JSON.parse(json.stdout) as ImportJson[];
    assert.equal(entries.find((e) => e.sourceId === 'tf1-restart')?.error?.code, 'SOURCE_CORRUPT');
    assert.deepEqual(entries.at(-1), {
      source: join(tmp.path, 'missing'),
      kind: null,
      id: null,
      sourceId: null,
      derivedId: false,
      dir: null,
      action: null,
      points: 0,
      superseded: 0,
      sessions: 0,
      skipped: {},
      error: {
        code: 'NOT_FOUND',
        message: `${join(tmp.path, 'missing')} does not exist`,
        hint: 'pass a TensorBoard log directory or event file, or a W&B directory (./wandb)',
      },
    });
  });

  test('export --format tfevents writes an event file that imports back to the same series; no --out is a usage error', async () => {
    const runs = copyRuns('export');
    const logdir = join(tmp.path, 'export-logs');
    await runCli(['import', join(runs, 'tbx'), '--logdir', logdir]);
    const out = join(tmp.path, 'tb-out', 'tbx');
    const r = await runCli(['export', 'tbx', '--logdir', logdir, '--format', 'tfevents', '--out', out]);
    assert.equal(r.code, 0, describeResult(r));
    assert.match(
      r.stdout,
      new RegExp(`^wrote 12 points to ${out}/events\\.out\\.tfevents\\.\\d+\\.swanlog$`, 'm'),
    );
    const back = await runCli(['import', out, '--logdir', join(tmp.path, 'back'), '--json']);
    const [entry] = JSON.parse(back.stdout) as ImportJson[];
    const a = await runCli(['export', 'tbx', '--logdir', logdir]);
    const b = await runCli(['export', entry!.id!, '--logdir', join(tmp.path, 'back')]);
    assert.equal(b.stdout, a.stdout);

    const noOut = await runCli(['export', 'tbx', '--logdir', logdir, '--format', 'tfevents']);
    assert.equal(noOut.code, 1);
    assert.match(
      noOut.stderr,
      /^error\[INVALID_OPTION\]: --format tfevents writes a directory: --out <dir> is missing$/m,
    );
  });

  test('--watch follows a growing event file until SIGTERM, then exits 0', async () => {
    const runs = copyRuns('watch');
    const dir = join(runs, 'tf1-restart');
    const file = join(dir, readdirSync(dir)[0]!);
    const full = readFileSync(file);
    truncateSync(file, 200); // a job that has written its first records (the last one torn)
    const logdir = join(tmp.path, 'watch-logs');
    const proc = spawn(process.execPath, [CLI_BIN, 'import', dir, '--logdir', logdir, '--watch'], {
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    const closed = new Promise<number | null>((done) => proc.on('close', (code) => done(code)));
    const until = async (re: RegExp) => {
      // Bounded generously: the behaviour asked for is "follows", not a speed.
      for (let i = 0; i < 600 && !re.test(stdout); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(stdout, re);
    };
    try {
      await until(/^created +tensorboard tf1-restart/m);
      appendFileSync(file, full.subarray(200));
      await until(/^appended +tensorboard tf1-restart .* 2\d points/m);
    } finally {
      proc.kill('SIGTERM');
    }
    assert.equal(await closed, 0);
    const shown = await runCli(['show', 'tf1-restart', '--logdir', logdir, '--json']);
    assert.equal(JSON.parse(shown.stdout).keys.loss.count, 12); // steps 0-11, as TensorBoard shows them
  });

  test('--watch follows a SwanLab run logging into ./swanlog, its swanlog run imported beside it', async () => {
    const cwd = join(tmp.path, 'swanlab-watch');
    const folder = join(cwd, 'swanlog', 'run-20260105_090000-slwatch1');
    mkdirSync(join(folder, 'files'), { recursive: true });
    const t0 = Date.UTC(2026, 0, 5, 9);
    const records: SwanlabTestRecord[] = [
      { kind: 'start', id: 'slwatch1', project: 'p', name: 'w', time: t0 },
    ];
    for (let step = 0; step < 30; step++)
      records.push({ kind: 'scalar', key: 'loss', step, time: t0 + step * 1000, value: step / 10 });
    records.push({ kind: 'finish', state: 'finished', time: t0 + 40_000 });
    const full = Buffer.from(encodeSwanlabFile(records));
    const file = join(folder, 'run-slwatch1.swanlab');
    const cut = Math.floor(full.length / 2);
    writeFileSync(file, full.subarray(0, cut));
    const proc = spawn(process.execPath, [CLI_BIN, 'import', 'swanlog', '--logdir', 'swanlog', '--watch'], {
      cwd,
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    const closed = new Promise<number | null>((done) => proc.on('close', (code) => done(code)));
    const until = async (re: RegExp) => {
      for (let i = 0; i < 600 && !re.test(stdout); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(stdout, re);
    };
    try {
      await until(/^created +swanlab slwatch1/m);
      appendFileSync(file, full.subarray(cut));
      await until(/^appended +swanlab slwatch1/m);
    } finally {
      proc.kill('SIGTERM');
    }
    assert.equal(await closed, 0);
    const shown = await runCli(['show', 'slwatch1', '--logdir', 'swanlog', '--json'], { cwd });
    const run = JSON.parse(shown.stdout);
    assert.equal(run.keys.loss.count, 30);
    assert.equal(run.state, 'finished');
    assert.deepEqual(readFileSync(file), full, 'the SwanLab file is only read');
  });
});
