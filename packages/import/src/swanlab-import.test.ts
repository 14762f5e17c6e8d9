import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RunReader } from '@swanlog/store';
import { importSources } from './import-sources.js';
import { tempDir, visibleSeries } from './test-support/fixtures.js';
import { encodeSwanlabFile, type SwanlabTestRecord } from './write-source-files.js';

const tmp = tempDir();
after(() => tmp.remove());

const T0 = Date.UTC(2026, 0, 5, 9, 30, 0);

/** A SwanLab run folder `run-<time>-<id>` with its run file and, when given, files/config.yaml. */
function swanlabFolder(
  root: string,
  options: { id: string; stamp: string; records: SwanlabTestRecord[]; version?: 1 | 2; config?: string },
): string {
  const dir = join(root, `run-${options.stamp}-${options.id}`);
  mkdirSync(join(dir, 'files'), { recursive: true });
  const name = options.version === 1 ? 'backup.swanlab' : `run-${options.id}.swanlab`;
  writeFileSync(join(dir, name), encodeSwanlabFile(options.records, options.version ?? 2));
  if (options.config !== undefined) writeFileSync(join(dir, 'files', 'config.yaml'), options.config);
  return join(dir, name);
}

function scalars(from: number, to: number, time: number): SwanlabTestRecord[] {
  const out: SwanlabTestRecord[] = [];
  for (let step = from; step < to; step++) {
    out.push({ kind: 'scalar', key: 'train/loss', step, time: time + step * 1000, value: 1 / (step + 1) });
    out.push({ kind: 'scalar', key: 'lr', step, time: time + step * 1000, value: 0.001 * step });
  }
  return out;
}

const steps = (dir: string, key: string) => visibleSeries(dir)[key]!.map((p) => p.step);

describe('SwanLab run folders (swanlog/run-<time>-<id>)', () => {
  const root = join(tmp.path, 'swanlab-project', 'swanlog');
  swanlabFolder(root, {
    id: 'abc123xyz',
    stamp: '20260105_093000',
    records: [
      { kind: 'start', id: 'abc123xyz', project: 'shapes', name: 'cnn-baseline', time: T0 },
      ...scalars(0, 5, T0),
      { kind: 'media', key: 'samples', step: 4, time: T0 + 4000 },
      { kind: 'finish', state: 'finished', time: T0 + 6000 },
    ],
    config:
      'lr:\n  value: 0.001\n  desc: null\n  sort: 0\nmodel:\n  value:\n    depth: 3\n  desc: null\n  sort: 1\n',
  });
  swanlabFolder(root, {
    id: 'old000run',
    stamp: '20250601_080000',
    version: 1,
    records: [
      { kind: 'start', id: 'old000run', project: 'legacy', name: 'first-try', time: T0 },
      ...scalars(0, 3, T0),
      { kind: 'media', key: 'img', step: 1, time: T0 + 1000 },
    ],
    config: 'batch_size: 32\nseed: 7\n',
  });
  const logdir = join(tmp.path, 'logs');
  const results = importSources({ cwd: tmp.path, paths: [join(tmp.path, 'swanlab-project')], logdir });
  const byId = (id: string) => results.find((r) => r.sourceId === id)!;

  test('every folder becomes a swanlog run with its id, project, name and config', () => {
    assert.deepEqual(results.map((r) => [r.kind, r.sourceId, r.action]).sort(), [
      ['swanlab', 'abc123xyz', 'created'],
      ['swanlab', 'old000run', 'created'],
    ]);
    const reader = RunReader.open(byId('abc123xyz').dir!);
    assert.equal(reader.meta.project, 'shapes');
    assert.equal(reader.meta.name, 'cnn-baseline');
    assert.deepEqual(reader.config(), { lr: 0.001, model: { depth: 3 } });
    assert.equal(reader.state(), 'finished');
    reader.close();
    const old = RunReader.open(byId('old000run').dir!);
    assert.equal(old.meta.project, 'legacy');
    assert.equal(old.meta.name, 'first-try');
    assert.deepEqual(old.config(), { batch_size: 32, seed: 7 });
    assert.equal(old.state(), 'finished', '0.6-0.7 files record no end state');
    old.close();
  });

  test('scalars kept exactly at their steps and times; media counted and skipped', () => {
    for (const [id, n] of [
      ['abc123xyz', 5],
      ['old000run', 3],
    ] as const) {
      const r = byId(id);
      const series = visibleSeries(r.dir!);
      assert.deepEqual(Object.keys(series).sort(), ['lr', 'train/loss'], id);
      assert.deepEqual(
        series['train/loss']!.map((p) => [p.step, p.value]),
        Array.from({ length: n }, (_, s) => [s, 1 / (s + 1)]),
        id,
      );
      // The run's creation takes the start time's millisecond, so the first point may sit 1 ms after it.
      const ts = series['train/loss']!.map((p) => p.ts - T0);
      assert.ok(ts[0]! >= 0 && ts[0]! <= 1, `${id} ${ts[0]}`);
      assert.deepEqual(
        ts.slice(1),
        Array.from({ length: n - 1 }, (_, s) => (s + 1) * 1000),
        id,
      );
      assert.equal(r.points, 2 * n);
      assert.equal(r.skipped.media, 1, id);
    }
  });

  test('importing again adds nothing', () => {
    const again = importSources({ cwd: tmp.path, paths: [root], logdir });
    assert.deepEqual(
      again.map((r) => [r.action, r.points]),
      [
        ['up-to-date', 0],
        ['up-to-date', 0],
      ],
    );
  });
});

describe('a resumed SwanLab run (one id, two folders)', () => {
  const root = join(tmp.path, 'resumed', 'swanlog');
  swanlabFolder(root, {
    id: 'res0001',
    stamp: '20260105_093000',
    records: [{ kind: 'start', id: 'res0001', project: 'p', name: 'r', time: T0 }, ...scalars(0, 6, T0)],
    config: 'lr: 0.1\n',
  });
  const T1 = T0 + 3_600_000;
  swanlabFolder(root, {
    id: 'res0001',
    stamp: '20260105_103000',
    records: [
      { kind: 'start', id: 'res0001', project: 'p', name: 'r', time: T1 },
      ...scalars(4, 9, T1),
      { kind: 'finish', state: 'finished', time: T1 + 10_000 },
    ],
    config: 'lr: 0.05\n',
  });
  const [r] = importSources({ cwd: tmp.path, paths: [root], logdir: join(tmp.path, 'resumed-logs') });

  test('one swanlog run with a session per folder; steps written again by the resumed job win', () => {
    assert.ok(r);
    assert.equal(r.error, undefined);
    assert.equal(r.sessions, 2);
    assert.deepEqual(steps(r.dir!, 'train/loss'), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const loss = visibleSeries(r.dir!)['train/loss']!;
    assert.equal(loss[4]!.ts, T1 + 4000, 'step 4 is the resumed folder’s');
    assert.equal(r.superseded, 4, 'steps 4 and 5 of both keys in the first folder');
    const reader = RunReader.open(r.dir!);
    assert.equal(reader.state(), 'finished');
    assert.deepEqual(reader.config(), { lr: 0.05 }, 'the later folder’s config is a revision');
    reader.close();
  });
});

describe('a SwanLab file still being written', () => {
  const root = join(tmp.path, 'growing', 'swanlog');
  const records: SwanlabTestRecord[] = [
    { kind: 'start', id: 'grow01', project: 'p', name: 'g', time: T0 },
    ...scalars(0, 40, T0),
    { kind: 'finish', state: 'finished', time: T0 + 50_000 },
  ];
  const file = swanlabFolder(root, { id: 'grow01', stamp: '20260105_093000', records });
  const full = readFileSync(file);
  const logdir = join(tmp.path, 'growing-logs');

  test('a torn tail is left for the next import; every cut imports each point exactly once', () => {
    for (const cut of [7, Math.floor(full.length * 0.3), Math.floor(full.length * 0.77) + 3]) {
      const dir = join(tmp.path, `cut-${cut}`, 'swanlog');
      const f = swanlabFolder(dir, { id: 'grow01', stamp: '20260105_093000', records: [] });
      writeFileSync(f, full.subarray(0, cut));
      const into = join(tmp.path, `cut-${cut}-logs`);
      const first = importSources({ cwd: tmp.path, paths: [dir], logdir: into })[0]!;
      assert.equal(first.error, undefined, String(cut));
      const state = first.points === 0 ? null : RunReader.open(first.dir!);
      if (state !== null) {
        assert.equal(state.state(), 'crashed', 'no finish record yet: not finished');
        state.close();
      }
      appendFileSync(f, full.subarray(cut));
      const second = importSources({ cwd: tmp.path, paths: [dir], logdir: into })[0]!;
      assert.equal(first.points + second.points, 80, `cut ${cut}`);
      assert.deepEqual(
        steps(second.dir!, 'lr'),
        Array.from({ length: 40 }, (_, i) => i),
      );
      const reader = RunReader.open(second.dir!);
      assert.equal(reader.state(), 'finished', `cut ${cut}: the finish record arrived`);
      reader.close();
    }
    const whole = importSources({ cwd: tmp.path, paths: [root], logdir })[0]!;
    assert.equal(whole.points, 80);
  });

  test('a chunk with a bad CRC is skipped and counted; the records around it are imported', () => {
    const dir = join(tmp.path, 'bad-crc', 'swanlog');
    const f = swanlabFolder(dir, { id: 'grow01', stamp: '20260105_093000', records });
    const bytes = readFileSync(f);
    bytes[7 + 7 + 40] = (bytes[7 + 7 + 40]! + 1) & 0xff; // inside the second record's payload area
    writeFileSync(f, bytes);
    const r = importSources({ cwd: tmp.path, paths: [f], logdir: join(tmp.path, 'bad-crc-logs') })[0]!;
    assert.equal(r.error, undefined);
    assert.ok((r.skipped.damaged ?? 0) >= 1, JSON.stringify(r.skipped));
    assert.ok(r.points >= 77 && r.points < 80, String(r.points));
  });
});

describe('SwanLab config files', () => {
  test('a config.yaml that is not YAML fails that run with SOURCE_CORRUPT naming the file; others import', () => {
    const root = join(tmp.path, 'bad-config', 'swanlog');
    swanlabFolder(root, {
      id: 'badcfg1',
      stamp: '20260105_093000',
      records: [{ kind: 'start', id: 'badcfg1', project: 'p', name: 'b', time: T0 }, ...scalars(0, 2, T0)],
      config: 'lr: [unclosed\n',
    });
    swanlabFolder(root, {
      id: 'goodcfg',
      stamp: '20260105_093001',
      records: [{ kind: 'start', id: 'goodcfg', project: 'p', name: 'g', time: T0 }, ...scalars(0, 2, T0)],
    });
    const results = importSources({
      cwd: tmp.path,
      paths: [root],
      logdir: join(tmp.path, 'bad-config-logs'),
    });
    const bad = results.find((r) => r.sourceId === 'badcfg1')!;
    assert.equal(bad.error?.code, 'SOURCE_CORRUPT');
    assert.match(bad.error!.message, /config\.yaml/);
    const good = results.find((r) => r.sourceId === 'goodcfg')!;
    assert.equal(good.error, undefined);
    assert.equal(good.points, 4);
  });
});
