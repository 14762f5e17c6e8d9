import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { init } from 'swanlog';
import {
  CLI_BIN,
  cliEnv,
  copyFixtures,
  describeResult,
  fixtureDir,
  hasStack,
  parseCsv,
  parseJsonl,
  runCli,
  tempDir,
} from './test-support/cli.js';

const tmp = tempDir();
let logdir: string;
before(() => {
  logdir = copyFixtures(tmp.path);
});
after(() => tmp.remove());

type Point = { key: string; step: number; value: number | string; ts: number; superseded?: boolean };

async function exportJsonl(args: string[]): Promise<Point[]> {
  const r = await runCli(['export', ...args]);
  assert.equal(r.code, 0, describeResult(r));
  assert.equal(r.stderr, '');
  return parseJsonl(r.stdout) as unknown as Point[];
}

/** fx-finished's visible points as the generator logged them. */
function finishedPoints(): { key: string; step: number; value: number | string }[] {
  const acc = Array.from({ length: 50 }, (_, s) => ({ key: 'acc', step: s, value: s / 50 }));
  const loss = Array.from({ length: 50 }, (_, s) => ({ key: 'loss', step: s, value: 1 / (s + 1) }));
  const weird = [
    { key: 'weird', step: 50, value: 'NaN' },
    { key: 'weird', step: 51, value: 'Infinity' },
    { key: 'weird', step: 52, value: '-Infinity' },
  ];
  return [...acc, ...loss, ...weird];
}

describe('swanlog export', () => {
  test('jsonl (the default): one {key, step, value, ts} per visible point, non-finite values as strings', async () => {
    const points = await exportJsonl(['fx-finished', '--logdir', logdir]);
    for (const p of points) {
      assert.deepEqual(Object.keys(p), ['key', 'step', 'value', 'ts']);
      assert.ok(Number.isSafeInteger(p.ts) && p.ts > 1_600_000_000_000, `ts ${p.ts}`);
    }
    assert.deepEqual(
      points.map(({ key, step, value }) => ({ key, step, value })),
      finishedPoints(),
    );
    const explicit = await exportJsonl([fixtureDir(logdir, 'fx-finished'), '--format', 'jsonl']);
    assert.deepEqual(explicit, points);
  });

  test('csv: header, the same points, NaN / Infinity / -Infinity spelled out', async () => {
    const r = await runCli(['export', 'fx-finished', '--logdir', logdir, '--format', 'csv']);
    assert.equal(r.code, 0, describeResult(r));
    const rows = parseCsv(r.stdout);
    assert.deepEqual(rows[0], ['key', 'step', 'value', 'ts']);
    const body = rows.slice(1);
    assert.deepEqual(
      body.map(([key, step, value]) => ({ key, step: Number(step), value })),
      finishedPoints().map((p) => ({ ...p, value: String(p.value) })),
    );
    assert.ok(body.every((row) => row.length === 4 && /^\d+$/.test(row[3]!)));
    assert.deepEqual(
      body.filter((row) => row[0] === 'weird').map((row) => row[2]),
      ['NaN', 'Infinity', '-Infinity'],
    );
    const jsonl = await exportJsonl(['fx-finished', '--logdir', logdir]);
    assert.deepEqual(
      body.map((row) => Number(row[3])),
      jsonl.map((p) => p.ts),
      'csv and jsonl carry the same timestamps',
    );
  });

  test('--all on fx-rewound adds the superseded points of the first session, marked superseded: true', async () => {
    const visible = await exportJsonl(['fx-rewound', '--logdir', logdir]);
    assert.deepEqual(
      visible.map((p) => [p.step, p.value]),
      Array.from({ length: 31 }, (_, s) => [s, s <= 20 ? 100 + s : 200 + (s - 21)]),
    );
    const all = await exportJsonl(['fx-rewound', '--logdir', logdir, '--all']);
    for (const p of all) assert.deepEqual(Object.keys(p), ['key', 'step', 'value', 'ts', 'superseded']);
    const superseded = all.filter((p) => p.superseded === true);
    assert.deepEqual(
      superseded.map((p) => [p.step, p.value]),
      Array.from({ length: 19 }, (_, i) => [21 + i, 121 + i]),
    );
    assert.deepEqual(
      all.filter((p) => p.superseded === false).map(({ superseded: _, ...p }) => p),
      visible,
    );
    assert.equal(all.length, 50);
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.step >= all[i - 1]!.step, 'step order');

    const csv = await runCli(['export', 'fx-rewound', '--logdir', logdir, '--all', '--format', 'csv']);
    assert.equal(csv.code, 0, describeResult(csv));
    const rows = parseCsv(csv.stdout);
    assert.deepEqual(rows[0], ['key', 'step', 'value', 'ts', 'superseded']);
    assert.deepEqual(
      rows.slice(1).map((row) => [Number(row[1]), Number(row[2]), row[4]]),
      all.map((p) => [p.step, p.value, String(p.superseded)]),
    );
  });

  test('--out writes the export to a file (relative to the working directory) and nothing to stdout', async () => {
    const stdout = await runCli(['export', 'fx-two-writers', '--logdir', logdir, '--format', 'csv']);
    assert.equal(stdout.code, 0, describeResult(stdout));
    const r = await runCli(
      ['export', 'fx-two-writers', '--logdir', 'logdir', '--format', 'csv', '--out', 'out.csv'],
      {
        cwd: tmp.path,
      },
    );
    assert.equal(r.code, 0, describeResult(r));
    assert.equal(r.stdout, '');
    assert.equal(readFileSync(join(tmp.path, 'out.csv'), 'utf8'), stdout.stdout);
    const rows = parseCsv(stdout.stdout);
    assert.deepEqual([...new Set(rows.slice(1).map((row) => row[0]))], ['eval/loss', 'train/loss']);
    assert.equal(rows.length, 61);
  });

  test('keys with commas, quotes or edge spaces are CSV-quoted; JSONL keeps them verbatim', async () => {
    const keys = ['a,b', 'say "hi"', ' padded ', 'plain/key', 'semi;colon', 'ünï'];
    const run = await init({ logdir, project: 'cli-tests', id: 'odd-keys', resume: 'allow' });
    for (let s = 0; s < 3; s++) run.log(Object.fromEntries(keys.map((k, i) => [k, s * 10 + i])));
    await run.finish();
    const r = await runCli(['export', 'odd-keys', '--logdir', logdir, '--format', 'csv']);
    assert.equal(r.code, 0, describeResult(r));
    assert.ok(r.stdout.includes('"a,b",'), r.stdout);
    assert.ok(r.stdout.includes('"say ""hi""",'), r.stdout);
    const rows = parseCsv(r.stdout).slice(1);
    assert.ok(
      rows.every((row) => row.length === 4),
      'every row has four fields',
    );
    assert.deepEqual(
      rows.map((row) => [row[0], Number(row[1]), Number(row[2])]),
      [...keys].sort().flatMap((k) => [0, 1, 2].map((s) => [k, s, s * 10 + keys.indexOf(k)])),
    );
    const jsonl = await exportJsonl(['odd-keys', '--logdir', logdir]);
    assert.deepEqual([...new Set(jsonl.map((p) => p.key))], [...keys].sort());
  });

  test('a bad --format is error[INVALID_OPTION] with a hint, exit 1, and writes nothing', async () => {
    const out = join(tmp.path, 'never.txt');
    const r = await runCli(['export', 'fx-finished', '--logdir', logdir, '--format', 'xml', '--out', out]);
    assert.equal(r.code, 1, describeResult(r));
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /^error\[INVALID_OPTION\]: .*xml/);
    assert.match(lines[1] ?? '', /^hint: .*jsonl.*csv/);
    assert.ok(!existsSync(out), 'a file was written');
  });

  test('an --out path that cannot be written is error[CODE] with a hint, exit 1, no stack', async () => {
    const out = join(tmp.path, 'no-such-dir', 'x.jsonl');
    const r = await runCli(['export', 'fx-finished', '--logdir', logdir, '--out', out]);
    assert.equal(r.code, 1, describeResult(r));
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /^error\[[A-Z_]+\]: .*x\.jsonl/, r.stderr);
    assert.match(lines[1] ?? '', /^hint: /, r.stderr);
    assert.ok(!hasStack(r.stderr), r.stderr);
  });

  test('exporting a missing or damaged run is error[CODE], exit 1, no stack', async () => {
    for (const [target, code] of [
      ['nonexistent-id', 'RUN_NOT_FOUND'],
      [fixtureDir(logdir, 'fx-truncated'), 'RUN_DIR_CORRUPT'],
      [fixtureDir(logdir, 'fx-future-version'), 'UNSUPPORTED_FORMAT'],
    ] as const) {
      const r = await runCli(['export', target, '--logdir', logdir]);
      assert.equal(r.code, 1, `${target}: ${describeResult(r)}`);
      assert.match(r.stderr, new RegExp(`^error\\[${code}\\]: `, 'm'), target);
      assert.ok(!hasStack(r.stderr), r.stderr);
    }
  });

  test('a reader that closes stdout early (| head) gets no stack trace', async () => {
    const run = await init({ logdir, project: 'cli-tests', id: 'big-export', resume: 'allow' });
    for (let s = 0; s < 60_000; s++) run.log({ loss: 1 / (s + 1), acc: s, lr: 0.1 });
    await run.finish();
    for (const format of ['jsonl', 'csv']) {
      const r = spawnSync(
        'bash',
        [
          '-c',
          'set -o pipefail; "$NODE" "$CLI" export big-export --logdir "$LOGDIR" --format "$FORMAT" | head -n 3',
        ],
        {
          encoding: 'utf8',
          env: cliEnv({ NODE: process.execPath, CLI: CLI_BIN, LOGDIR: logdir, FORMAT: format }),
        },
      );
      assert.equal(r.stderr, '', `${format}: stderr of an export cut by head:\n${r.stderr}`);
      assert.equal(r.status, 0, `${format}: the export exited ${r.status ?? r.signal}`);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 3);
      if (format === 'jsonl')
        assert.deepEqual(JSON.parse(lines[0]!), { ...JSON.parse(lines[0]!), key: 'acc', step: 0 });
      else assert.equal(lines[0], 'key,step,value,ts');
    }
  });
});
