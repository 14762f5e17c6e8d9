import { MAX_BATCH_HEADER_BYTES, MAX_BATCH_HEADER_VALUES } from '@swanlog/protocol';
import { type ChunkPoints, decodeChunk } from '@swanlog/store';

/**
 * One chunk of a writer file, as stored. A batch that takes all of its points sends these bytes
 * unchanged; only a chunk that a batch boundary cuts is decoded (once, then kept in `points`).
 */
export interface PendingChunk {
  n: number;
  seqMin: number;
  seqMax: number;
  /** The chunk's bytes; absent until `fetch` reads them (a snapshot read lazily). */
  data?: Buffer | undefined;
  /** Reads (and checks) the bytes of a chunk read lazily. */
  fetch?: () => Buffer;
  /** Length of the bytes, known before they are read. */
  bytes?: number;
  points?: ChunkPoints | undefined;
}

/** The chunk's bytes, read now if they were not yet. */
export function dataOf(c: PendingChunk): Buffer {
  if (c.data === undefined) {
    if (c.fetch === undefined) throw new Error('a pending chunk has neither bytes nor a way to read them');
    c.data = c.fetch();
  }
  return c.data;
}

function bytesOf(c: PendingChunk): number {
  return c.bytes ?? dataOf(c).length;
}

/** One key's chunks in seq order (their seq ranges do not overlap: one point per key per log call). */
export interface KeyChunks {
  key: string;
  chunks: PendingChunk[];
}

/** What one ingest request may carry. */
export interface BatchBudget {
  points: number;
  /**
   * Bytes of chunk data plus each chunk's header entry (cut chunks estimated in proportion to the
   * points they keep).
   */
  bytes: number;
  /**
   * Bytes of the batch's JSON header taken by chunk entries: the server refuses a header over
   * MAX_BATCH_HEADER_BYTES, and a wide run (many keys, long names) reaches that long before the
   * body limit. Default `CHUNK_HEADER_BUDGET`.
   */
  headerBytes?: number;
}

/** JSON of one chunk's header entry beyond its key: `{"key":,"n":1000000,"bytes":16777216},`. */
const HEADER_ENTRY_BYTES = 40;

/** What a batch header holds besides chunk entries: its source, session record and rewinds. */
const HEADER_RESERVE_BYTES = 64 * 1024;

/** The part of MAX_BATCH_HEADER_BYTES that chunk entries may take. */
export const CHUNK_HEADER_BUDGET = MAX_BATCH_HEADER_BYTES - HEADER_RESERVE_BYTES;

/**
 * Chunks per batch stay well inside the server's 100,000 per source, and their header entries
 * (4 values each) inside MAX_BATCH_HEADER_VALUES.
 */
export const MAX_BATCH_CHUNKS = Math.min(50_000, Math.floor(MAX_BATCH_HEADER_VALUES / 4 / 2));

/** The decoded points of a chunk. */
export function pointsOf(c: PendingChunk): ChunkPoints {
  c.points ??= decodeChunk(dataOf(c));
  return c.points;
}

/** Index range [lo, hi) of the chunk's points with seq in (from, to]; decodes only a cut chunk. */
export function sliceOf(c: PendingChunk, from: number, to: number): [number, number] {
  if (c.seqMax <= from || c.seqMin > to) return [0, 0];
  if (c.seqMin > from && c.seqMax <= to) return [0, c.n];
  const seqs = pointsOf(c).seqs;
  return [upperBound(seqs, from), upperBound(seqs, to)];
}

interface Load {
  points: number;
  bytes: number;
  /** Bytes of the chunks' header entries. */
  header: number;
  chunks: number;
}

/** Points, bytes and chunks of what (from, to] holds. */
function loadOf(keys: KeyChunks[], from: number, to: number): Load {
  const load: Load = { points: 0, bytes: 0, header: 0, chunks: 0 };
  for (const k of keys) {
    const entry = headerEntryBytes(k);
    for (let i = firstChunkAfter(k.chunks, from); i < k.chunks.length; i++) {
      const c = k.chunks[i]!;
      if (c.seqMin > to) break;
      const [lo, hi] = sliceOf(c, from, to);
      if (hi <= lo) continue;
      load.points += hi - lo;
      load.chunks++;
      load.bytes += entry;
      load.header += entry;
      const bytes = bytesOf(c);
      load.bytes += hi - lo === c.n ? bytes : Math.ceil((bytes * (hi - lo)) / c.n) + 32;
    }
  }
  return load;
}

const fits = (l: Load, b: BatchBudget) =>
  l.points <= b.points &&
  l.bytes <= b.bytes &&
  l.header <= (b.headerBytes ?? CHUNK_HEADER_BUDGET) &&
  l.chunks <= MAX_BATCH_CHUNKS;

const entryBytes = new WeakMap<KeyChunks, number>();

/** Bytes of one chunk entry of `k` in the JSON header, its key as JSON.stringify writes it. */
function headerEntryBytes(k: KeyChunks): number {
  let bytes = entryBytes.get(k);
  if (bytes === undefined) {
    bytes = HEADER_ENTRY_BYTES + Buffer.byteLength(JSON.stringify(k.key), 'utf8');
    entryBytes.set(k, bytes);
  }
  return bytes;
}

/**
 * The end (inclusive) of the next batch starting after `from`: `maxSeq` when everything left fits
 * the budget, else the largest seq where chunks end and what lies in between fits (those chunks
 * then go up as stored), else the largest seq that fits. One seq is never split: when the very
 * next seq alone is over budget, the batch is that seq.
 */
export function nextBatchEnd(keys: KeyChunks[], from: number, maxSeq: number, budget: BatchBudget): number {
  if (maxSeq <= from) return maxSeq;
  if (fits(loadOf(keys, from, maxSeq), budget)) return maxSeq;
  const ends = chunkEndsBetween(keys, from, maxSeq);
  let best = -1;
  let a = 0;
  let b = ends.length - 1;
  while (a <= b) {
    const mid = (a + b) >>> 1;
    if (fits(loadOf(keys, from, ends[mid]!), budget)) {
      best = mid;
      a = mid + 1;
    } else b = mid - 1;
  }
  if (best >= 0) return ends[best]!;
  let lo = from; // (from, lo] fits
  let hi = ends[0] ?? maxSeq; // (from, hi] does not
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (fits(loadOf(keys, from, mid), budget)) lo = mid;
    else hi = mid;
  }
  if (lo > from && countIn(keys, from, lo) > 0) return lo;
  // Even the first seq after `from` is over budget: send it alone, whole.
  return firstSeqAfter(keys, from) ?? maxSeq;
}

/** Every batch boundary from `from` to `maxSeq`: [[from, t1], [t1, t2], ..., [tk-1, maxSeq]]. */
export function cutBatches(
  keys: KeyChunks[],
  from: number,
  maxSeq: number,
  budget: BatchBudget,
): [number, number][] {
  const out: [number, number][] = [];
  let at = from;
  while (at < maxSeq) {
    const end = nextBatchEnd(keys, at, maxSeq, budget);
    out.push([at, end]);
    at = end;
  }
  return out;
}

/** Number of points with seq in (from, to]. */
export function countIn(keys: KeyChunks[], from: number, to: number): number {
  return loadOf(keys, from, to).points;
}

/** Sorted distinct seqs in (from, maxSeq) where some chunk ends. */
function chunkEndsBetween(keys: KeyChunks[], from: number, maxSeq: number): number[] {
  const ends = new Set<number>();
  for (const k of keys) {
    for (let i = firstChunkAfter(k.chunks, from); i < k.chunks.length; i++) {
      const end = k.chunks[i]!.seqMax;
      if (end >= maxSeq) break;
      ends.add(end);
    }
  }
  return [...ends].sort((x, y) => x - y);
}

function firstSeqAfter(keys: KeyChunks[], from: number): number | undefined {
  let best: number | undefined;
  for (const k of keys) {
    const c = k.chunks[firstChunkAfter(k.chunks, from)];
    if (c === undefined) continue;
    const s = c.seqMin > from ? c.seqMin : pointsOf(c).seqs[upperBound(pointsOf(c).seqs, from)]!;
    if (best === undefined || s < best) best = s;
  }
  return best;
}

/** Index of the first chunk holding a seq above `from` (chunks in seq order). */
function firstChunkAfter(chunks: PendingChunk[], from: number): number {
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (chunks[mid]!.seqMax <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x (arr sorted ascending). */
function upperBound(arr: Float64Array, x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
