import { encodeValue, type MetricPoint, type MetricSeries } from '@swanlog/protocol';
import { buildSeries, decodeChunk, type RankedPoints, type Rewind, RewindIndex } from '@swanlog/store';
import { BLOCK_FIELDS, BLOCK_POINTS, BlockField, below } from './block-summary.js';
import { bucketOf } from './downsample.js';
import { rankOf } from './experiment-view.js';
import { DEFAULT_MAX_POINTS, firstAtOrAbove, type MetricQuery } from './series-response.js';
import type { ChunkSummaryRecord, ExperimentRef, Storage } from './storage/storage.js';

/**
 * A range is read from block summaries when it holds at least this many blocks' worth of points per
 * bucket, and only blocks spanning at most 1/8 of a bucket's steps stand for their points, so a
 * bucket edge moves by at most 1/8 of a bucket (docs/api.md, "Downsampling").
 */
export const MIN_BLOCKS_PER_BUCKET = 8;

/**
 * The downsampled answer of `metricSeries` read from block summaries, or undefined when the exact
 * read is the one to make (superseded points asked for, too few points per bucket, or no chunk
 * whose blocks can stand for its points).
 *
 * Visibility is settled per chunk from summaries alone: a chunk whose every point a rewind hides
 * is skipped; a chunk that shares no step with any other, whose steps increase and that no rewind
 * reaches is wholly visible, and its blocks stand for its points. Every other chunk meeting the
 * range is decoded and resolved by `buildSeries` with the rest of them: points of one step all lie
 * in such chunks, so their visibility is the exact one.
 */
export async function blockSeries(
  storage: Storage,
  ref: ExperimentRef,
  key: string,
  summaries: ChunkSummaryRecord[],
  ranks: Map<string, number>,
  rewinds: Rewind[],
  query: MetricQuery,
): Promise<MetricSeries | undefined> {
  if (query.superseded === true) return undefined;
  const from = query.from ?? 0;
  const to = query.to ?? Number.MAX_SAFE_INTEGER;
  const maxPoints = query.maxPoints ?? DEFAULT_MAX_POINTS;
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const index = new RewindIndex(rewinds);
  const live = summaries.filter((c) => {
    const rank = rankOf(ranks, c.source);
    return !(c.stepMin > index.limitAfter(c.tsMax, rank, c.seqMax));
  });
  let estimate = 0;
  for (const c of live) if (c.stepMax >= from && c.stepMin <= to) estimate += c.n;
  if (estimate < buckets * BLOCK_POINTS * MIN_BLOCKS_PER_BUCKET) return undefined;

  // The bucket width, at most what it will be (the visible points span no more than these chunks):
  // a block wider than 1/MIN_BLOCKS_PER_BUCKET of it, where steps are sparse, is read point by point.
  let lowest = Number.POSITIVE_INFINITY;
  let highest = Number.NEGATIVE_INFINITY;
  for (const c of live) {
    if (c.stepMax < from || c.stepMin > to) continue;
    lowest = Math.min(lowest, Math.max(from, c.stepMin));
    highest = Math.max(highest, Math.min(to, c.stepMax));
  }
  const widest = (highest - lowest + 1) / buckets / MIN_BLOCKS_PER_BUCKET;

  const alone = chunksSharingNoStep(live);
  const whole: ChunkSummaryRecord[] = []; // wholly visible and wholly in range: blocks may stand for them
  const decode: ChunkSummaryRecord[] = [];
  for (const c of live) {
    if (c.stepMax < from || c.stepMin > to) continue;
    const visible =
      alone.has(c.id) && c.stepMax <= index.limitAfter(c.tsMin, rankOf(ranks, c.source), c.seqMin);
    if (visible && c.stepMin >= from && c.stepMax <= to) whole.push(c);
    else decode.push(c);
  }
  if (whole.length === 0) return undefined;
  const blocks = await storage.chunkBlocks(
    ref,
    whole.map((c) => c.id),
  );
  const usable = whole.filter((c) => {
    const b = blocks.get(c.id);
    return b !== undefined && standsFor(b, c, widest);
  });
  const usableIds = new Set(usable.map((c) => c.id));
  for (const c of whole) if (!usableIds.has(c.id)) decode.push(c);

  const data =
    decode.length === 0
      ? new Map<number, Uint8Array>()
      : await storage.chunkData(
          ref,
          decode.map((c) => c.id),
        );
  const parts: RankedPoints[] = decode.map((c) => {
    const bytes = data.get(c.id);
    if (bytes === undefined) throw new Error(`chunk ${c.id} of ${ref.id} vanished while it was read`);
    return { rank: rankOf(ranks, c.source), ...decodeChunk(bytes) };
  });
  const points = buildSeries(key, parts, rewinds, false);
  const lo = firstAtOrAbove(points.steps, from);
  const hi = firstAtOrAbove(points.steps, to + 1);

  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let total = hi - lo;
  if (hi > lo) {
    first = points.steps[lo]!;
    last = points.steps[hi - 1]!;
  }
  for (const c of usable) {
    first = Math.min(first, c.stepMin);
    last = Math.max(last, c.stepMax);
    total += c.n;
  }
  // Points of one step written again and again can leave fewer visible points than the summaries
  // promised: those few are answered exactly.
  if (total <= maxPoints) return undefined;
  const picks = new Extremes(buckets, first, last - first + 1);
  for (let i = lo; i < hi; i++) {
    const step = points.steps[i]!;
    const value = points.values[i]!;
    const ts = points.ts[i]!;
    picks.add(step, step, value, ts, step, value, ts);
  }
  for (const c of usable) {
    const b = blocks.get(c.id)!;
    for (let o = 0; o < b.length; o += BLOCK_FIELDS) {
      picks.add(
        b[o + BlockField.StepFirst]!,
        b[o + BlockField.MinStep]!,
        b[o + BlockField.MinValue]!,
        b[o + BlockField.MinTs]!,
        b[o + BlockField.MaxStep]!,
        b[o + BlockField.MaxValue]!,
        b[o + BlockField.MaxTs]!,
      );
    }
  }
  return { key, points: picks.points(maxPoints), total, downsampled: true };
}

/**
 * Per bucket of equal step width, the lowest and highest point (the earlier step on ties), as
 * `downsample` keeps them. A block counts in the bucket of its first step.
 */
class Extremes {
  private readonly minStep: Float64Array;
  private readonly minValue: Float64Array;
  private readonly minTs: Float64Array;
  private readonly maxStep: Float64Array;
  private readonly maxValue: Float64Array;
  private readonly maxTs: Float64Array;

  constructor(
    private readonly buckets: number,
    private readonly first: number,
    private readonly span: number,
  ) {
    this.minStep = new Float64Array(buckets).fill(Number.NaN);
    this.minValue = new Float64Array(buckets);
    this.minTs = new Float64Array(buckets);
    this.maxStep = new Float64Array(buckets).fill(Number.NaN);
    this.maxValue = new Float64Array(buckets);
    this.maxTs = new Float64Array(buckets);
  }

  add(
    at: number,
    minStep: number,
    minValue: number,
    minTs: number,
    maxStep: number,
    maxValue: number,
    maxTs: number,
  ) {
    const b = bucketOf(at, this.first, this.span, this.buckets);
    const known = !Number.isNaN(this.minStep[b]!);
    if (
      !known ||
      below(minValue, this.minValue[b]!) ||
      (!below(this.minValue[b]!, minValue) && minStep < this.minStep[b]!)
    ) {
      this.minStep[b] = minStep;
      this.minValue[b] = minValue;
      this.minTs[b] = minTs;
    }
    if (
      !known ||
      below(this.maxValue[b]!, maxValue) ||
      (!below(maxValue, this.maxValue[b]!) && maxStep < this.maxStep[b]!)
    ) {
      this.maxStep[b] = maxStep;
      this.maxValue[b] = maxValue;
      this.maxTs[b] = maxTs;
    }
  }

  /** The kept points in step order: both extremes of a bucket, or its highest when they are one point. */
  points(maxPoints: number): MetricPoint[] {
    const out: MetricPoint[] = [];
    const min = (b: number): MetricPoint => ({
      step: this.minStep[b]!,
      value: encodeValue(this.minValue[b]!),
      ts: this.minTs[b]!,
    });
    const max = (b: number): MetricPoint => ({
      step: this.maxStep[b]!,
      value: encodeValue(this.maxValue[b]!),
      ts: this.maxTs[b]!,
    });
    for (let b = 0; b < this.buckets; b++) {
      if (Number.isNaN(this.minStep[b]!)) continue;
      if (maxPoints < 2 || this.minStep[b] === this.maxStep[b]) out.push(max(b));
      else if (this.minStep[b]! < this.maxStep[b]!) out.push(min(b), max(b));
      else out.push(max(b), min(b));
    }
    return out;
  }
}

/** Ids of the chunks whose step range meets no other chunk's. */
function chunksSharingNoStep(chunks: ChunkSummaryRecord[]): Set<number> {
  const sorted = [...chunks].sort((a, b) => a.stepMin - b.stepMin || a.stepMax - b.stepMax);
  const alone = new Set<number>();
  let reach = Number.NEGATIVE_INFINITY; // the highest step of the chunks before
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]!;
    const next = sorted[i + 1];
    if (c.stepMin > reach && (next === undefined || next.stepMin > c.stepMax)) alone.add(c.id);
    reach = Math.max(reach, c.stepMax);
  }
  return alone;
}

/**
 * The blocks may stand for the chunk's points: they are its own (as many points, the same step
 * range, steps strictly increasing throughout) and none spans more than `width` steps.
 */
function standsFor(blocks: Float64Array, c: ChunkSummaryRecord, width: number): boolean {
  let n = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (let o = 0; o < blocks.length; o += BLOCK_FIELDS) {
    const first = blocks[o + BlockField.StepFirst]!;
    if (blocks[o + BlockField.Increasing] !== 1 || !(first > last)) return false;
    last = blocks[o + BlockField.StepLast]!;
    if (last - first + 1 > width) return false;
    n += blocks[o + BlockField.N]!;
  }
  return n === c.n && blocks[BlockField.StepFirst] === c.stepMin && last === c.stepMax;
}
