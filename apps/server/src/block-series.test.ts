// Downsampled reads from block summaries (docs/api.md "Downsampling"): the answer read from blocks
// is the exact one wherever bucket edges fall on block edges, never shows a hidden point, keeps
// every spike, and counts exactly.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MetricSeries } from '@swanlog/protocol';
import { buildSeries, type ChunkPoints, decodeChunk } from '@swanlog/store';
import Database from 'better-sqlite3';
import { blockSeries } from './block-series.js';
import { BLOCK_POINTS } from './block-summary.js';
import { rankedRewinds, rankOf, ranksOf } from './experiment-view.js';
import { type MetricQuery, metricSeries } from './metric-series.js';
import { seriesResponse } from './series-response.js';
import { openSqliteStorage, SQLITE_FILE } from './storage/sqlite-storage.js';
import type { ChunkSummaryRecord, ExperimentRef, IngestSource, Storage } from './storage/storage.js';
import { testSession } from './storage/storage-contract.js';

const KEY = 'train/loss';
let dataDir: string;
let storage: Storage;
let made = 0;

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'swanlog-block-series-'));
  storage = openSqliteStorage({ dataDir });
});
after(() => {
  storage.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Writes {
  source: string;
  /** Steps written, in call order (seq 1, 2, ...). */
  steps: number[];
  value: (step: number, seq: number) => number;
  /** ts of the first write; each later write is 1 ms on. */
  ts0: number;
  rewinds?: { seq: number; ts: number; step: number }[];
  /** Points per uploaded chunk. */
  chunk?: number;
}

/** A new experiment holding `writes`, uploaded in chunks of `chunk` points per source. */
function experiment(writes: Writes[]): ExperimentRef {
  const ref = { workspace: 'ws', id: `exp-${++made}` };
  storage.createExperiment('ws', {
    requestKey: ref.id,
    requestedId: ref.id,
    exactId: true,
    project: 'p',
    name: null,
    createdAt: 1,
    copiedFrom: null,
  });
  for (const w of writes) {
    const size = w.chunk ?? 12_800;
    // Seq 0 is the rewind's (when there is one); the points take seqs 1..n.
    let fromSeq = -1;
    for (let at = 0; at < w.steps.length; at += size) {
      const n = Math.min(size, w.steps.length - at);
      const points: ChunkPoints = {
        steps: new Float64Array(n),
        values: new Float64Array(n),
        ts: new Float64Array(n),
        seqs: new Float64Array(n),
      };
      for (let i = 0; i < n; i++) {
        const seq = at + i + 1;
        points.steps[i] = w.steps[at + i]!;
        points.values[i] = w.value(w.steps[at + i]!, seq);
        points.ts[i] = w.ts0 + seq;
        points.seqs[i] = seq;
      }
      const source: IngestSource = {
        source: w.source,
        fromSeq,
        toSeq: at + n,
        session: testSession({ heartbeatAt: w.ts0 + at + n }),
        rewinds: at === 0 ? (w.rewinds ?? []) : [],
        chunks: [{ key: KEY, points }],
      };
      assert.equal((storage.ingest(ref, [source]) as { status: string }).status, 'stored');
      fromSeq = source.toSeq;
    }
  }
  return ref;
}

/** The answer of the exact path: every chunk decoded, the visible series built, then downsampled. */
function exact(ref: ExperimentRef, query: MetricQuery): MetricSeries {
  const ranks = ranksOf(storage.sources(ref) as { source: string }[]);
  const rewinds = rankedRewinds(storage.rewinds(ref) as never, ranks);
  const parts = (storage.chunks(ref, KEY) as { source: string; data: Uint8Array }[]).map((c) => ({
    rank: rankOf(ranks, c.source),
    ...decodeChunk(c.data),
  }));
  return seriesResponse(buildSeries(KEY, parts, rewinds, false), query);
}

/** The answer read from block summaries, or undefined when blockSeries leaves it to the exact path. */
async function fromBlocks(ref: ExperimentRef, query: MetricQuery): Promise<MetricSeries | undefined> {
  const ranks = ranksOf(storage.sources(ref) as { source: string }[]);
  const rewinds = rankedRewinds(storage.rewinds(ref) as never, ranks);
  const summaries = storage.chunkSummaries(ref, KEY) as ChunkSummaryRecord[];
  return blockSeries(storage, ref, KEY, summaries, ranks, rewinds, query);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
/** A wave with spikes (and one NaN) that a bucket must keep. */
const wave = (step: number) =>
  step === 77_777
    ? Number.NaN
    : Math.sin(step / 900) + (step % 9_973 === 0 ? 50 : 0) - (step % 13_001 === 0 ? 40 : 0);

/**
 * What every answer read from blocks must hold, against `all`, the exact answer keeping every
 * point: the exact total, at most maxPoints points in step order, each one a stored visible point.
 */
function assertFaithful(got: MetricSeries, all: MetricSeries, maxPoints: number): void {
  assert.equal(got.total, all.total, 'total counts every visible point');
  assert.equal(got.downsampled, true);
  assert.ok(got.points.length <= maxPoints, `${got.points.length} points for maxPoints ${maxPoints}`);
  const byStep = new Map(all.points.map((p) => [p.step, p]));
  for (let i = 0; i < got.points.length; i++) {
    const p = got.points[i]!;
    if (i > 0) assert.ok(p.step > got.points[i - 1]!.step, 'points come in step order');
    assert.deepEqual(p, byStep.get(p.step), `point at step ${p.step} is the visible stored one`);
  }
}

describe('downsampled reads from block summaries', () => {
  test('one writer, buckets on block edges: the same answer as decoding every point', async () => {
    const buckets = 100;
    const n = buckets * BLOCK_POINTS * 10; // 10 blocks per bucket
    const ref = experiment([{ source: 'a', steps: range(0, n), value: wave, ts0: 1_000 }]);
    const query = { maxPoints: buckets * 2 };
    const got = await metricSeries(storage, ref, KEY, query);
    assert.deepEqual(await fromBlocks(ref, query), got, 'read from blocks');
    assert.deepEqual(got, exact(ref, query));
    assert.equal(got.total, n);
    assert.equal(got.points.length, buckets * 2);
  });

  test('buckets across block edges: real visible points only, every spike kept, exact total', async () => {
    const n = 333_333;
    const ref = experiment([{ source: 'a', steps: range(5, n), value: wave, ts0: 1_000, chunk: 10_000 }]);
    const query = { maxPoints: 200 };
    const got = await metricSeries(storage, ref, KEY, query);
    assert.deepEqual(await fromBlocks(ref, query), got, 'read from blocks');
    const all = exact(ref, { maxPoints: n });
    assertFaithful(got, all, 200);
    const steps = new Set(got.points.map((p) => p.step));
    for (let s = 5; s < n + 5; s++) {
      // A NaN counts above everything: it is its bucket's highest point, in place of a spike there.
      const nearNaN = Math.abs(s - 77_777) < 2 * (n / 100);
      if (s === 77_777 || (!nearNaN && (s % 9_973 === 0 || s % 13_001 === 0)))
        assert.ok(steps.has(s), `spike at ${s} kept`);
    }
    assert.equal(got.points.find((p) => p.step === 77_777)?.value, 'NaN');
  });

  test('a resumed run: nothing the rewind hides shows, the resumed points do', async () => {
    const buckets = 200;
    const perBucket = BLOCK_POINTS * 8;
    const total = buckets * perBucket; // steps 0 .. total-1 visible in the end
    const rewindAt = 100 * perBucket - 1;
    const ref = experiment([
      // The first session wrote up to step 150,000, then died; the second resumed from step 102,399.
      // One of its chunks (98,560 to 108,415) holds both points that stay and points that go.
      {
        source: 'a',
        steps: range(0, 150_001),
        value: (s) => s / 1_000,
        ts0: 1_000,
        chunk: 77 * BLOCK_POINTS,
      },
      {
        source: 'b',
        steps: range(rewindAt + 1, total - rewindAt - 1),
        value: (s) => -s / 1_000,
        ts0: 1_000_000,
        rewinds: [{ seq: 0, ts: 999_999, step: rewindAt }],
      },
    ]);
    const query = { maxPoints: buckets * 2 };
    const got = await metricSeries(storage, ref, KEY, query);
    assert.deepEqual(await fromBlocks(ref, query), got, 'read from blocks');
    const want = exact(ref, query);
    assert.equal(got.total, total);
    // Blocks lie on bucket edges here, so even the points agree.
    assert.deepEqual(got, want);
    for (const p of got.points) {
      const fromB = p.step > rewindAt;
      assert.equal(Number(p.value) < 0, fromB, `step ${p.step} shows the right session`);
    }
  });

  test('two writers of the same steps: the later write shows, as when every point is read', async () => {
    const buckets = 40;
    const n = buckets * BLOCK_POINTS * 8;
    const ref = experiment([
      { source: 'a', steps: range(0, n), value: (s) => s, ts0: 1_000 },
      // b writes the middle third again, later: its values win there.
      { source: 'b', steps: range(n / 4, n / 2), value: (s) => -s, ts0: 5_000_000 },
    ]);
    const query = { maxPoints: buckets * 2 };
    const got = await metricSeries(storage, ref, KEY, query);
    assert.deepEqual(await fromBlocks(ref, query), got, 'read from blocks');
    assert.deepEqual(got, exact(ref, query));
    assert.equal(got.total, n);
  });

  test('sparse steps: a block wider than 1/8 of a bucket is read point by point', async () => {
    // 1,920 points on steps 0..1919, then 128 points 100,000 steps apart: the tail's one block
    // spans two thirds of the range and must not carry its extremes into the first bucket.
    const steps = [...range(0, 1_920), ...range(1, 128).map((i) => 1_919 + i * 100_000)];
    const tail = experiment([
      { source: 'a', steps, value: (s) => (s < 1_920 ? 0 : s), ts0: 1_000, chunk: 1_920 },
    ]);
    const query = { maxPoints: 4 };
    assert.deepEqual(await metricSeries(storage, tail, KEY, query), exact(tail, query));
    const got = await fromBlocks(tail, query);
    assert.ok(got !== undefined, 'the dense chunk is still read from blocks');
    assert.deepEqual(got, exact(tail, query));
  });

  test('a range: chunks cut by from/to are read point by point', async () => {
    const n = 400_000;
    const ref = experiment([{ source: 'a', steps: range(0, n), value: wave, ts0: 1_000 }]);
    const query = { maxPoints: 100, from: 12_345, to: 345_678 };
    const got = await metricSeries(storage, ref, KEY, query);
    assert.deepEqual(await fromBlocks(ref, query), got, 'read from blocks');
    const all = exact(ref, { ...query, maxPoints: n });
    assertFaithful(got, all, 100);
    assert.equal(got.total, 345_678 - 12_345 + 1);
    assert.ok(got.points[0]!.step >= 12_345 && got.points.at(-1)!.step <= 345_678);
  });

  test('few points per bucket: the exact path answers', async () => {
    const n = 50_000;
    const ref = experiment([{ source: 'a', steps: range(0, n), value: wave, ts0: 1_000 }]);
    for (const query of [{ maxPoints: 2_000 }, { maxPoints: 500, from: 100, to: 20_000 }]) {
      assert.equal(await fromBlocks(ref, query), undefined);
      assert.deepEqual(await metricSeries(storage, ref, KEY, query), exact(ref, query));
    }
    assert.equal(await fromBlocks(ref, { maxPoints: 20, superseded: true }), undefined);
    assert.notEqual(await fromBlocks(ref, { maxPoints: 20 }), undefined);
  });

  test('a database from before block summaries gets them when the server opens it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swanlog-block-migrate-'));
    try {
      const first = openSqliteStorage({ dataDir: dir });
      const saved = storage;
      storage = first;
      const ref = experiment([{ source: 'a', steps: range(0, 200 * BLOCK_POINTS * 8), value: wave, ts0: 1 }]);
      storage = saved;
      const ids = (first.chunkSummaries(ref, KEY) as { id: number }[]).map((c) => c.id);
      const before = first.chunkBlocks(ref, ids) as Map<number, Float64Array>;
      first.close();
      const db = new Database(join(dir, SQLITE_FILE));
      // A version-1 database: no block summaries, no experiments.source (migration 3), no team
      // metadata (4), no index of chunk summaries (5).
      db.exec(
        'DROP INDEX chunks_summary; DROP TABLE chunk_blocks; DROP TABLE deleted_experiments; ALTER TABLE experiments DROP COLUMN source; ALTER TABLE experiments DROP COLUMN tags; ALTER TABLE experiments DROP COLUMN note; ALTER TABLE experiments DROP COLUMN archived',
      );
      db.pragma('user_version = 1');
      db.close();
      const reopened = openSqliteStorage({ dataDir: dir });
      const check = new Database(join(dir, SQLITE_FILE), { readonly: true });
      const plan = check
        .prepare(
          'EXPLAIN QUERY PLAN SELECT id, source, key, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max FROM chunks WHERE exp = ? ORDER BY id',
        )
        .all(1) as { detail: string }[];
      check.close();
      assert.match(
        plan.map((p) => p.detail).join('; '),
        /COVERING INDEX chunks_summary/,
        'migration 5 built the index',
      );
      try {
        assert.deepEqual(reopened.chunkBlocks(ref, ids), before);
        assert.equal(before.size, ids.length);
        assert.equal((await reopened.getExperiment(ref))?.source, null);
        assert.deepEqual(
          (reopened.chunkSummaries(ref) as { id: number }[]).map((c) => c.id),
          ids,
          'the summaries read through the index migration 5 built',
        );
      } finally {
        reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
