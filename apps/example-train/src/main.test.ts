// End to end: the real CLI as a child process in temp experiment dirs, killed with SIGKILL and
// resumed, compared with an uninterrupted run of the same config.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findRunDir, RunReader } from '@swanlog/store';
import { parse, stringify } from 'yaml';
import { createRng } from './rng.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(REPO_ROOT, 'apps', 'example-train', 'dist', 'main.js');
const SWANLOG = join(REPO_ROOT, 'apps', 'cli', 'bin', 'swanlog.js');
const TEST_YAML = join(REPO_ROOT, 'apps', 'example-train', 'configs', 'test.yaml');
const VISIBLE_KEYS = ['train/loss', 'val/loss', 'val/acc'];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface SpawnOptions {
  env?: Record<string, string>;
  /** SIGKILL the process once a stdout line satisfies this (after `delayMs`). */
  killWhen?: (line: string) => boolean;
  delayMs?: number;
}

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'example-train-'));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Writes the test config with its experiment in `dir` (and optional edits) and returns its path. */
function writeConfig(
  dir: string,
  edit: (doc: Record<string, Record<string, unknown>>) => void = () => {},
): string {
  const doc = parse(readFileSync(TEST_YAML, 'utf8')) as Record<string, Record<string, unknown>>;
  doc.experiment!.dir = join(dir, 'experiment');
  edit(doc);
  const path = join(dir, 'config.yaml');
  writeFileSync(path, stringify(doc));
  return path;
}

function train(args: string[], options: SpawnOptions = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env };
    const proc = spawn(process.execPath, [MAIN, ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let killing = false;
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      if (killing || options.killWhen === undefined || !lines.some(options.killWhen)) return;
      killing = true;
      setTimeout(() => proc.kill('SIGKILL'), options.delayMs ?? 0);
    });
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function swanlogCli(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SWANLOG, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function finalHash(out: Outcome): string {
  const m = /^final weights sha256=([0-9a-f]{64})$/m.exec(out.stdout);
  assert.ok(m, `no final hash in:\n${out.stdout}\n${out.stderr}`);
  return m[1]!;
}

function finishedRunId(out: Outcome): string {
  const m = /^finished run (\S+)$/m.exec(out.stdout);
  assert.ok(m, `no finished run in:\n${out.stdout}\n${out.stderr}`);
  return m[1]!;
}

interface RunView {
  state: string;
  /** key -> "step=value" of the visible points, in step order. */
  visible: Record<string, string[]>;
  /** key -> steps of the superseded points. */
  superseded: Record<string, number[]>;
}

function readRun(experimentDir: string, runId: string): RunView {
  const dir = findRunDir(join(experimentDir, 'swanlog'), runId);
  assert.ok(dir !== undefined, `run ${runId} not found in ${experimentDir}`);
  const reader = RunReader.open(dir);
  try {
    const visible: RunView['visible'] = {};
    const superseded: RunView['superseded'] = {};
    for (const key of VISIBLE_KEYS) {
      const s = reader.series(key);
      visible[key] = Array.from(s.steps, (step, i) => `${step}=${s.values[i]}`);
      const all = reader.series(key, { superseded: true });
      superseded[key] = Array.from(all.steps).filter((_, i) => all.superseded?.[i] === 1);
    }
    return { state: reader.state(), visible, superseded };
  } finally {
    reader.close();
  }
}

let reference: { hash: string; run: RunView; stdout: string };

before(async () => {
  const dir = tempDir();
  const out = await train(['--config', writeConfig(dir)]);
  assert.equal(out.code, 0, out.stderr);
  reference = {
    hash: finalHash(out),
    run: readRun(join(dir, 'experiment'), finishedRunId(out)),
    stdout: out.stdout,
  };
});

test('an uninterrupted run logs every epoch once, prints a line per epoch and finishes', () => {
  const epochLines = reference.stdout.split('\n').filter((l) => l.startsWith('epoch '));
  assert.deepEqual(
    epochLines.map((l) => l.split(' ')[1]),
    ['1', '2', '3', '4', '5', '6', '7', '8'],
  );
  assert.match(epochLines[0]!, /^epoch 1 train_loss=\d+\.\d+ val_loss=\d+\.\d+ val_acc=\d+\.\d+$/);
  assert.equal(reference.run.state, 'finished');
  for (const key of VISIBLE_KEYS) {
    assert.deepEqual(
      reference.run.visible[key]!.map((p) => Number(p.split('=')[0])),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(reference.run.superseded[key], []);
  }
});

test('SIGKILL right after "epoch 5", then --resume: rewinds to epoch 4 and ends as the uninterrupted run', async () => {
  const dir = tempDir();
  const config = writeConfig(dir, (doc) => {
    doc.training!.checkpoint_interval = 2;
  });
  const killed = await train(['--config', config], {
    env: { EXAMPLE_TRAIN_HANG_AFTER_EPOCH: '5' },
    killWhen: (line) => line.startsWith('epoch 5 '),
  });
  assert.equal(killed.signal, 'SIGKILL');
  assert.doesNotMatch(killed.stdout, /^epoch 6 /m);

  const resumed = await train(['--config', config, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const runId = finishedRunId(resumed);
  assert.match(
    resumed.stdout,
    new RegExp(`^resumed run ${runId} from the checkpoint of epoch 4 .*continuing at epoch 5 of 8$`, 'm'),
  );
  assert.deepEqual(
    resumed.stdout
      .split('\n')
      .filter((l) => l.startsWith('epoch '))
      .map((l) => l.split(' ')[1]),
    ['5', '6', '7', '8'],
  );
  assert.match(
    killed.stdout,
    new RegExp(`^started run ${runId} `, 'm'),
    'the resume continues the same run id',
  );

  assert.equal(finalHash(resumed), reference.hash);
  const run = readRun(join(dir, 'experiment'), runId);
  assert.deepEqual(run.visible, reference.run.visible);
  for (const key of VISIBLE_KEYS)
    assert.deepEqual(run.superseded[key], [5], `${key}: the first try of epoch 5`);
  assert.equal(run.state, 'finished');

  const show = await swanlogCli(['show', runId, '--logdir', join(dir, 'experiment', 'swanlog'), '--json']);
  assert.equal(show.code, 0, show.stderr);
  const segments = (JSON.parse(show.stdout) as { segments: { resumed: boolean; fromStep: number | null }[] })
    .segments;
  assert.equal(segments.length, 2);
  assert.equal(segments[1]!.resumed, true);
  assert.equal(segments[1]!.fromStep, 4);
});

test('SIGKILL at a random moment, then --resume, ends as the uninterrupted run', async (t) => {
  const seed = Number(process.env.EXAMPLE_TRAIN_KILL_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`kill seed ${seed} (rerun with EXAMPLE_TRAIN_KILL_SEED=${seed})`);
  const rng = createRng(seed);
  const dir = tempDir();
  const config = writeConfig(dir, (doc) => {
    doc.training!.checkpoint_interval = 1 + rng.nextInt(3);
  });
  // Wait for a random line (the start line or an epoch), then a random few milliseconds.
  const afterEpoch = rng.nextInt(9);
  const delayMs = rng.nextInt(25);
  t.diagnostic(
    `checkpoint_interval ${parse(readFileSync(config, 'utf8')).training.checkpoint_interval}, kill ${delayMs} ms after ${afterEpoch === 0 ? 'the start line' : `epoch ${afterEpoch}`}`,
  );
  const killed = await train(['--config', config], {
    killWhen: (line) =>
      afterEpoch === 0 ? line.startsWith('started run ') : line.startsWith(`epoch ${afterEpoch} `),
    delayMs,
  });
  assert.ok(killed.signal === 'SIGKILL' || killed.code === 0, killed.stderr);
  const lastLine = killed.stdout.trimEnd().split('\n').pop();
  t.diagnostic(killed.signal === null ? 'finished before the kill' : `killed after: ${lastLine}`);
  const resumed = await train(['--config', config, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(finalHash(resumed), reference.hash);
  const run = readRun(join(dir, 'experiment'), finishedRunId(resumed));
  assert.deepEqual(run.visible, reference.run.visible);
  assert.equal(run.state, 'finished');
});

test('--resume with no checkpoint starts from scratch at epoch 1 and says so; without --resume each run is new', async () => {
  const dir = tempDir();
  const config = writeConfig(dir);
  const first = await train(['--config', config, '--resume']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^no checkpoint in .*checkpoints: started from scratch \(epoch 1\)$/m);
  assert.match(first.stdout, /^started run \S+ \(spirals-test\) at epoch 1 of 8/m);
  assert.match(first.stdout, /^epoch 1 /m);
  assert.equal(finalHash(first), reference.hash);

  const second = await train(['--config', config]);
  assert.equal(second.code, 0, second.stderr);
  assert.notEqual(finishedRunId(second), finishedRunId(first));
  assert.match(second.stdout, /^epoch 1 /m);
});

test('a bad config is error[INVALID_OPTION] naming the key, with a hint, exit 1', async () => {
  const dir = tempDir();
  const cases: [string, (doc: Record<string, Record<string, unknown>>) => void][] = [
    ['swanlog.mode', (doc) => (doc.swanlog!.mode = 'online')],
    ['training.epochs', (doc) => delete doc.training!.epochs],
    ['training.batches_per_epoch', (doc) => (doc.training!.batches_per_epoch = 'ten')],
  ];
  for (const [key, edit] of cases) {
    const out = await train(['--config', writeConfig(dir, edit)]);
    assert.equal(out.code, 1, `${key}: ${out.stderr}`);
    assert.match(out.stderr, new RegExp(`^error\\[INVALID_OPTION\\]: .*${key.replace('.', '\\.')}`, 'm'));
    assert.match(out.stderr, /^hint: \S/m);
    assert.equal(out.stdout, '');
  }
});
