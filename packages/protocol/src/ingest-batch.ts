import type { SessionInfo } from './api-types.js';

/**
 * An ingest batch: the points of one or more writer sessions (sources) with sequence numbers in
 * (fromSeq, toSeq], as chunks in the run-directory codec (docs/format.md), so a client uploads
 * what it stores without re-encoding point by point. Binary layout:
 *
 *   "SWB1"            4 bytes magic
 *   u32 LE            length H of the JSON header
 *   H bytes           BatchHeader as UTF-8 JSON
 *   chunk bytes       every chunk's blob, in header order, lengths from the header
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

export class BatchFormatError extends Error {}

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

/** Splits a batch body into its header and blobs. Only the framing is checked here. */
export function decodeBatch(body: Uint8Array): { header: unknown; blobsAt: number; body: Buffer } {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (buf.length < 8 || buf.readUInt32LE(0) !== MAGIC)
    throw new BatchFormatError('not a swanlog batch (bad magic)');
  const h = buf.readUInt32LE(4);
  if (8 + h > buf.length) throw new BatchFormatError('batch header runs past the end of the body');
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + h).toString('utf8'));
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
