import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { init } from 'swanlog';
import {
  cliEnv,
  copyFixtures,
  describeResult,
  fixtureDir,
  hashTree,
  hasStack,
  runCli,
  tempDir,
} from './test-support/cli.js';

const tmp = tempDir();
let logdir: string;
before(() => {
  logdir = copyFixtures(tmp.path);
});
after(() => tmp.remove());

interface CopyResult {
  id: string;
  dir: string;
  copiedFrom: string;
}

async function copyJson(args: string[]): Promise<CopyResult> {
  const r = await runCli(['copy', ...args, '--json']);
  assert.equal(r.code, 0, describeResult(r));
  assert.equal(r.stderr, '');
  const result = JSON.parse(r.stdout) as CopyResult;
  assert.deepEqual(Object.keys(result).sort(), ['copiedFrom', 'dir', 'id']);
  assert.match(result.id, /^[0-9a-z]{21}$/);
  assert.ok(basename(result.dir).endsWith(`-${result.id}`), result.dir);
  return result;
}

async function showJson(target: string): Promise<Record<string, unknown>> {
  const r = await runCli(['show', target, '--json']);
  assert.equal(r.code, 0, describeResult(r));
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function exportLines(target: string): Promise<string[]> {
  const r = await runCli(['export', target]);
  assert.equal(r.code, 0, describeResult(r));
  return r.stdout.trimEnd().split('\n');
}

/** Starts a training process (SDK) that logs `steps` steps, flushes and stays alive. */
async function liveRun(id: string, steps: number) {
  const script = join(import.meta.dirname, 'test-support', 'live-run.js');
  const proc = spawn(process.execPath, [script, JSON.stringify({ logdir, id, steps })], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: cliEnv(),
  });
  let out = '';
  proc.stdout.setEncoding('utf8');
  const ready = new Promise<{ dir: string }>((resolve, reject) => {
    proc.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as { dir: string });
    });
    proc.on('exit', (code) => reject(new Error(`live run exited with ${code} before it was ready`)));
  });
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };
  return { ...(await ready), kill };
}

describe('swanlog copy', () => {
  test('copy --json prints {id, dir, copiedFrom}; the copy lists in ls and shows the same data', async () => {
    const original = fixtureDir(logdir, 'fx-finished');
    const before = hashTree(original);
    const copy = await copyJson(['fx-finished', '--logdir', logdir]);
    assert.equal(copy.copiedFrom, 'fx-finished');
    assert.equal(dirname(copy.dir), logdir);
    assert.deepEqual(hashTree(original), before, 'the original changed');

    const ls = await runCli(['ls', logdir, '--json']);
    const entry = (JSON.parse(ls.stdout) as Record<string, unknown>[]).find((e) => e.id === copy.id);
    assert.ok(entry !== undefined, `the copy is not in ls:\n${ls.stdout}`);
    assert.deepEqual(
      { dir: entry.dir, copiedFrom: entry.copiedFrom, state: entry.state, lastStep: entry.lastStep },
      { dir: copy.dir, copiedFrom: 'fx-finished', state: 'finished', lastStep: 52 },
    );

    const a = await showJson(original);
    const b = await showJson(copy.dir);
    for (const field of ['config', 'configRevisions', 'keys', 'lastStep', 'project', 'name']) {
      assert.deepEqual(b[field], a[field], field);
    }
    assert.equal(b.copiedFrom, 'fx-finished');
    assert.deepEqual(await exportLines(copy.dir), await exportLines(original));
  });

  test('human copy names both runs and how to resume the copy; --into puts it in another logdir', async () => {
    const into = join(tmp.path, 'other-logdir');
    const r = await runCli(['copy', fixtureDir(logdir, 'fx-rewound'), '--into', into]);
    assert.equal(r.code, 0, describeResult(r));
    const m = /^copied run fx-rewound to run ([0-9a-z]{21})\n {2}(\S+)\n/.exec(r.stdout);
    assert.ok(m !== null, r.stdout);
    assert.equal(dirname(m[2]!), into);
    assert.ok(r.stdout.includes(`resume: 'must'`), r.stdout);
    const shown = await showJson(m[2]!);
    assert.equal(shown.lastStep, 30);
    assert.equal(shown.copiedFrom, 'fx-rewound');
  });

  test('resuming the copy with init({id, resume: "must"}) leaves the original untouched', async () => {
    const original = fixtureDir(logdir, 'fx-resumed');
    const copy = await copyJson([original]);
    const before = hashTree(original);
    const exportBefore = await exportLines(original);
    const run = await init({ logdir, id: copy.id, resume: 'must', fromStep: 5 });
    assert.equal(run.dir, copy.dir);
    for (let i = 0; i < 3; i++) run.log({ loss: -1 });
    await run.finish();
    assert.deepEqual(hashTree(original), before, 'the original changed');
    assert.deepEqual(await exportLines(original), exportBefore);
    const shown = await showJson(copy.dir);
    assert.equal(shown.lastStep, 8);
    assert.equal(shown.state, 'finished');
    assert.equal((await showJson(original)).lastStep, 49);
  });

  test('copying a live run works; the copy is not running and holds what was flushed', async (t) => {
    const live = await liveRun('live-for-copy', 25);
    t.after(live.kill);
    assert.equal((await showJson(live.dir)).state, 'running');
    const copy = await copyJson([live.dir]);
    assert.equal(copy.copiedFrom, 'live-for-copy');
    const shown = await showJson(copy.dir);
    assert.notEqual(shown.state, 'running');
    assert.deepEqual(shown.keys, {
      acc: { count: 25, lastStep: 24, lastValue: 24 },
      loss: { count: 25, lastStep: 24, lastValue: 1 / 25 },
    });
    for (const s of shown.segments as { state: string }[]) assert.notEqual(s.state, 'running');
    assert.equal((await runCli(['verify', copy.dir])).code, 0);
    assert.equal((await showJson(live.dir)).state, 'running', 'copying ended the live session');
  });

  test('copying a missing or damaged run is error[CODE], exit 1', async () => {
    const missing = await runCli(['copy', 'nonexistent-id', '--logdir', logdir]);
    assert.equal(missing.code, 1, describeResult(missing));
    assert.match(missing.stderr, /^error\[RUN_NOT_FOUND\]: .*\nhint: /);
    const future = await runCli(['copy', fixtureDir(logdir, 'fx-future-version'), '--json']);
    assert.equal(future.code, 1, describeResult(future));
    assert.match(future.stderr, /^error\[UNSUPPORTED_FORMAT\]: /);
    assert.ok(!hasStack(future.stderr), future.stderr);
  });
});

describe('swanlog verify', () => {
  const SOUND = ['fx-finished', 'fx-crashed', 'fx-resumed', 'fx-rewound', 'fx-two-writers'];

  test('exits 0 and says ok on every sound fixture', async () => {
    for (const id of SOUND) {
      const r = await runCli(['verify', fixtureDir(logdir, id)]);
      assert.equal(r.code, 0, `${id}: ${describeResult(r)}`);
      assert.match(
        r.stdout,
        new RegExp(`^ok: run ${id} is sound \\(\\d+ session\\(s\\), \\d+ key\\(s\\), `, 'm'),
      );
      assert.equal(r.stderr, '');
    }
  });

  test('--json on a sound run prints the report', async () => {
    const dir = fixtureDir(logdir, 'fx-rewound');
    const r = await runCli(['verify', dir, '--json']);
    assert.equal(r.code, 0, describeResult(r));
    assert.deepEqual(
      { ...JSON.parse(r.stdout), chunks: 'n' },
      { dir, id: 'fx-rewound', ok: true, sessions: 2, keys: 1, chunks: 'n', points: 50, warnings: [] },
    );
  });

  test('exits 1 with error[CODE] on damaged runs; --json prints {dir, ok: false, error}', async () => {
    for (const [id, code] of [
      ['fx-truncated', 'RUN_DIR_CORRUPT'],
      ['fx-future-version', 'UNSUPPORTED_FORMAT'],
      ['fx-foreign', 'RUN_DIR_CORRUPT'],
    ] as const) {
      const dir = fixtureDir(logdir, id);
      const human = await runCli(['verify', dir]);
      assert.equal(human.code, 1, `${id}: ${describeResult(human)}`);
      assert.equal(human.stdout, '');
      assert.match(human.stderr, new RegExp(`^error\\[${code}\\]: .*${basename(dir)}`), id);
      assert.ok(!hasStack(human.stderr), human.stderr);

      const json = await runCli(['verify', dir, '--json']);
      assert.equal(json.code, 1, `${id}: ${describeResult(json)}`);
      const report = JSON.parse(json.stdout) as {
        dir: string;
        ok: boolean;
        error: { code: string; message: string };
      };
      assert.deepEqual(Object.keys(report).sort(), ['dir', 'error', 'ok']);
      assert.equal(report.dir, dir);
      assert.equal(report.ok, false);
      assert.equal(report.error.code, code);
      assert.ok(report.error.message.length > 0);
      assert.ok(!hasStack(json.stderr), json.stderr);
    }
  });

  test('a directory that is not a run: error[RUN_DIR_CORRUPT], exit 1', async () => {
    const r = await runCli(['verify', tmp.path]);
    assert.equal(r.code, 1, describeResult(r));
    assert.match(r.stderr, /^error\[RUN_DIR_CORRUPT\]: /);
    assert.ok(existsSync(tmp.path));
  });
});
