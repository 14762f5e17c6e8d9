/** One key's pending points in seq order (strictly increasing seqs: one point per key per log call). */
export interface KeyPoints {
  key: string;
  steps: Float64Array;
  values: Float64Array;
  ts: Float64Array;
  seqs: Float64Array;
}

/**
 * The end (inclusive) of the next batch starting after `from`: the largest seq `t <= maxSeq` such
 * that the points with seq in (from, t] number at most `budget`. One seq is never split, so when the
 * very next seq alone holds more than `budget` points the batch is that seq. Returns `maxSeq` when
 * everything left fits.
 */
export function nextBatchEnd(keys: KeyPoints[], from: number, maxSeq: number, budget: number): number {
  if (maxSeq <= from) return maxSeq;
  if (countIn(keys, from, maxSeq) <= budget) return maxSeq;
  let lo = from; // count(from, lo] <= budget holds
  let hi = maxSeq; // count(from, hi] > budget
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (countIn(keys, from, mid) <= budget) lo = mid;
    else hi = mid;
  }
  if (lo > from && countIn(keys, from, lo) > 0) return lo;
  // Even the first seq after `from` is over budget: send it alone, whole.
  return firstSeqAfter(keys, from) ?? maxSeq;
}

/** Every batch boundary from `from` to `maxSeq`: [[from, t1], [t1, t2], ..., [tk-1, maxSeq]]. */
export function cutBatches(
  keys: KeyPoints[],
  from: number,
  maxSeq: number,
  budget: number,
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
export function countIn(keys: KeyPoints[], from: number, to: number): number {
  let n = 0;
  for (const k of keys) n += upperBound(k.seqs, to) - upperBound(k.seqs, from);
  return n;
}

/** Index range [lo, hi) of the points of `k` with seq in (from, to]. */
export function rangeOf(k: KeyPoints, from: number, to: number): [number, number] {
  return [upperBound(k.seqs, from), upperBound(k.seqs, to)];
}

function firstSeqAfter(keys: KeyPoints[], from: number): number | undefined {
  let best: number | undefined;
  for (const k of keys) {
    const i = upperBound(k.seqs, from);
    const s = k.seqs[i];
    if (s !== undefined && (best === undefined || s < best)) best = s;
  }
  return best;
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
