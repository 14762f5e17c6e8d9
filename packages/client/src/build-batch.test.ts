import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeBatch,
  MAX_BATCH_HEADER_BYTES,
  type SessionInfo,
  type SwanlogError,
  sliceBlobs,
} from '@swanlog/protocol';
import { batchHeaderSchema } from '@swanlog/protocol/schemas';
import { decodeChunk, encodeChunk } from '@swanlog/store';
import type { KeyChunks } from './cut-batches.js';
import { buildBatch } from './upload-run.js';

const session: SessionInfo = {
  segment: '01J0000000000000000000SEG0',
  host: 'h',
  pid: 1,
  startedAt: 1,
  clockStart: 1,
  resumed: false,
  fromStep: null,
  endedAt: null,
  endState: null,
  heartbeatAt: null,
};

describe('buildBatch', () => {
  test('carries exactly the points and rewinds with seq in (from, to], values bit-exact', () => {
    const seqs = Float64Array.from([0, 1, 2, 3, 4, 5]);
    const nanWithPayload = new Float64Array(new BigUint64Array([0x7ff8000000000abcn]).buffer)[0]!;
    const points = {
      steps: Float64Array.from([0, 1, 2, 1, 2, 3]),
      values: Float64Array.from([1, -0, Number.NaN, nanWithPayload, Number.POSITIVE_INFINITY, 0.1]),
      ts: Float64Array.from([10, 10, 11, 12, 12, 13]),
      seqs,
    };
    const k: KeyChunks = {
      key: 'train/loss',
      chunks: [{ n: 6, seqMin: 0, seqMax: 5, data: encodeChunk(points) }],
    };
    const rewinds = [
      { seq: 0, ts: 9, step: 0 },
      { seq: 3, ts: 12, step: 0 },
    ];
    const body = buildBatch('01J0000000000000000000SRC0', session, { keys: [k], rewinds }, 0, 4);
    const { header, blobsAt, body: buf } = decodeBatch(body);
    const parsed = batchHeaderSchema.parse(header);
    const src = parsed.sources[0]!;
    assert.equal(src.fromSeq, 0);
    assert.equal(src.toSeq, 4);
    assert.deepEqual(src.rewinds, [{ seq: 3, ts: 12, step: 0 }]);
    const blobs = sliceBlobs(parsed, buf, blobsAt);
    const sent = decodeChunk(blobs[0]!);
    assert.deepEqual([...sent.seqs], [1, 2, 3, 4]);
    assert.deepEqual([...sent.steps], [1, 2, 1, 2]);
    assert.deepEqual(
      Buffer.from(sent.values.buffer, sent.values.byteOffset, 32),
      Buffer.from(points.values.buffer, 8, 32),
    );
  });

  test('a chunk whose points are all in goes up byte for byte as stored', () => {
    const part = (first: number) => {
      const seqs = Float64Array.from([first, first + 1, first + 2]);
      return {
        n: 3,
        seqMin: first,
        seqMax: first + 2,
        data: encodeChunk({ steps: seqs, values: seqs, ts: seqs, seqs }),
      };
    };
    const k: KeyChunks = { key: 'acc', chunks: [part(1), part(4), part(7)] };
    const body = buildBatch('S', session, { keys: [k], rewinds: [] }, 0, 8);
    const framed = decodeBatch(body);
    const parsed = batchHeaderSchema.parse(framed.header);
    const blobs = sliceBlobs(parsed, framed.body, framed.blobsAt);
    assert.deepEqual(
      parsed.sources[0]!.chunks.map((c) => c.n),
      [3, 3, 2],
    );
    assert.ok(Buffer.from(blobs[0]!).equals(k.chunks[0]!.data!));
    assert.ok(Buffer.from(blobs[1]!).equals(k.chunks[1]!.data!));
    assert.deepEqual([...decodeChunk(blobs[2]!).seqs], [7, 8], 'the cut chunk carries only (0, 8]');
  });

  test('a session-only batch (nothing new) has no chunks and fromSeq = toSeq', () => {
    const body = buildBatch('S', { ...session, endState: 'crashed' }, { keys: [], rewinds: [] }, 7, 7);
    const parsed = batchHeaderSchema.parse(decodeBatch(body).header);
    assert.deepEqual(parsed.sources[0]!.chunks, []);
    assert.equal(parsed.sources[0]!.session.endState, 'crashed');
  });

  // The server refuses a header over MAX_BATCH_HEADER_BYTES; a log call too wide for it (one seq
  // is never split across batches) is refused here, naming the source and seqs, not sent.
  test('a batch whose header would be over the server limit is PAYLOAD_TOO_LARGE before sending', () => {
    const one = encodeChunk({
      steps: Float64Array.of(0),
      values: Float64Array.of(1),
      ts: Float64Array.of(10),
      seqs: Float64Array.of(0),
    });
    const keys: KeyChunks[] = Array.from({ length: 30_000 }, (_, i) => ({
      key: `${'k'.repeat(250)}${i}`,
      chunks: [{ n: 1, seqMin: 0, seqMax: 0, data: one }],
    }));
    assert.throws(
      () => buildBatch('01J0000000000000000000SRC0', session, { keys, rewinds: [] }, -1, 0),
      (error: SwanlogError) =>
        error.code === 'PAYLOAD_TOO_LARGE' &&
        /source 01J0000000000000000000SRC0: the batch of seqs \(-1, 0\] needs a header of \d+ bytes \(30000 chunks, 0 rewinds\), more than the server's 8388608/.test(
          error.message,
        ) &&
        /fewer keys per call/.test(error.hint ?? ''),
    );
    // Half as many keys fit.
    const body = buildBatch(
      '01J0000000000000000000SRC0',
      session,
      { keys: keys.slice(0, 15_000), rewinds: [] },
      -1,
      0,
    );
    assert.ok(body.readUInt32LE(4) <= MAX_BATCH_HEADER_BYTES);
  });
});
