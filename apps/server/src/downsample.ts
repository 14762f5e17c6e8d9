import { below } from './block-summary.js';

/**
 * Picks at most `maxPoints` of the points at `indices` (in step order): the step range is cut into
 * `floor(maxPoints / 2)` equal buckets and each keeps its minimum and maximum, so no spike is lost.
 * NaN counts as above +Infinity (a diverged loss shows). With `maxPoints` 1, the one maximum is kept.
 */
export function downsample(
  series: { steps: Float64Array; values: Float64Array },
  indices: ArrayLike<number>,
  maxPoints: number,
): number[] {
  if (indices.length <= maxPoints) return Array.from(indices);
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const first = series.steps[indices[0]!]!;
  const span = series.steps[indices[indices.length - 1]!]! - first + 1;
  const kept: number[] = [];
  let bucket = -1;
  let min = -1;
  let max = -1;
  const flush = () => {
    if (bucket === -1) return;
    if (maxPoints >= 2 && min !== max) kept.push(Math.min(min, max), Math.max(min, max));
    else kept.push(max);
  };
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    const b = bucketOf(series.steps[i]!, first, span, buckets);
    if (b !== bucket) {
      flush();
      bucket = b;
      min = i;
      max = i;
      continue;
    }
    if (below(series.values[i]!, series.values[min]!)) min = i;
    if (below(series.values[max]!, series.values[i]!)) max = i;
  }
  flush();
  return kept;
}

/**
 * The bucket of `step` when [first, first + span) is cut into `buckets` equal parts. Multiplying
 * before dividing keeps the edges exact: steps are integers, so a step on an edge is never put one
 * bucket early by rounding.
 */
export function bucketOf(step: number, first: number, span: number, buckets: number): number {
  return Math.min(buckets - 1, Math.floor(((step - first) * buckets) / span));
}
