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
import { type ChunkCheckThread, chunkCheckThread } from './chunk-check-thread.js';
import { type ChunkFacts, chunkFacts, copyPoints, MERGE_RECEIVED_BELOW_POINTS } from './ingest-chunk.js';
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
  return checkedInOrder(framedBatch(body));
}

/** The batch's sources with every chunk checked here, in batch order. */
function checkedInOrder(batch: FramedBatch): IngestSource[] {
  return sourcesOf(batch, batch.chunks.map(checkEntry));
}

/** checkReceivedChunk of a batch's chunk, a fault reported as the BAD_REQUEST naming it. */
function checkEntry({ key, n, source, fromSeq, toSeq, blob }: BatchChunkEntry): CheckedChunk {
  try {
    return checkReceivedChunk(blob, n, fromSeq, toSeq, scratch);
  } catch (error) {
    throw chunkError(error, key, source);
  }
}

/**
 * Bytes of chunks from which a batch's checks are shared with the chunk-checking thread (below
 * that, handing work over costs more than it saves).
 */
export const SHARED_CHECK_MIN_BYTES = 512 * 1024;

/**
 * parseIngestBatch, with the chunks of a large batch checked on two threads at once: this one and
 * the chunk-checking thread each take the next chunk nobody has taken, so the work splits by what
 * each thread gets done (chunks differ in cost, and the second core is shared with other work).
 * Same checks, same answer, same first error in batch order; a thread that cannot be used leaves
 * everything to this one.
 */
export async function parseIngestBatchShared(
  body: Buffer,
  {
    thread = chunkCheckThread,
    minBytes = SHARED_CHECK_MIN_BYTES,
  }: { thread?: ChunkCheckThread; minBytes?: number } = {},
): Promise<IngestSource[]> {
  // Started by the first batch of any size, so that the first large one need not wait for it.
  thread.start();
  const batch = framedBatch(body);
  const { chunks } = batch;
  let bytes = 0;
  for (const c of chunks) bytes += c.blob.byteLength;
  if (bytes < minBytes || chunks.length < 2 || !thread.usable()) return checkedInOrder(batch);
  const work = thread.share(chunks);
  const checked: (CheckedChunk | undefined)[] = new Array(chunks.length);
  try {
    for (let i = work.take(); i < chunks.length; i = work.take()) {
      const { n, fromSeq, toSeq, blob } = chunks[i]!;
      checked[i] = checkReceivedChunk(blob, n, fromSeq, toSeq, scratch);
    }
  } catch (error) {
    work.stop(); // a fault: the chunks left are checked below, in order, up to the first bad one
    if (!(error instanceof ChunkFault)) throw error;
  }
  let theirs: Map<number, CheckedChunk> | undefined;
  if (!work.callOff()) {
    try {
      theirs = await work.theirs;
    } catch {
      theirs = undefined; // the thread failed: this one checks what it took
    }
  }
  for (let i = 0; i < chunks.length; i++) {
    if (checked[i] !== undefined) continue;
    checked[i] = theirs?.get(i);
    if (checked[i] !== undefined) continue;
    // A chunk at or after a fault, or one the thread took and did not answer for: checked here,
    // so the first fault is reported exactly as parseIngestBatch reports it.
    checked[i] = checkEntry(chunks[i]!);
  }
  return sourcesOf(batch, checked as CheckedChunk[]);
}

/** A received chunk as its batch header places it. */
export interface BatchChunkEntry {
  key: string;
  n: number;
  source: string;
  fromSeq: number;
  toSeq: number;
  blob: Uint8Array;
}

interface FramedBatch {
  header: BatchHeader;
  /** Every source's chunks, in batch order. */
  chunks: BatchChunkEntry[];
}

/** The batch's framing and header, and the checks of its sources (each once, rewinds in range). */
function framedBatch(body: Buffer): FramedBatch {
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
  const chunks: BatchChunkEntry[] = [];
  for (const s of header.sources) {
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
    for (const c of s.chunks)
      chunks.push({
        key: c.key,
        n: c.n,
        source: s.source,
        fromSeq: s.fromSeq,
        toSeq: s.toSeq,
        blob: blobs[chunks.length]!,
      });
  }
  return { header, chunks };
}

/** The batch's sources with their checked chunks (`checked[i]` is chunk i in batch order). */
function sourcesOf({ header, chunks }: FramedBatch, checked: CheckedChunk[]): IngestSource[] {
  let at = 0;
  return header.sources.map((s) => ({
    source: s.source,
    fromSeq: s.fromSeq,
    toSeq: s.toSeq,
    session: s.session,
    rewinds: s.rewinds,
    chunks: s.chunks.map(() => ({ key: chunks[at]!.key, ...checked[at++]! })),
  }));
}

/** Why a received chunk is refused (named with its key and source by chunkError). */
export class ChunkFault extends Error {}

/** A received chunk, checked: its facts, and its points when it is small enough to be appended to. */
export interface CheckedChunk {
  encoded: Uint8Array;
  facts: ChunkFacts;
  points?: ChunkPoints;
}

/**
 * Decodes and checks one received chunk that its batch header says holds `n` points of the seqs
 * (fromSeq, toSeq]: its count, checksum and streams, and each point's seq, step and timestamp.
 * Throws ChunkFault saying what is wrong. `scratch` holds the decoded points meanwhile.
 */
export function checkReceivedChunk(
  blob: Uint8Array,
  n: number,
  fromSeq: number,
  toSeq: number,
  scratch: ChunkScratch,
): CheckedChunk {
  // The count the chunk claims, checked before decoding allocates room for it.
  const claimed = blob.byteLength >= 8 ? Buffer.from(blob.buffer, blob.byteOffset, 8).readUInt32LE(4) : n;
  if (claimed !== n) throw new ChunkFault(`holds ${claimed} points, header says ${n}`);
  let points: ChunkPoints;
  try {
    points = decodeChunk(blob, scratch);
  } catch (error) {
    throw new ChunkFault((error as Error).message, { cause: error });
  }
  if (points.steps.length !== n)
    throw new ChunkFault(`holds ${points.steps.length} points, header says ${n}`);
  const bad = firstBadPoint(points, fromSeq, toSeq, stepRange);
  if (bad >= 0) {
    const seq = points.seqs[bad]!;
    const step = points.steps[bad]!;
    if (!(seq > fromSeq && seq <= toSeq))
      throw new ChunkFault(`point seq ${seq} is outside (fromSeq, toSeq]`);
    if (!Number.isSafeInteger(step) || step < 0)
      throw new ChunkFault(`step ${step} is not a non-negative safe integer`);
    throw new ChunkFault(`timestamp ${points.ts[bad]} is not a safe integer`);
  }
  // The points decoded here are overwritten by the next chunk's: kept (copied) only for a chunk
  // small enough to be appended to another; the rest is stored as received.
  const facts = chunkFacts(points, stepRange);
  return points.steps.length < MERGE_RECEIVED_BELOW_POINTS
    ? { encoded: blob, facts, points: copyPoints(points) }
    : { encoded: blob, facts };
}

/** A ChunkFault as the BAD_REQUEST naming the chunk's key and source; anything else as it is. */
export function chunkError(error: unknown, key: string, source: string): unknown {
  if (!(error instanceof ChunkFault)) return error;
  return new SwanlogError(
    'BAD_REQUEST',
    `chunk of key ${JSON.stringify(key)} (source ${source}): ${error.message}`,
    {
      cause: error.cause,
    },
  );
}

/** The step range firstBadPoint measured last (reused: checking a chunk is synchronous). */
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
