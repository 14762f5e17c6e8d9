import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RunReader } from '@swanlog/store';
import { importSources } from './import-sources.js';
import { refNumber, SAMPLES, tempDir, visibleSeries, WANDB_FIXTURES } from './test-support/fixtures.js';
import { encodeWandbFile } from './write-source-files.js';

const tmp = tempDir();
after(() => tmp.remove());

interface Expected {
  state: string;
  sessions: number;
  offsets: number;
  config?: Record<string, unknown>;
  series: Record<string, [number, number | 'NaN' | 'Infinity' | '-Infinity'][]>;
  skipped?: Record<string, number>;
}

const expected = JSON.parse(readFileSync(join(WANDB_FIXTURES, 'expected.json'), 'utf8')).runs as Record<
  string,
  Expected
>;

describe('W&B offline runs written by wandb 0.30 (swanlog-fixtures/wandb)', () => {
  const logdir = join(tmp.path, 'logs');
  const results = importSources({ cwd: tmp.path, paths: [join(WANDB_FIXTURES, 'wandb')], logdir });

  test('one swanlog run per W&B run id (its directories a session each); latest-run is not a second run', () => {
    assert.deepEqual(results.map((r) => r.id).sort(), Object.keys(expected).sort());
    for (const r of results) {
      assert.equal(r.error, undefined);
      assert.equal(r.sessions, expected[r.id!]!.sessions, r.id!);
    }
  });

  for (const [id, exp] of Object.entries(expected)) {
    test(`${id}: what the script logged, step by step (state ${exp.state})`, () => {
      const r = results.find((x) => x.id === id)!;
      const series = visibleSeries(r.dir!);
      assert.deepEqual(Object.keys(series).sort(), Object.keys(exp.series).sort());
      for (const [key, points] of Object.entries(exp.series)) {
        assert.deepEqual(
          series[key]!.map((p) => p.step),
          points.map(([s]) => s),
          `${id} ${key}`,
        );
        points.forEach(([, v], i) => {
          assert.ok(Object.is(series[key]![i]!.value, refNumber(v)), `${id} ${key} ${i}`);
        });
        const ts = series[key]!.map((p) => p.ts);
        assert.ok(
          ts.every((t, i) => i === 0 || t >= ts[i - 1]!),
          'timestamps in order',
        );
      }
      const reader = RunReader.open(r.dir!);
      assert.equal(reader.state(), exp.state);
      if (exp.config !== undefined) assert.deepEqual(reader.config(), exp.config);
      assert.equal(reader.meta.project, 'fixtures');
      reader.close();
      assert.deepEqual(r.skipped, exp.skipped ?? {});
    });
  }

  test('a continued offline run restarting _step at 0: offset after the first directory, reported and in the origin', () => {
    const r = results.find((x) => x.id === 'cont0001')!;
    const dirs = readdirSync(join(WANDB_FIXTURES, 'wandb'))
      .filter((d) => d.endsWith('-cont0001'))
      .sort();
    assert.deepEqual(r.stepOffsets, { [dirs[1]!]: 5 });
    const reader = RunReader.open(r.dir!);
    assert.deepEqual(reader.meta.source, {
      kind: 'wandb',
      path: join(WANDB_FIXTURES, 'wandb'),
      id: 'cont0001',
      stepOffsets: { [dirs[1]!]: 5 },
    });
    assert.equal(reader.segments().length, 2);
    reader.close();
    assert.equal(results.find((x) => x.id === 'cont0002')!.stepOffsets, undefined);
  });

  test('importing again adds nothing; a run still being written grows by its new records only', () => {
    const again = importSources({ cwd: tmp.path, paths: [join(WANDB_FIXTURES, 'wandb')], logdir });
    assert.ok(again.every((r) => r.action === 'up-to-date' && r.points === 0));
    const src = join(tmp.path, 'growing');
    cpSync(join(WANDB_FIXTURES, 'wandb'), src, { recursive: true, verbatimSymlinks: true });
    const dir = readdirSync(src)
      .filter((d) => d.endsWith('-cont0001'))
      .sort()[1]!;
    const file = join(src, dir, 'run-cont0001.wandb');
    const full = readFileSync(file);
    const cut = Math.floor(full.length * 0.6);
    writeFileSync(file, full.subarray(0, cut));
    const grown = join(tmp.path, 'grown-logs');
    const first = importSources({ cwd: tmp.path, paths: [src], logdir: grown }).find(
      (x) => x.id === 'cont0001',
    )!;
    assert.ok(first.points > 10 && first.points < 20, String(first.points));
    appendFileSync(file, full.subarray(cut));
    const second = importSources({ cwd: tmp.path, paths: [src], logdir: grown }).find(
      (x) => x.id === 'cont0001',
    )!;
    assert.equal(second.action, 'appended');
    assert.equal(first.points + second.points, 20);
    assert.deepEqual(
      visibleSeries(second.dir!),
      visibleSeries(results.find((x) => x.id === 'cont0001')!.dir!),
    );
  });
});

const samples = join(SAMPLES, 'wandb');
const present = existsSync(samples);
if (!present && process.env.CI === 'true') throw new Error(`${samples} is missing in CI`);

/** The real `.wandb` files in ../shared/samples/wandb, with the expectations of its README. */
describe('real W&B files (../shared/samples/wandb)', { skip: !present }, () => {
  const one = (name: string) => {
    const d = join(tmp.path, 'samples', name);
    mkdirSync(d, { recursive: true });
    copyFileSync(join(samples, name), join(d, name));
    return importSources({
      cwd: tmp.path,
      paths: [join(d, name)],
      logdir: join(tmp.path, 'sample-logs'),
    })[0]!;
  };

  test('run-g9dvvkua (wandb 0.10.20): a run with no history rows, its id and project kept, finished', () => {
    const r = one('run-g9dvvkua.wandb');
    assert.equal(r.error, undefined);
    assert.equal(r.id, 'g9dvvkua');
    assert.equal(r.points, 0);
    const reader = RunReader.open(r.dir!);
    assert.equal(reader.state(), 'finished');
    reader.close();
  });

  test('run-tiny0001: 50 history rows', () => {
    const r = one('run-tiny0001.wandb');
    const series = visibleSeries(r.dir!);
    for (const s of Object.values(series)) assert.equal(s.length, 50);
    assert.deepEqual(
      series['train/loss']!.map((p) => p.step),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test('run-nanedge1: 20 history rows with NaN and +-Infinity, kept exactly', () => {
    const r = one('run-nanedge1.wandb');
    const values = Object.values(visibleSeries(r.dir!)).flatMap((s) => s.map((p) => p.value));
    assert.ok(values.some((v) => Number.isNaN(v)));
    assert.ok(values.includes(Number.POSITIVE_INFINITY) && values.includes(Number.NEGATIVE_INFINITY));
    const steps = new Set(Object.values(visibleSeries(r.dir!)).flatMap((s) => s.map((p) => p.step)));
    assert.equal(steps.size, 20);
  });

  test('bad-crc: the chunk with a bad CRC is skipped and counted, the rest read', () => {
    const r = one('bad-crc.wandb');
    assert.equal(r.error, undefined);
    assert.deepEqual(r.skipped, { damaged: 1 });
    assert.ok(r.points > 0);
  });

  test('truncated-tail: the record cut in the middle is left unread, what precedes it imported', () => {
    const r = one('truncated-tail.wandb');
    assert.equal(r.error, undefined);
    assert.deepEqual(r.skipped, {});
    assert.ok(r.points > 0);
    const again = one('truncated-tail.wandb');
    assert.equal(again.action, 'up-to-date');
  });
});

describe('LevelDB framing', () => {
  test('records spanning 32 KiB blocks (FIRST/MIDDLE/LAST chunks) read whole; every cut imports exactly once', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    const rows = Array.from({ length: 12 }, (_, step) => ({
      step,
      time: 1_700_000_000 + step,
      values: Object.fromEntries(keys.map((k, i) => [k, step * 10_000 + i])),
    }));
    const bytes = Buffer.from(encodeWandbFile(rows));
    assert.ok(bytes.length > 3 * 32 * 1024, 'records span blocks');
    const src = join(tmp.path, 'framing', 'offline-run-20260101_000000-frame01');
    mkdirSync(src, { recursive: true });
    const file = join(src, 'run-frame01.wandb');
    const logdir = join(tmp.path, 'framing-logs');
    let total = 0;
    for (const cut of [1000, 40_000, 40_001, 70_000, 131_072, bytes.length]) {
      writeFileSync(file, bytes.subarray(0, Math.min(cut, bytes.length)));
      const r = importSources({ cwd: tmp.path, paths: [src], logdir })[0]!;
      assert.equal(r.error, undefined);
      assert.deepEqual(r.skipped, {});
      total += r.points;
    }
    assert.equal(total, rows.length * keys.length);
    const r = importSources({ cwd: tmp.path, paths: [src], logdir })[0]!;
    const series = visibleSeries(r.dir!);
    assert.equal(Object.keys(series).length, keys.length);
    assert.deepEqual(
      series.k2999!.map((p) => p.value),
      rows.map((row) => row.values.k2999),
    );
  });
});

describe('W&B config changes after the start (wandb.config.update)', () => {
  test('each change is a config revision; an unchanged value adds none; importing again adds none', () => {
    const src = join(tmp.path, 'config-updates', 'offline-run-20260101_000000-cfgup001');
    mkdirSync(src, { recursive: true });
    const row = (step: number) => ({ step, time: 1_700_000_000 + step, values: { loss: 1 / (step + 1) } });
    writeFileSync(
      join(src, 'run-cfgup001.wandb'),
      encodeWandbFile([
        { config: { lr: 0.01 } },
        row(0),
        row(1),
        { config: { lr: 0.01 } },
        { config: { lr: 0.001, warmup: 5 } },
        row(2),
      ]),
    );
    const logdir = join(tmp.path, 'config-updates-logs');
    const r = importSources({ cwd: tmp.path, paths: [src], logdir })[0]!;
    assert.equal(r.error, undefined);
    const again = importSources({ cwd: tmp.path, paths: [src], logdir })[0]!;
    assert.equal(again.action, 'up-to-date');
    const reader = RunReader.open(r.dir!);
    assert.deepEqual(reader.config(), { lr: 0.001, warmup: 5 });
    assert.deepEqual(
      reader.configRevisions().map((c) => c.patch),
      [{ lr: 0.01 }, { lr: 0.001, warmup: 5 }],
    );
    reader.close();
  });
});
