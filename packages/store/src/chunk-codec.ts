import { crc32 } from 'node:zlib';
import { ChunkDecodeError } from './chunk-errors.js';
import { decodeXor32, decodeXor64, encodeXor32, encodeXor64 } from './xor-codec.js';

/**
 * One chunk: the points one writer logged for one key, in write order. Steps, timestamps and
 * sequence numbers are stored as varint deltas (run-length encoded when that is smaller); values
 * so that every number, NaN payloads and -0 included, round-trips bit for bit. Two codec versions
 * (docs/format.md "Chunk encoding"):
 *
 *   0  u8   codec version (1 or 2)
 *   1  u8   flags: bit 0 steps stored absolute instead of zigzag deltas; bits 1, 2, 3: the
 *            steps, timestamps, sequence numbers stream is run-length encoded
 *   2  u8   version 1: reserved (0); version 2: the value encoding (VALUES_*)
 *   3  u8   reserved (0)
 *   4  u32  n, number of points
 *   8  u32  crc32 of bytes [0, 8) then [12, end): the header is covered too
 *   12 u32  version 1: reserved (0); version 2: L, the byte length of the value stream
 *   16      version 1: n float64 values; version 2: L bytes of values in their encoding
 *   then varints: n steps, n timestamps (first absolute, then deltas >= 0),
 *                 n sequence numbers (first absolute, then deltas >= 0)
 *
 * Version 2's value encodings: raw float64; Chimp (an XOR codec) over the 64-bit patterns; Chimp
 * over the float32 patterns when every value is a float32 widened (what `tensor.item()` gives);
 * integers as a zigzag delta stream. docs/decisions.md has the measurements that chose them.
 */
export interface ChunkPoints {
  steps: Float64Array;
  values: Float64Array;
  ts: Float64Array;
  seqs: Float64Array;
}

/** The codec version writers use for runs of the current format (version 1 for format-1 runs). */
export const CHUNK_CODEC_VERSION = 2;
/** Codec versions this code reads. */
export const CHUNK_CODEC_VERSIONS: readonly number[] = [1, 2];
const HEADER = 16;
const FLAG_ABSOLUTE_STEPS = 1;
const FLAG_RLE_STEPS = 2;
const FLAG_RLE_TS = 4;
const FLAG_RLE_SEQS = 8;
const KNOWN_FLAGS = FLAG_ABSOLUTE_STEPS | FLAG_RLE_STEPS | FLAG_RLE_TS | FLAG_RLE_SEQS;
/** Deltas up to this size zigzag-encode exactly in a double. */
const MAX_ZIGZAG_DELTA = 2 ** 51;

/** Version 2 value encodings (header byte 2). */
export const VALUES_RAW = 0;
export const VALUES_XOR64 = 1;
export const VALUES_XOR32 = 2;
export const VALUES_INT = 3;
export const VALUES_INT_RLE = 4;
/** Integers below this size (and their deltas, zigzag-mapped) stay exact in the varint stream. */
const MAX_INT_VALUE = 2 ** 50;

export { ChunkDecodeError };

/** Reused buffers for narrowing values to float32 and back. */
let f32Scratch = new Float32Array(0);
let f64Scratch = new Float64Array(0);

/**
 * Encodes points [0, n) of the given arrays with codec `version` (2 by default; 1 for runs of
 * format version 1 and for servers that accept only it).
 */
export function encodeChunk(
  points: ChunkPoints,
  n: number = points.steps.length,
  version: number = CHUNK_CODEC_VERSION,
): Buffer {
  if (version !== 1 && version !== 2) throw new RangeError(`unknown chunk codec version ${version}`);
  const { values } = points;
  const streams = encodeStreams(points, n);
  // Worst case of the values: 9 bytes each (an XOR stream of incompressible doubles).
  const need = HEADER + 8 + n * 9 + streams.bytes.length;
  if (chunkScratch.length < need) chunkScratch = Buffer.allocUnsafe(Math.max(need, chunkScratch.length * 2));
  const buf = chunkScratch;
  buf[0] = version;
  buf[1] = streams.flags;
  buf[3] = 0;
  buf.writeUInt32LE(n, 4);
  let pos: number;
  if (version === 1) {
    buf[2] = 0;
    buf.writeUInt32LE(0, 12);
    buf.set(new Uint8Array(values.buffer, values.byteOffset, n * 8), HEADER);
    pos = HEADER + n * 8;
  } else {
    const encoded = encodeValues(values, n, buf, HEADER);
    buf[2] = encoded.encoding;
    buf.writeUInt32LE(encoded.end - HEADER, 12);
    pos = encoded.end;
  }
  buf.set(streams.bytes, pos);
  pos += streams.bytes.length;
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  out.writeUInt32LE(checksum(out), 8);
  return out;
}

/** The scratch a chunk is assembled in (the answer is a copy of exactly its bytes). */
let chunkScratch = Buffer.allocUnsafe(64 * 1024);

interface Streams {
  flags: number;
  bytes: Buffer;
}

/**
 * The last streams encoded, with the points they came from. The keys of one flush share their
 * steps, timestamps and sequence numbers (each call logs every key), so comparing the bytes
 * (memcmp) answers most chunks without encoding the same streams again.
 */
let lastStreams: { n: number; steps: Buffer; ts: Buffer; seqs: Buffer; streams: Streams } | undefined;

const bytesOfView = (a: Float64Array, n: number) => Buffer.from(a.buffer, a.byteOffset, n * 8);

/** Flags and bytes of the step, timestamp and sequence-number streams of points [0, n). */
function encodeStreams(points: ChunkPoints, n: number): Streams {
  const { steps, ts, seqs } = points;
  const s8 = bytesOfView(steps, n);
  const t8 = bytesOfView(ts, n);
  const q8 = bytesOfView(seqs, n);
  const last = lastStreams;
  if (
    last !== undefined &&
    last.n === n &&
    last.seqs.equals(q8) &&
    last.steps.equals(s8) &&
    last.ts.equals(t8)
  )
    return last.streams;
  let absolute = false;
  for (let i = 0; i < n; i++) {
    const s = steps[i]!;
    if (!Number.isSafeInteger(s) || s < 0)
      throw new RangeError(`step ${s} at index ${i} is not a non-negative safe integer`);
    if (i > 0) {
      const d = s - steps[i - 1]!;
      if (d >= MAX_ZIGZAG_DELTA || d <= -MAX_ZIGZAG_DELTA) absolute = true;
    }
  }
  // At most 8 bytes per varint; a run-length encoded stream is smaller than a plain one.
  const need = n * 24 + 8;
  if (streamScratch.length < need)
    streamScratch = Buffer.allocUnsafe(Math.max(need, streamScratch.length * 2));
  const buf = streamScratch;
  const rleSteps = !absolute && worthRle(steps, n, true);
  const rleTs = worthRle(ts, n, false);
  const rleSeqs = worthRle(seqs, n, false);
  const flags =
    (absolute ? FLAG_ABSOLUTE_STEPS : 0) |
    (rleSteps ? FLAG_RLE_STEPS : 0) |
    (rleTs ? FLAG_RLE_TS : 0) |
    (rleSeqs ? FLAG_RLE_SEQS : 0);
  let pos = absolute ? writePlain(buf, 0, steps, n) : writeStream(buf, 0, steps, n, true, rleSteps);
  pos = writeStream(buf, pos, ts, n, false, rleTs);
  pos = writeStream(buf, pos, seqs, n, false, rleSeqs);
  const streams = { flags, bytes: Buffer.from(buf.subarray(0, pos)) };
  lastStreams = { n, steps: Buffer.from(s8), ts: Buffer.from(t8), seqs: Buffer.from(q8), streams };
  return streams;
}

let streamScratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Writes values [0, n) at `pos` in the smallest fitting version 2 encoding: integers as a zigzag
 * delta stream; float32-exact values as Chimp over their 32-bit patterns; anything else as Chimp
 * over the 64-bit patterns, or raw when that would be larger.
 */
function encodeValues(
  values: Float64Array,
  n: number,
  buf: Buffer,
  pos: number,
): { encoding: number; end: number } {
  if (allIntegers(values, n)) {
    const rle = worthRle(values, n, true);
    return { encoding: rle ? VALUES_INT_RLE : VALUES_INT, end: writeStream(buf, pos, values, n, true, rle) };
  }
  const narrowed = narrowToFloat32(values, n);
  if (narrowed !== null) return { encoding: VALUES_XOR32, end: encodeXor32(narrowed, n, buf, pos) };
  const bits = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  const end = encodeXor64(bits, n, buf, pos);
  if (end - pos <= n * 8) return { encoding: VALUES_XOR64, end };
  buf.set(new Uint8Array(values.buffer, values.byteOffset, n * 8), pos);
  return { encoding: VALUES_RAW, end: pos + n * 8 };
}

/** Every value an integer whose zigzag deltas stay exact (-0 is not: its sign would be lost). */
function allIntegers(values: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v !== Math.floor(v) || v >= MAX_INT_VALUE || v <= -MAX_INT_VALUE || (v === 0 && 1 / v < 0))
      return false;
  }
  return true;
}

/**
 * The float32 bit patterns of the values when every one is a float32 widened, bit for bit (NaN
 * payloads included); null otherwise. The answer is a view of a reused buffer.
 */
function narrowToFloat32(values: Float64Array, n: number): Uint32Array | null {
  if (f32Scratch.length < n) {
    f32Scratch = new Float32Array(Math.max(n, f32Scratch.length * 2));
    f64Scratch = new Float64Array(f32Scratch.length);
  }
  const narrow = f32Scratch;
  let nan = false;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    narrow[i] = v;
    if (narrow[i] !== v) {
      if (!Number.isNaN(v)) return null; // not a float32: the common early exit
      nan = true;
    }
  }
  if (nan) {
    // A NaN narrows to a float32 NaN; it is exact only when widening gives back all 64 bits.
    const wide = f64Scratch.subarray(0, n);
    wide.set(narrow.subarray(0, n));
    const a = new Uint32Array(values.buffer, values.byteOffset, n * 2);
    const b = new Uint32Array(wide.buffer, 0, n * 2);
    for (let i = 0; i < 2 * n; i++) if (a[i] !== b[i]) return null;
  }
  return new Uint32Array(narrow.buffer, 0, n);
}

/**
 * Columns a caller lends decodeChunk to decode into, grown as needed: a reader that checks or
 * summarises chunk after chunk and keeps none of their points allocates nothing per chunk.
 */
export class ChunkScratch {
  private cap = 0;
  private cols: ChunkPoints = emptyPoints(0);

  /** Views of the first n points of each column (valid until the next call). */
  take(n: number): ChunkPoints {
    if (n > this.cap) {
      this.cap = Math.max(n, this.cap * 2);
      this.cols = emptyPoints(this.cap);
    }
    const c = this.cols;
    return {
      steps: c.steps.subarray(0, n),
      values: c.values.subarray(0, n),
      ts: c.ts.subarray(0, n),
      seqs: c.seqs.subarray(0, n),
    };
  }
}

function emptyPoints(n: number): ChunkPoints {
  return {
    steps: new Float64Array(n),
    values: new Float64Array(n),
    ts: new Float64Array(n),
    seqs: new Float64Array(n),
  };
}

/**
 * Decodes a chunk; throws ChunkDecodeError when the bytes are not a sound chunk. With `scratch`,
 * the points are views of its columns, overwritten by the next decode into it.
 */
export function decodeChunk(data: Uint8Array, scratch?: ChunkScratch): ChunkPoints {
  const n = checkChunk(data);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const flags = buf.readUInt8(1);
  const absolute = (flags & FLAG_ABSOLUTE_STEPS) !== 0;
  const { steps, values, ts, seqs } = scratch === undefined ? emptyPoints(n) : scratch.take(n);
  const valuesEnd = valueStreamEnd(buf, n);
  if (buf[0] === 1)
    new Uint8Array(values.buffer, values.byteOffset, n * 8).set(buf.subarray(HEADER, valuesEnd));
  else decodeValues(buf, valuesEnd, n, values);
  const cursor = { pos: valuesEnd };
  if (absolute) for (let i = 0; i < n; i++) steps[i] = readVarint(buf, cursor);
  else readStream(buf, cursor, steps, n, (flags & FLAG_RLE_STEPS) !== 0, true);
  readStream(buf, cursor, ts, n, (flags & FLAG_RLE_TS) !== 0, false);
  readStream(buf, cursor, seqs, n, (flags & FLAG_RLE_SEQS) !== 0, false);
  if (cursor.pos !== buf.length) throw new ChunkDecodeError('chunk has trailing bytes');
  return { steps, values, ts, seqs };
}

/** decodeValues' float32 patterns, reused for every chunk. */
let f32Decoded = new Float32Array(0);

function decodeValues(buf: Buffer, end: number, n: number, out: Float64Array): void {
  const encoding = buf[2]!;
  if (encoding === VALUES_RAW) {
    if (end - HEADER !== n * 8) throw new ChunkDecodeError(`chunk value stream is not ${n} float64 values`);
    new Uint8Array(out.buffer, out.byteOffset, n * 8).set(buf.subarray(HEADER, end));
  } else if (encoding === VALUES_XOR64) {
    decodeXor64(buf, HEADER, end, n, new Uint32Array(out.buffer, out.byteOffset, n * 2));
  } else if (encoding === VALUES_XOR32) {
    if (f32Decoded.length < n) f32Decoded = new Float32Array(Math.max(n, f32Decoded.length * 2));
    decodeXor32(buf, HEADER, end, n, new Uint32Array(f32Decoded.buffer, 0, n));
    out.set(f32Decoded.subarray(0, n));
  } else {
    const cursor = { pos: HEADER };
    readStream(buf, cursor, out, n, encoding === VALUES_INT_RLE, true);
    if (cursor.pos !== end) throw new ChunkDecodeError('chunk value stream has trailing bytes');
  }
}

/** Where a chunk's value stream ends (the header was checked). */
function valueStreamEnd(buf: Buffer, n: number): number {
  return buf[0] === 1 ? HEADER + n * 8 : HEADER + buf.readUInt32LE(12);
}

/**
 * Checks a chunk's header and checksum without decoding its points (what a copy of the bytes
 * needs: damage on disk shows as a checksum mismatch); answers its point count. Throws
 * ChunkDecodeError as decodeChunk would for the same faults.
 */
export function checkChunk(data: Uint8Array): number {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < HEADER)
    throw new ChunkDecodeError(`chunk is ${buf.length} bytes, shorter than its header`);
  const version = buf.readUInt8(0);
  if (version !== 1 && version !== 2) throw new ChunkDecodeError(`unknown chunk codec version ${version}`);
  if (buf.readUInt32LE(8) !== checksum(buf)) throw new ChunkDecodeError('chunk checksum mismatch');
  const flags = buf.readUInt8(1);
  const encoding = buf.readUInt8(2);
  const reservedOk =
    buf.readUInt8(3) === 0 &&
    (version === 1 ? encoding === 0 && buf.readUInt32LE(12) === 0 : encoding <= VALUES_INT_RLE);
  if ((flags & ~KNOWN_FLAGS) !== 0 || !reservedOk) {
    throw new ChunkDecodeError('chunk header has unknown flags, encodings or reserved bits set');
  }
  const n = buf.readUInt32LE(4);
  if (buf.length < valueStreamEnd(buf, n) + (n > 0 ? 3 : 0))
    throw new ChunkDecodeError(`chunk too short for ${n} points`);
  return n;
}

/** chunkSeqRange's stream buffer, reused for every stream and call. */
let scratch = new Float64Array(0);

/**
 * The point count and first and last sequence numbers of a chunk, checked as decodeChunk checks
 * it but keeping none of its points: the streams are read into one reused buffer. Sync uses it to
 * hold a chunk's row to what the chunk itself says.
 */
export function chunkSeqRange(data: Uint8Array): { n: number; first: number; last: number } {
  const n = checkChunk(data);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const flags = buf.readUInt8(1);
  const cursor = { pos: valueStreamEnd(buf, n) };
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  if ((flags & FLAG_ABSOLUTE_STEPS) !== 0) for (let i = 0; i < n; i++) readVarint(buf, cursor);
  else readStream(buf, cursor, scratch, n, (flags & FLAG_RLE_STEPS) !== 0, true);
  readStream(buf, cursor, scratch, n, (flags & FLAG_RLE_TS) !== 0, false);
  readStream(buf, cursor, scratch, n, (flags & FLAG_RLE_SEQS) !== 0, false);
  if (cursor.pos !== buf.length) throw new ChunkDecodeError('chunk has trailing bytes');
  return { n, first: n > 0 ? scratch[0]! : Number.NaN, last: n > 0 ? scratch[n - 1]! : Number.NaN };
}

function checksum(chunk: Buffer): number {
  return crc32(chunk.subarray(12), crc32(chunk.subarray(0, 8)));
}

/** The delta of arr[i] from arr[i - 1] (arr[-1] = 0), zigzag-mapped when asked. */
function deltaAt(arr: Float64Array, i: number, zigzag: boolean): number {
  const d = arr[i]! - (i > 0 ? arr[i - 1]! : 0);
  return zigzag ? (d >= 0 ? d * 2 : -d * 2 - 1) : d;
}

/** Run-length encoding pays when the delta stream has few runs (each run costs two varints). */
function worthRle(arr: Float64Array, n: number, zigzag: boolean): boolean {
  if (n === 0) return false;
  let runs = 1;
  let prev = deltaAt(arr, 0, zigzag);
  const limit = n / 2;
  for (let i = 1; i < n; i++) {
    const d = deltaAt(arr, i, zigzag);
    if (d !== prev) {
      if (++runs >= limit) return false;
      prev = d;
    }
  }
  return runs * 2 < n;
}

function writePlain(buf: Buffer, pos: number, arr: Float64Array, n: number): number {
  for (let i = 0; i < n; i++) pos = writeVarint(buf, pos, arr[i]!);
  return pos;
}

/** Writes the delta stream of arr (plain or run-length encoded varints). */
function writeStream(
  buf: Buffer,
  pos: number,
  arr: Float64Array,
  n: number,
  zigzag: boolean,
  rle: boolean,
): number {
  if (!rle) {
    for (let i = 0; i < n; i++) {
      const d = deltaAt(arr, i, zigzag);
      if (d >= 0 && d < 128) buf[pos++] = d;
      else pos = writeVarint(buf, pos, d);
    }
    return pos;
  }
  let i = 0;
  while (i < n) {
    const d = deltaAt(arr, i, zigzag);
    let j = i + 1;
    while (j < n && deltaAt(arr, j, zigzag) === d) j++;
    pos = writeVarint(buf, pos, d);
    pos = writeVarint(buf, pos, j - i);
    i = j;
  }
  return pos;
}

/** Reads a delta stream of n values (plain or run-length encoded) and integrates them into `out`. */
function readStream(
  buf: Buffer,
  cursor: { pos: number },
  out: Float64Array,
  n: number,
  rle: boolean,
  zigzag: boolean,
): void {
  let prev = 0;
  if (!rle) {
    let pos = cursor.pos;
    const len = buf.length;
    for (let i = 0; i < n; i++) {
      // Most deltas take one byte: read those without a call.
      let v: number;
      const b = pos < len ? buf[pos]! : 128;
      if (b < 128) {
        v = b;
        pos++;
      } else {
        cursor.pos = pos;
        v = readVarint(buf, cursor);
        pos = cursor.pos;
      }
      prev += zigzag ? (v % 2 === 0 ? v / 2 : -(v + 1) / 2) : v;
      out[i] = prev;
    }
    cursor.pos = pos;
    return;
  }
  let i = 0;
  while (i < n) {
    const v = readVarint(buf, cursor);
    const d = zigzag ? (v % 2 === 0 ? v / 2 : -(v + 1) / 2) : v;
    const run = readVarint(buf, cursor);
    if (run < 1 || i + run > n) throw new ChunkDecodeError('chunk has a run past its point count');
    for (const end = i + run; i < end; i++) {
      prev += d;
      out[i] = prev;
    }
  }
}

/** Unsigned LEB128 for integers up to 2^54 (beyond 32 bits it falls back to float arithmetic). */
function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = value;
  if (v < 0 || !Number.isInteger(v)) throw new RangeError(`varint out of range: ${value}`);
  while (v >= 0x80000000) {
    buf[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  while (v >= 128) {
    buf[pos++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function readVarint(buf: Buffer, cursor: { pos: number }): number {
  let result = 0;
  let mul = 1;
  let pos = cursor.pos;
  for (let i = 0; i < 9; i++) {
    if (pos >= buf.length) throw new ChunkDecodeError('chunk ends inside a number');
    const b = buf[pos++]!;
    result += (b & 127) * mul;
    if (b < 128) {
      cursor.pos = pos;
      return result;
    }
    mul *= 128;
  }
  throw new ChunkDecodeError('chunk holds an overlong number');
}
