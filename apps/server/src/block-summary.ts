/**
 * Block summaries: for every run of `BLOCK_POINTS` consecutive points of a stored chunk, its step
 * range and its lowest and highest point. Computed when a chunk is stored, they let a downsampled
 * read of a long series visit one record per block instead of every point (docs/api.md,
 * "Downsampling").
 */

/** Points per block. */
export const BLOCK_POINTS = 128;

/**
 * Float64 fields per block: n, first step, last step, lowest point (step, value, ts), highest
 * point (step, value, ts), and 1 when the block's steps strictly increase.
 */
export const BLOCK_FIELDS = 10;

/** Offsets of the fields within a block. */
export const BlockField = {
  N: 0,
  StepFirst: 1,
  StepLast: 2,
  MinStep: 3,
  MinValue: 4,
  MinTs: 5,
  MaxStep: 6,
  MaxValue: 7,
  MaxTs: 8,
  Increasing: 9,
} as const;

/**
 * The blocks of a chunk's points, in stored order. Within a block the lowest and highest points
 * are the first ones reaching the extreme, NaN counting as above +Infinity, as `downsample` picks.
 */
export function summarizeBlocks(p: {
  steps: Float64Array;
  values: Float64Array;
  ts: Float64Array;
}): Float64Array {
  const { steps, values, ts } = p;
  const n = steps.length;
  const blocks = Math.ceil(n / BLOCK_POINTS);
  const out = new Float64Array(blocks * BLOCK_FIELDS);
  for (let b = 0; b < blocks; b++) {
    const start = b * BLOCK_POINTS;
    const end = Math.min(n, start + BLOCK_POINTS);
    let min = start;
    let max = start;
    let minV = values[start]!;
    let maxV = minV;
    let prevStep = steps[start]!;
    let increasing = 1;
    // below(v, minV) and below(maxV, v) written out (this runs for every point ingested): NaN is
    // never below anything and everything else is below NaN.
    for (let i = start + 1; i < end; i++) {
      const step = steps[i]!;
      if (!(step > prevStep)) increasing = 0;
      prevStep = step;
      const v = values[i]!;
      if (v < minV || (Number.isNaN(minV) && !Number.isNaN(v))) {
        min = i;
        minV = v;
      }
      if (maxV < v || (Number.isNaN(v) && !Number.isNaN(maxV))) {
        max = i;
        maxV = v;
      }
    }
    const o = b * BLOCK_FIELDS;
    out[o + BlockField.N] = end - start;
    out[o + BlockField.StepFirst] = steps[start]!;
    out[o + BlockField.StepLast] = steps[end - 1]!;
    out[o + BlockField.MinStep] = steps[min]!;
    out[o + BlockField.MinValue] = minV;
    out[o + BlockField.MinTs] = ts[min]!;
    out[o + BlockField.MaxStep] = steps[max]!;
    out[o + BlockField.MaxValue] = maxV;
    out[o + BlockField.MaxTs] = ts[max]!;
    out[o + BlockField.Increasing] = increasing;
  }
  return out;
}

/** Bytes of a summary as stored (little-endian float64s). */
export function blocksToBytes(blocks: Float64Array): Buffer {
  return Buffer.from(blocks.buffer, blocks.byteOffset, blocks.byteLength);
}

/** A stored summary back to float64s; undefined when its length cannot be one. */
export function blocksFromBytes(bytes: Uint8Array): Float64Array | undefined {
  if (bytes.byteLength % (BLOCK_FIELDS * 8) !== 0) return undefined;
  const out = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** a < b with NaN above everything. */
export function below(a: number, b: number): boolean {
  if (Number.isNaN(a)) return false;
  if (Number.isNaN(b)) return true;
  return a < b;
}
