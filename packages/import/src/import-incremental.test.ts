import assert from 'node:assert/strict';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { createRun, RunReader, WRITERS_DIR } from '@swanlog/store';
import Database from 'better-sqlite3';
import { EventSchema } from './gen/tensorboard_pb.js';
import { importSources } from './import-sources.js';
import { frameTfRecord } from './read-tf-records.js';
import { copyTbRuns, tempDir, visibleSeries } from './test-support/fixtures.js';

const tmp = tempDir();
after(() => tmp.remove());

let n = 0;
function fresh(): string {
  const dir = join(tmp.path, `case-${n++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function eventFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.includes('tfevents'))
    .sort()
    .map((f) => join(dir, f));
}

/** Byte offsets where each TFRecord of `bytes` ends. */
function recordEnds(bytes: Buffer): number[] {
  const ends: number[] = [];
  for (let at = 0; at < bytes.length; ) {
    at += 12 + Number(bytes.readBigUInt64LE(at)) + 4;
    ends.push(at);
  }
  return ends;
}

function scalarEvent(step: number, wallTime: number, tag: string, value: number): Uint8Array {
  const event = create(EventSchema, {
    wallTime,
    step: BigInt(step),
    what: { case: 'summary', value: { value: [{ tag, value: { case: 'simpleValue', value } }] } },
  });
  return frameTfRecord(toBinary(EventSchema, event));
}

function fileVersion(wallTime: number): Uint8Array {
  const event = create(EventSchema, { wallTime, what: { case: 'fileVersion', value: 'brain.Event:2' } });
  return frameTfRecord(toBinary(EventSchema, event));
}

describe('incremental import', () => {
  test('importing the same source again adds nothing and says up-to-date', () => {
    const dir = fresh();
    const runs = copyTbRuns(dir);
    const first = importSources({ cwd: dir, paths: [runs], logdir: join(dir, 'logs') });
    const again = importSources({ cwd: dir, paths: [runs], logdir: join(dir, 'logs') });
    assert.ok(first.every((r) => r.action === 'created' && r.points > 0));
    for (const r of again) {
      assert.equal(r.action, 'up-to-date', r.sourceId ?? '');
      assert.equal(r.points, 0);
      assert.equal(r.sessions, 0);
      assert.deepEqual(r.skipped, {});
    }
    assert.deepEqual(
      again.map((r) => r.dir),
      first.map((r) => r.dir),
    );
  });

  test('a grown source adds only its new records; a torn last record waits for the next import', () => {
    const dir = fresh();
    const runs = copyTbRuns(dir);
    const purge = join(runs, 'torch-purge');
    const [firstFile, secondFile] = eventFiles(purge) as [string, string];
    const full = readFileSync(secondFile);
    const ends = recordEnds(full);
    // The writer of the second session is still running: its two file_version events, the
    // SessionLog START of purge_step=5 and step 5 are written, step 6 is half-written.
    const cut = ends[3]! + Math.floor((ends[4]! - ends[3]!) / 2);
    writeFileSync(secondFile, full.subarray(0, cut));
    const logdir = join(dir, 'logs');
    const reference = visibleSeries(
      importSources({ cwd: dir, paths: [copyTbRuns(fresh())], logdir: join(dir, 'ref') }).find(
        (r) => r.sourceId === 'torch-purge',
      )!.dir!,
    );

    const partial = importSources({ cwd: dir, paths: [purge], logdir })[0]!;
    assert.equal(partial.action, 'created');
    assert.equal(partial.sessions, 2);
    const early = visibleSeries(partial.dir!)['train/loss']!;
    // The restart (purge_step=5) and its first point are in; the torn record is not half-read.
    assert.deepEqual(
      early.map((p) => p.step),
      [0, 1, 2, 3, 4, 5],
    );

    appendFileSync(secondFile, full.subarray(cut));
    const grown = importSources({ cwd: dir, paths: [purge], logdir })[0]!;
    assert.equal(grown.action, 'appended');
    assert.equal(grown.sessions, 0, 'the grown file continues its session');
    assert.equal(grown.points, 7);
    assert.deepEqual(visibleSeries(grown.dir!), reference);
    const reader = RunReader.open(grown.dir!);
    assert.equal(reader.segments().length, 2);
    reader.close();
    assert.ok(firstFile < secondFile);
  });

  test('a damaged record (bad CRC) is skipped and counted, the rest of the file is read', () => {
    const dir = fresh();
    const runs = copyTbRuns(dir);
    const file = eventFiles(join(runs, 'tf1-restart'))[0]!;
    const bytes = readFileSync(file);
    const ends = recordEnds(bytes);
    bytes[ends[3]! - 6] = bytes[ends[3]! - 6]! ^ 0xff; // inside the data of record 4 (step 2)
    writeFileSync(file, bytes);
    const r = importSources({ cwd: dir, paths: [join(runs, 'tf1-restart')], logdir: join(dir, 'logs') })[0]!;
    assert.equal(r.error, undefined);
    assert.deepEqual(r.skipped, { damaged: 1 });
    const loss = visibleSeries(r.dir!).loss!;
    assert.deepEqual(
      loss.map((p) => p.step),
      [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    );
  });

  test('a file whose framing is damaged is SOURCE_CORRUPT naming it; the other runs are imported', () => {
    const dir = fresh();
    const runs = copyTbRuns(dir);
    const file = eventFiles(join(runs, 'tf1-restart'))[0]!;
    const bytes = readFileSync(file);
    const ends = recordEnds(bytes);
    bytes[ends[4]!] = bytes[ends[4]!]! ^ 0x01; // the length of record 6
    writeFileSync(file, bytes);
    const results = importSources({ cwd: dir, paths: [runs], logdir: join(dir, 'logs') });
    const bad = results.find((r) => r.sourceId === 'tf1-restart')!;
    assert.equal(bad.error?.code, 'SOURCE_CORRUPT');
    assert.match(
      bad.error.message,
      new RegExp(`^${file.replace(/[.]/g, '\\.')}: the record at byte ${ends[4]}`),
    );
    // What came before the damage is imported.
    assert.deepEqual(
      visibleSeries(bad.dir!).loss!.map((p) => p.step),
      [0, 1, 2, 3],
    );
    for (const r of results) if (r !== bad) assert.equal(r.error, undefined);
  });

  test('a moved folder imports into the same run (the source id is the path below the import root)', () => {
    const dir = fresh();
    const runs = copyTbRuns(dir);
    const logdir = join(dir, 'logs');
    const first = importSources({ cwd: dir, paths: [runs], logdir });
    const moved = join(dir, 'elsewhere');
    renameSync(runs, moved);
    const again = importSources({ cwd: dir, paths: [moved], logdir });
    assert.deepEqual(
      again.map((r) => [r.sourceId, r.action, r.dir]),
      first.map((r) => [r.sourceId, 'up-to-date', r.dir]),
    );
  });

  test('a run id taken by a run of another origin: a stable derived id, reported', () => {
    const dir = fresh();
    const runs = copyTbRuns(dir);
    const logdir = join(dir, 'logs');
    createRun({ logdir, id: 'tbx', project: 'mine', workspace: null, name: null });
    const r = importSources({ cwd: dir, paths: [join(runs, 'tbx')], logdir }).find(
      (x) => x.sourceId === 'tbx',
    )!;
    assert.equal(r.derivedId, true);
    assert.match(r.id!, /^tbx-[0-9a-f]{12}$/);
    const other = fresh();
    createRun({ logdir: join(other, 'logs'), id: 'tbx', project: 'mine', workspace: null, name: null });
    cpSync(join(runs, 'tbx'), join(other, 'tbx'), { recursive: true });
    const r2 = importSources({ cwd: other, paths: [join(other, 'tbx')], logdir: join(other, 'logs') }).find(
      (x) => x.sourceId === 'tbx',
    )!;
    assert.equal(r2.id, r.id, 'the same source gets the same derived id');
    const reader = RunReader.open(r.dir!);
    assert.deepEqual(reader.meta.source, { kind: 'tensorboard', path: join(runs, 'tbx'), id: 'tbx' });
    reader.close();
  });

  test("timestamps go back in the source: clamped non-decreasing, the source's own time kept", () => {
    const dir = fresh();
    const run = join(dir, 'src', 'clock');
    mkdirSync(run, { recursive: true });
    const t = 1_700_000_000;
    const records = [
      fileVersion(t),
      scalarEvent(0, t + 10, 'x', 1),
      scalarEvent(1, t + 5, 'x', 2),
      scalarEvent(2, t + 20, 'x', 3),
    ];
    writeFileSync(join(run, 'events.out.tfevents.1.host'), Buffer.concat(records));
    const r = importSources({ cwd: dir, paths: [run], logdir: join(dir, 'logs') })[0]!;
    const x = visibleSeries(r.dir!).x!;
    assert.deepEqual(
      x.map((p) => [p.step, p.value, p.ts]),
      [
        [0, 1, (t + 10) * 1000],
        [1, 2, (t + 10) * 1000],
        [2, 3, (t + 20) * 1000],
      ],
    );
    const writer = readdirSync(join(r.dir!, WRITERS_DIR)).find((f) => f.endsWith('.sqlite'))!;
    const db = new Database(join(r.dir!, WRITERS_DIR, writer), { readonly: true });
    assert.deepEqual(db.prepare('SELECT time FROM source_times').all(), [{ time: (t + 5) * 1000 }]);
    db.close();
  });
});

describe('TensorBoard purge rules', () => {
  test('purge_step=0 (SessionLog START at step 0) hides every earlier step: a rewind to -1', () => {
    const dir = fresh();
    const run = join(dir, 'src', 'purge0');
    mkdirSync(run, { recursive: true });
    const t = 1_700_000_000;
    writeFileSync(
      join(run, 'events.out.tfevents.1.host'),
      Buffer.concat([fileVersion(t), scalarEvent(0, t + 1, 'x', 1), scalarEvent(1, t + 2, 'x', 2)]),
    );
    const start = create(EventSchema, {
      wallTime: t + 3,
      step: 0n,
      what: { case: 'sessionLog', value: { status: 1 } },
    });
    writeFileSync(
      join(run, 'events.out.tfevents.2.host'),
      Buffer.concat([
        fileVersion(t + 3),
        frameTfRecord(toBinary(EventSchema, start)),
        scalarEvent(0, t + 4, 'x', 9),
      ]),
    );
    const r = importSources({ cwd: dir, paths: [run], logdir: join(dir, 'logs') })[0]!;
    assert.equal(r.error, undefined);
    assert.deepEqual(
      visibleSeries(r.dir!).x!.map((p) => [p.step, p.value]),
      [[0, 9]],
    );
    assert.equal(r.superseded, 2);
  });
});
