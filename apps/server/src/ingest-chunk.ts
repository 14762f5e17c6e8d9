import { type ChunkPoints, decodeChunk, encodeChunk } from '@swanlog/store';
import { blocksToBytes, summarizeBlocks } from './block-summary.js';
import type { ChunkColumns, IngestChunk } from './storage/storage.js';

/** A stored chunk takes the points of the next upload of its (source, key) while it is this small. */
export const MERGE_BELOW_POINTS = 4096;
/** Merged chunks stay within this many points (as the local writer's chunks do). */
export const MAX_MERGED_POINTS = 65_536;
/**
 * A received chunk of this many points or more is stored as a row of its own, never appended to
 * another: merging exists for the small chunks of live uploads, and a chunk this size already
 * makes a row's overhead negligible (the local writer counts a chunk of over half its 1,024-point
 * merge limit as done too). Appending those cost a decode, re-encode and rewrite of the growing
 * chunk per batch: a 1,000-key run's 1,000-point chunks were each rewritten about 3 times.
 */
export const MERGE_RECEIVED_BELOW_POINTS = 512;

/** Whether a received chunk of `n` points is appended to the open chunk of `openN` points. */
export function appendsTo(openN: number, n: number): boolean {
  return openN < MERGE_BELOW_POINTS && n < MERGE_RECEIVED_BELOW_POINTS && openN + n <= MAX_MERGED_POINTS;
}

/** What a checked received chunk is stored with, computed once when its batch is parsed. */
export interface ChunkFacts {
  columns: ChunkColumns;
  /** Its block summaries (summarizeBlocks). */
  blocks: Float64Array;
}

/** A chunk's summary columns; `steps` is its step range when the caller has measured it already. */
export function chunkColumns(p: ChunkPoints, steps?: { min: number; max: number }): ChunkColumns {
  const n = p.steps.length;
  let stepMin = Number.POSITIVE_INFINITY;
  let stepMax = Number.NEGATIVE_INFINITY;
  if (steps !== undefined) {
    stepMin = steps.min;
    stepMax = steps.max;
  } else {
    for (let i = 0; i < n; i++) {
      const s = p.steps[i]!;
      if (s < stepMin) stepMin = s;
      if (s > stepMax) stepMax = s;
    }
  }
  return {
    n,
    stepMin,
    stepMax,
    tsMin: p.ts[0]!,
    tsMax: p.ts[n - 1]!,
    seqMin: p.seqs[0]!,
    seqMax: p.seqs[n - 1]!,
  };
}

export function chunkFacts(p: ChunkPoints, steps?: { min: number; max: number }): ChunkFacts {
  return { columns: chunkColumns(p, steps), blocks: summarizeBlocks(p) };
}

/** The points of an ingest chunk: those it carries, else its received bytes decoded again. */
export function pointsOf(c: IngestChunk): ChunkPoints {
  if (c.points !== undefined) return c.points;
  if (c.encoded === undefined) throw new Error(`ingest chunk of key ${c.key} has neither points nor bytes`);
  return decodeChunk(c.encoded);
}

export function pointCount(c: IngestChunk): number {
  return c.facts?.columns.n ?? pointsOf(c).steps.length;
}

/** A source's chunks grouped by key, each key's in batch order. */
export function chunksByKey(chunks: IngestChunk[]): Map<string, IngestChunk[]> {
  const out = new Map<string, IngestChunk[]>();
  for (const c of chunks) {
    const list = out.get(c.key);
    if (list === undefined) out.set(c.key, [c]);
    else list.push(c);
  }
  return out;
}

/** One chunk row an ingest writes: a new row, or the stored row `id` with points appended. */
export interface ChunkRowPlan {
  /** The stored row that takes the parts (its data is read only then), or undefined for a new row. */
  id: number | undefined;
  parts: IngestChunk[];
}

/**
 * The rows a batch's chunks of one (source, key) become, in order: each is appended to the chunk
 * before it (the last stored one, then those of this batch) while `appendsTo` says so, else starts
 * a new row. A stored row that takes nothing is not among them. So 100,000 one-point chunks cost
 * one decode of the stored chunk and one encode per row written, not a decode and re-encode each.
 */
export function planChunkRows(
  last: { id: number; n: number } | undefined,
  chunks: IngestChunk[],
): ChunkRowPlan[] {
  const plans: ChunkRowPlan[] = [];
  let open: { plan: ChunkRowPlan; n: number } | undefined =
    last === undefined ? undefined : { plan: { id: last.id, parts: [] }, n: last.n };
  for (const c of chunks) {
    const n = pointCount(c);
    if (open !== undefined && appendsTo(open.n, n)) {
      open.plan.parts.push(c);
      open.n += n;
      continue;
    }
    if (open !== undefined && open.plan.parts.length > 0) plans.push(open.plan);
    open = { plan: { id: undefined, parts: [c] }, n };
  }
  if (open !== undefined && open.plan.parts.length > 0) plans.push(open.plan);
  return plans;
}

/** What is written for a planned row: its columns, chunk bytes and block summaries. */
export interface ChunkRowData {
  columns: ChunkColumns;
  data: Buffer;
  blocks: Buffer;
}

/**
 * A planned row's contents. A single received chunk that nothing was appended to is stored as
 * received, with the facts computed when it was checked; anything merged is decoded, joined and
 * encoded again. `stored` is the stored row's data when the plan appends to one.
 */
export function chunkRowData(plan: ChunkRowPlan, stored: Uint8Array | undefined): ChunkRowData {
  const only = plan.parts.length === 1 && plan.id === undefined ? plan.parts[0]! : undefined;
  if (only?.encoded !== undefined) {
    const facts = only.facts ?? chunkFacts(pointsOf(only));
    return {
      columns: facts.columns,
      data: Buffer.from(only.encoded.buffer, only.encoded.byteOffset, only.encoded.byteLength),
      blocks: blocksToBytes(facts.blocks),
    };
  }
  const parts = plan.parts.map(pointsOf);
  if (plan.id !== undefined) {
    if (stored === undefined) throw new Error(`chunk row ${plan.id} is appended to without its data`);
    parts.unshift(decodeChunk(stored));
  }
  const points = parts.length === 1 ? parts[0]! : concatPoints(parts);
  return {
    columns: chunkColumns(points),
    data: encodeChunk(points),
    blocks: blocksToBytes(summarizeBlocks(points)),
  };
}

/** The points of `parts` one after another, copied once. */
export function concatPoints(parts: ChunkPoints[]): ChunkPoints {
  const n = parts.reduce((sum, p) => sum + p.steps.length, 0);
  const join = (field: keyof ChunkPoints) => {
    const out = new Float64Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p[field], at);
      at += p[field].length;
    }
    return out;
  };
  return { steps: join('steps'), values: join('values'), ts: join('ts'), seqs: join('seqs') };
}

/** A copy of points (out of a decoder's reused columns). */
export function copyPoints(p: ChunkPoints): ChunkPoints {
  return { steps: p.steps.slice(), values: p.values.slice(), ts: p.ts.slice(), seqs: p.seqs.slice() };
}
