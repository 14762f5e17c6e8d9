import {
  BATCH_PREFIX_BYTES,
  BatchFormatError,
  type BatchHeader,
  batchHeaderLength,
  decodeBatch,
  MAX_BATCH_HEADER_BYTES,
  SwanlogError,
  sliceBlobs,
} from '@swanlog/protocol';
import { batchHeaderSchema } from '@swanlog/protocol/schemas';
import { type ChunkPoints, ChunkScratch, decodeChunk } from '@swanlog/store';
import { chunkFacts, copyPoints, MERGE_RECEIVED_BELOW_POINTS } from './ingest-chunk.js';
import { type BodyPrefixCheck, validate } from './read-body.js';
import type { IngestSource } from './storage/storage.js';

/** The columns every received chunk is decoded into (parsing is synchronous: one batch at a time). */
const scratch = new ChunkScratch();

/**
 * Decodes and checks an ingest batch completely before anything is stored: framing, header,
 * every chunk (checksum, point count, each point's seq within (fromSeq, toSeq], steps and
 * timestamps non-negative safe integers) and every rewind's seq. Throws BAD_REQUEST naming the
 * source and key at fault. Each chunk's summary columns and block summaries are computed while it
 * is decoded, so a large chunk's points need not be kept until it is stored.
 */
export function parseIngestBatch(body: Buffer): IngestSource[] {
  let header: BatchHeader;
  let blobs: Uint8Array[];
  try {
    const framed = decodeBatch(body);
    header = validate(batchHeaderSchema, framed.header, 'batch header');
    blobs = sliceBlobs(header, framed.body, framed.blobsAt);
  } catch (error) {
    throw batchError(error);
  }
  const seen = new Set<string>();
  let at = 0;
  return header.sources.map((s) => {
    if (seen.has(s.source))
      throw new SwanlogError('BAD_REQUEST', `source ${s.source} appears twice in the batch`);
    seen.add(s.source);
    for (const r of s.rewinds) {
      if (r.seq <= s.fromSeq || r.seq > s.toSeq)
        throw new SwanlogError(
          'BAD_REQUEST',
          `rewind seq ${r.seq} of source ${s.source} is outside (fromSeq, toSeq]`,
        );
    }
    const chunks = s.chunks.map((c) => {
      const blob = blobs[at++]!;
      const fail = (why: string, cause?: unknown) =>
        new SwanlogError(
          'BAD_REQUEST',
          `chunk of key ${JSON.stringify(c.key)} (source ${s.source}): ${why}`,
          {
            cause,
          },
        );
      // The count the chunk claims, checked before decoding allocates room for it.
      const claimed =
        blob.byteLength >= 8 ? Buffer.from(blob.buffer, blob.byteOffset, 8).readUInt32LE(4) : c.n;
      if (claimed !== c.n) throw fail(`holds ${claimed} points, header says ${c.n}`);
      let points: ChunkPoints;
      try {
        points = decodeChunk(blob, scratch);
      } catch (error) {
        throw fail((error as Error).message, error);
      }
      if (points.steps.length !== c.n) throw fail(`holds ${points.steps.length} points, header says ${c.n}`);
      const bad = firstBadPoint(points, s.fromSeq, s.toSeq, stepRange);
      if (bad >= 0) {
        const seq = points.seqs[bad]!;
        const step = points.steps[bad]!;
        if (!(seq > s.fromSeq && seq <= s.toSeq)) throw fail(`point seq ${seq} is outside (fromSeq, toSeq]`);
        if (!Number.isSafeInteger(step) || step < 0)
          throw fail(`step ${step} is not a non-negative safe integer`);
        throw fail(`timestamp ${points.ts[bad]} is not a safe integer`);
      }
      // The points decoded here are overwritten by the next chunk's: kept (copied) only for a
      // chunk small enough to be appended to another; the rest is stored as received.
      const facts = chunkFacts(points, stepRange);
      return points.steps.length < MERGE_RECEIVED_BELOW_POINTS
        ? { key: c.key, points: copyPoints(points), encoded: blob, facts }
        : { key: c.key, encoded: blob, facts };
    });
    return {
      source: s.source,
      fromSeq: s.fromSeq,
      toSeq: s.toSeq,
      session: s.session,
      rewinds: s.rewinds,
      chunks,
    };
  });
}

/** The step range firstBadPoint measured last (reused: parsing is synchronous). */
const stepRange = { min: 0, max: 0 };

/**
 * Index of the first point whose seq is outside (fromSeq, toSeq], whose step is not a non-negative
 * safe integer or whose timestamp is not a safe integer; -1 when every point is sound, and then
 * `range` holds the lowest and highest step.
 *
 * A 10^7-point upload checks every point, so the common case is one pass over the steps: a decoded
 * chunk's columns are sums of varint deltas, so every value is an integer; timestamps and sequence
 * numbers add deltas that are never negative (unsigned varints), so they never decrease and their
 * first and last values bound them all (a last one within the safe range also keeps every partial
 * sum exact). Only a chunk that fails those bounds is walked point by point to name the culprit.
 */
function firstBadPoint(
  points: ChunkPoints,
  fromSeq: number,
  toSeq: number,
  range: { min: number; max: number },
): number {
  const { seqs, steps, ts } = points;
  const n = steps.length;
  const max = Number.MAX_SAFE_INTEGER;
  let stepMin = Number.POSITIVE_INFINITY;
  let stepMax = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const step = steps[i]!;
    if (step < stepMin) stepMin = step;
    if (step > stepMax) stepMax = step;
  }
  range.min = stepMin;
  range.max = stepMax;
  if (n === 0) return -1;
  const bounded =
    seqs[0]! > fromSeq &&
    seqs[n - 1]! <= toSeq &&
    ts[0]! >= -max &&
    ts[n - 1]! <= max &&
    stepMin >= 0 &&
    stepMax <= max;
  return bounded ? -1 : firstBadPointByPoint(points, fromSeq, toSeq);
}

/** firstBadPoint's answer found point by point (for a chunk known to hold a bad point). */
function firstBadPointByPoint(points: ChunkPoints, fromSeq: number, toSeq: number): number {
  const { seqs, steps, ts } = points;
  const max = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < steps.length; i++) {
    const seq = seqs[i]!;
    const step = steps[i]!;
    const t = ts[i]!;
    // NaN fails every comparison; Math.floor(x) === x holds for integers only.
    if (
      !(seq > fromSeq && seq <= toSeq) ||
      !(step >= 0 && step <= max && Math.floor(step) === step) ||
      !(t >= -max && t <= max && Math.floor(t) === t)
    )
      return i;
  }
  return -1;
}

/**
 * Refuses a batch from its first bytes (bad magic, a header over MAX_BATCH_HEADER_BYTES) while
 * the rest is still on the wire: a hostile 32 MiB body then costs nothing to read or parse.
 */
export const batchPrefixCheck: BodyPrefixCheck = {
  bytes: BATCH_PREFIX_BYTES,
  check(prefix) {
    try {
      batchHeaderLength(prefix);
    } catch (error) {
      throw batchError(error);
    }
  },
};

function batchError(error: unknown): unknown {
  if (!(error instanceof BatchFormatError)) return error;
  if (error.tooLarge)
    return new SwanlogError('PAYLOAD_TOO_LARGE', error.message, {
      hint: `send fewer chunks per batch: the header may take ${MAX_BATCH_HEADER_BYTES} bytes`,
      cause: error,
    });
  return new SwanlogError('BAD_REQUEST', error.message, { cause: error });
}
