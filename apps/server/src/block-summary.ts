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
  const n = p.steps.length;
  const blocks = Math.ceil(n / BLOCK_POINTS);
  const out = new Float64Array(blocks * BLOCK_FIELDS);
  for (let b = 0; b < blocks; b++) {
    const start = b * BLOCK_POINTS;
    const end = Math.min(n, start + BLOCK_POINTS);
    let min = start;
    let max = start;
    let increasing = 1;
    for (let i = start + 1; i < end; i++) {
      if (!(p.steps[i]! > p.steps[i - 1]!)) increasing = 0;
      if (below(p.values[i]!, p.values[min]!)) min = i;
      if (below(p.values[max]!, p.values[i]!)) max = i;
    }
    const o = b * BLOCK_FIELDS;
    out[o + BlockField.N] = end - start;
    out[o + BlockField.StepFirst] = p.steps[start]!;
    out[o + BlockField.StepLast] = p.steps[end - 1]!;
    out[o + BlockField.MinStep] = p.steps[min]!;
    out[o + BlockField.MinValue] = p.values[min]!;
    out[o + BlockField.MinTs] = p.ts[min]!;
    out[o + BlockField.MaxStep] = p.steps[max]!;
    out[o + BlockField.MaxValue] = p.values[max]!;
    out[o + BlockField.MaxTs] = p.ts[max]!;
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
