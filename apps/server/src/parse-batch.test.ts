import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { encodeBatch, SwanlogError } from '@swanlog/protocol';
import { prng } from '@swanlog/store/test-support/run-fixtures';
import { ChunkCheckThread } from './chunk-check-thread.js';
import { parseIngestBatch, parseIngestBatchShared } from './parse-batch.js';
import { session } from './test-support/server.js';

/**
 * The server's per-point checks (seq within (fromSeq, toSeq], steps non-negative safe integers,
 * timestamps safe integers) against the definition written out point by point, over seeded
 * random chunks with one fault or none. The chunks are built here byte by byte (codec 1 or 2, plain
 * or run-length encoded streams), because the writers refuse to encode the faults a hostile client
 * could send.
 */

const MAX = Number.MAX_SAFE_INTEGER;

/** Unsigned LEB128 of an integer-valued double (float arithmetic past 32 bits, as the reader). */
function varint(out: number[], value: number): void {
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** The delta stream of a column, plain or run-length encoded (pairs: delta, run length). */
function stream(out: number[], column: number[], zigzag: boolean, rle: boolean): void {
  const deltas = column.map((v, i) => {
    const d = v - (i > 0 ? column[i - 1]! : 0);
    return zigzag ? (d >= 0 ? d * 2 : -d * 2 - 1) : d;
  });
  if (!rle) {
    for (const d of deltas) varint(out, d);
    return;
  }
  for (let i = 0; i < deltas.length; ) {
    let j = i + 1;
    while (j < deltas.length && deltas[j] === deltas[i]) j++;
    varint(out, deltas[i]!);
    varint(out, j - i);
    i = j;
  }
}

/**
 * A chunk of the given columns, as docs/format.md lays it out: codec 1, or codec 2 with raw
 * values; steps as zigzag deltas, timestamps and seqs as plain deltas, each stream plain or
 * run-length encoded as `rle` says.
 */
function chunkBytes(steps: number[], ts: number[], seqs: number[], codec: 1 | 2, rle: boolean[]): Buffer {
  const n = steps.length;
  const streams: number[] = [];
  stream(streams, steps, true, rle[0]!);
  stream(streams, ts, false, rle[1]!);
  stream(streams, seqs, false, rle[2]!);
  const out = Buffer.alloc(16 + 8 * n + streams.length);
  out[0] = codec;
  out[1] = (rle[0] ? 2 : 0) | (rle[1] ? 4 : 0) | (rle[2] ? 8 : 0);
  out.writeUInt32LE(n, 4);
  if (codec === 2) out.writeUInt32LE(8 * n, 12); // value encoding 0 (raw): L = 8n
  for (let i = 0; i < n; i++) out.writeDoubleLE(i * 0.5, 16 + 8 * i);
  Buffer.from(streams).copy(out, 16 + 8 * n);
  out.writeUInt32LE(crc32(out.subarray(12), crc32(out.subarray(0, 8))), 8);
  return out;
}

/** What the checks must say, point by point: the first fault's message, or null. */
function expectedFault(steps: number[], ts: number[], seqs: number[], fromSeq: number, toSeq: number) {
  for (let i = 0; i < steps.length; i++) {
    const seq = seqs[i]!;
    const step = steps[i]!;
    const t = ts[i]!;
    if (!(seq > fromSeq && seq <= toSeq)) return `point seq ${seq} is outside (fromSeq, toSeq]`;
    if (!(Number.isSafeInteger(step) && step >= 0)) return `step ${step} is not a non-negative safe integer`;
    if (!Number.isSafeInteger(t)) return `timestamp ${t} is not a safe integer`;
  }
  return null;
}

test('the per-point checks of an ingest batch agree with their point-by-point definition', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  const random = prng(seed);
  const int = (k: number) => Math.floor(random() * k);
  const faults = { none: 0, seqLow: 0, seqHigh: 0, stepNegative: 0, stepHuge: 0, tsHuge: 0 };
  for (let c = 0; c < 400; c++) {
    const n = 1 + int(random() < 0.2 ? 3 : 300);
    const fromSeq = int(1000) - 1;
    const seqs: number[] = [];
    const steps: number[] = [];
    const ts: number[] = [];
    let seq = fromSeq + 1 + int(3);
    let step = int(50);
    let t = 1_700_000_000_000 + int(1000);
    for (let i = 0; i < n; i++) {
      seqs.push(seq);
      steps.push(step);
      ts.push(t);
      seq += 1 + int(random() < 0.9 ? 1 : 20);
      step += random() < 0.9 ? 1 : int(7) - 3; // rewound steps go down, but stay >= 0 here
      if (step < 0) step = 0;
      t += random() < 0.7 ? 0 : int(5);
    }
    let lo = fromSeq;
    let hi = seqs[n - 1]! + int(3);
    const at = int(n);
    const fault = (['none', 'seqLow', 'seqHigh', 'stepNegative', 'stepHuge', 'tsHuge'] as const)[int(6)]!;
    faults[fault]++;
    if (fault === 'seqLow')
      lo = seqs[at]!; // points 0..at are at or below fromSeq
    else if (fault === 'seqHigh')
      hi = seqs[at]! - 1; // points at.. are beyond toSeq
    else if (fault === 'stepNegative') steps[at] = -1 - int(1000);
    else if (fault === 'stepHuge') steps[at] = MAX + 2 ** int(3) * 2;
    else if (fault === 'tsHuge') for (let i = at; i < n; i++) ts[i] = MAX + 2 + 2 * (i - at);
    const codec = random() < 0.5 ? 1 : 2;
    const rle = [random() < 0.5, random() < 0.5, random() < 0.5];
    const blob = chunkBytes(steps, ts, seqs, codec, rle);
    const body = encodeBatch(
      {
        sources: [
          {
            source: 'src',
            fromSeq: lo,
            toSeq: hi,
            session: session(),
            rewinds: [],
            chunks: [{ key: 'k', n, bytes: blob.length }],
          },
        ],
      },
      [blob],
    );
    const want = expectedFault(steps, ts, seqs, lo, hi);
    const label = `seed ${seed} (SEED=${seed} to repeat), case ${c}: ${fault} at ${at} of ${n}, codec ${codec}, rle ${rle}`;
    if (want === null) {
      const [source] = parseIngestBatch(body);
      const { columns } = source!.chunks[0]!.facts!;
      assert.equal(columns.stepMin, Math.min(...steps), label);
      assert.equal(columns.stepMax, Math.max(...steps), label);
      assert.equal(columns.seqMin, seqs[0], label);
      assert.equal(columns.tsMax, ts[n - 1], label);
    } else {
      assert.throws(
        () => parseIngestBatch(body),
        (error: unknown) =>
          error instanceof SwanlogError &&
          error.code === 'BAD_REQUEST' &&
          error.message === `chunk of key "k" (source src): ${want}`,
        `${label}: expected "${want}"`,
      );
    }
  }
  for (const [fault, count] of Object.entries(faults))
    assert.ok(count > 20, `seed ${seed}: few ${fault} cases`);
});

/** Everything a parsed chunk is stored with, comparable with deepEqual. */
function parsedView(sources: Awaited<ReturnType<typeof parseIngestBatchShared>>) {
  return sources.map((s) => ({
    ...s,
    chunks: s.chunks.map((c) => ({
      key: c.key,
      encoded: Buffer.from(c.encoded!),
      columns: c.facts!.columns,
      blocks: [...c.facts!.blocks],
      points: c.points === undefined ? undefined : Object.entries(c.points).map(([k, v]) => [k, [...v]]),
    })),
  }));
}

test('a batch checked on two threads gives what one thread gives, the first fault included', async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  const random = prng(seed);
  const int = (k: number) => Math.floor(random() * k);
  const thread = new ChunkCheckThread(new URL('./chunk-check-worker.js', import.meta.url));
  let faulty = 0;
  for (let b = 0; b < 30; b++) {
    const sources = [];
    const blobs: Buffer[] = [];
    let fault: string | null = null;
    for (const source of ['a', 'b']) {
      const fromSeq = int(100);
      let seq = fromSeq + 1;
      const chunks = [];
      for (let c = 0; c < 5 + int(60); c++) {
        // Chunks of up to 1,200 points: those under 512 are also handed back decoded.
        const n = 1 + int(1200);
        const seqs = Array.from({ length: n }, (_, i) => seq + i);
        const steps = seqs.map((s) => s * 2);
        const ts = seqs.map((s) => 1_700_000_000_000 + s);
        seq += n;
        if (fault === null && random() < 0.02) {
          fault = `chunk ${c} of ${source}`;
          steps[int(n)] = -1;
        }
        const blob = chunkBytes(steps, ts, seqs, random() < 0.5 ? 1 : 2, [random() < 0.5, false, true]);
        chunks.push({ key: `k${c}`, n, bytes: blob.length });
        blobs.push(blob);
      }
      sources.push({ source, fromSeq, toSeq: seq - 1, session: session(), rewinds: [], chunks });
    }
    const body = encodeBatch({ sources }, blobs);
    const label = `seed ${seed} (SEED=${seed} to repeat), batch ${b}${fault === null ? '' : `, fault in ${fault}`}`;
    let one: unknown;
    try {
      one = parsedView(parseIngestBatch(body));
    } catch (error) {
      one = error;
    }
    let two: unknown;
    try {
      two = parsedView(await parseIngestBatchShared(body, { thread, minBytes: 0 }));
    } catch (error) {
      two = error;
    }
    if (one instanceof Error) {
      faulty++;
      assert.ok(two instanceof SwanlogError && two.code === 'BAD_REQUEST', label);
      assert.equal(two.message, one.message, label);
    } else assert.deepEqual(two, one, label);
  }
  assert.ok(thread.usable(), `seed ${seed}: the thread is still in use`);
  assert.ok(thread.checkedThere > 0, `seed ${seed}: the thread checked ${thread.checkedThere} chunks`);
  assert.ok(faulty > 0 && faulty < 30, `seed ${seed}: ${faulty} of 30 batches faulty`);
});

test('a chunk-checking thread that fails leaves the checks to the main thread, same answers', async () => {
  const thread = new ChunkCheckThread(new URL('data:text/javascript,throw new Error("no thread here")'));
  const steps = Array.from({ length: 700 }, (_, i) => i);
  const blobs = [0, 1, 2].map(() =>
    chunkBytes(
      steps,
      steps,
      steps.map((s) => s + 1),
      2,
      [true, true, true],
    ),
  );
  const body = encodeBatch(
    {
      sources: [
        {
          source: 'src',
          fromSeq: 0,
          toSeq: 700,
          session: session(),
          rewinds: [],
          chunks: blobs.map((blob, i) => ({ key: `k${i}`, n: 700, bytes: blob.length })),
        },
      ],
    },
    blobs,
  );
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    assert.deepEqual(
      parsedView(await parseIngestBatchShared(body, { thread, minBytes: 0 })),
      parsedView(parseIngestBatch(body)),
    );
    for (let i = 0; i < 100 && thread.usable(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(thread.usable(), false, 'not used again once it failed');
    assert.deepEqual(
      parsedView(await parseIngestBatchShared(body, { thread, minBytes: 0 })),
      parsedView(parseIngestBatch(body)),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(
      warnings.some((m) => m.includes('chunk-checking thread stopped')),
      `warned: ${warnings.join('; ')}`,
    );
  } finally {
    process.off('warning', onWarning);
  }
});
