import {
  MAX_BATCH_HEADER_BYTES,
  MAX_BATCH_HEADER_DEPTH,
  MAX_BATCH_HEADER_VALUES,
  type SessionInfo,
} from './api-types.js';
import { measureJson } from './measure-json.js';

/**
 * An ingest batch: the points of one or more writer sessions (sources) with sequence numbers in
 * (fromSeq, toSeq], as chunks in the run-directory codec (docs/format.md), so a client uploads
 * what it stores without re-encoding point by point. Binary layout:
 *
 *   "SWB1"            4 bytes magic
 *   u32 LE            length H of the JSON header
 *   H bytes           BatchHeader as UTF-8 JSON
 *   chunk bytes       every chunk's blob, in header order, lengths from the header
 *
 * The header is at most MAX_BATCH_HEADER_BYTES, MAX_BATCH_HEADER_DEPTH deep and
 * MAX_BATCH_HEADER_VALUES large.
 */
export interface BatchChunk {
  key: string;
  n: number;
  /** Length of the chunk blob in bytes. */
  bytes: number;
}

export interface BatchSource {
  source: string;
  /** The watermark the client believes the server holds (exclusive lower bound; -1: nothing). */
  fromSeq: number;
  /** The watermark after this batch: every point and rewind with seq in (fromSeq, toSeq] is here. */
  toSeq: number;
  session: SessionInfo;
  rewinds: { seq: number; ts: number; step: number }[];
  chunks: BatchChunk[];
}

export interface BatchHeader {
  sources: BatchSource[];
}

export interface DecodedBatch {
  header: BatchHeader;
  /** One blob per chunk, in header order (views into the body). */
  blobs: Uint8Array[];
}

const MAGIC = 0x31425753; // "SWB1" little endian

/** A body that is not a well-formed batch; `tooLarge` when only its size is at fault. */
export class BatchFormatError extends Error {
  constructor(
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/** Bytes of a batch that `batchHeaderLength` needs. */
export const BATCH_PREFIX_BYTES = 8;

/**
 * The header length a batch declares, from its first 8 bytes: checks the magic and that the
 * header is within MAX_BATCH_HEADER_BYTES, so a server can refuse a batch before reading it all.
 */
export function batchHeaderLength(prefix: Uint8Array): number {
  const buf = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (buf.length < BATCH_PREFIX_BYTES || buf.readUInt32LE(0) !== MAGIC)
    throw new BatchFormatError('not a swanlog batch (bad magic)');
  const h = buf.readUInt32LE(4);
  if (h > MAX_BATCH_HEADER_BYTES)
    throw new BatchFormatError(
      `batch header is ${h} bytes, more than ${MAX_BATCH_HEADER_BYTES} (MAX_BATCH_HEADER_BYTES)`,
      true,
    );
  return h;
}

export function encodeBatch(header: BatchHeader, blobs: Uint8Array[]): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const total = 8 + json.length + blobs.reduce((n, b) => n + b.length, 0);
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * Splits a batch body into its header and blobs. Only the framing and the header's size, depth
 * and number of values (measured before it is parsed) are checked here.
 */
export function decodeBatch(body: Uint8Array): { header: unknown; blobsAt: number; body: Buffer } {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const h = batchHeaderLength(buf);
  if (8 + h > buf.length) throw new BatchFormatError('batch header runs past the end of the body');
  const text = buf.subarray(8, 8 + h);
  const size = measureJson(text, { depth: MAX_BATCH_HEADER_DEPTH, values: MAX_BATCH_HEADER_VALUES });
  if (size.depth > MAX_BATCH_HEADER_DEPTH)
    throw new BatchFormatError(
      `batch header nests more than ${MAX_BATCH_HEADER_DEPTH} levels deep (MAX_BATCH_HEADER_DEPTH)`,
    );
  if (size.values > MAX_BATCH_HEADER_VALUES)
    throw new BatchFormatError(
      `batch header holds more than ${MAX_BATCH_HEADER_VALUES} values (MAX_BATCH_HEADER_VALUES)`,
      true,
    );
  let header: unknown;
  try {
    header = JSON.parse(text.toString('utf8'));
  } catch (error) {
    throw new BatchFormatError(`batch header is not JSON: ${(error as Error).message}`);
  }
  return { header, blobsAt: 8 + h, body: buf };
}

/** Cuts the blobs of a validated header out of the body; throws when lengths do not add up. */
export function sliceBlobs(header: BatchHeader, body: Buffer, blobsAt: number): Uint8Array[] {
  const blobs: Uint8Array[] = [];
  let at = blobsAt;
  for (const s of header.sources) {
    for (const c of s.chunks) {
      if (at + c.bytes > body.length)
        throw new BatchFormatError(`chunk of key ${JSON.stringify(c.key)} runs past the end of the body`);
      blobs.push(body.subarray(at, at + c.bytes));
      at += c.bytes;
    }
  }
  if (at !== body.length)
    throw new BatchFormatError(`batch has ${body.length - at} bytes after its last chunk`);
  return blobs;
}
