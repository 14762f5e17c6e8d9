/**
 * TensorBoard's smoothing: an exponential moving average debiased by 1 - weight^n, so the first
 * points are not pulled towards 0. It runs over the points as drawn (a null gap or a non-finite
 * value is kept as it is and does not enter the average). weight 0 returns the values unchanged.
 */
export function smoothEma(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight >= 0 && weight < 1)) {
    throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  }
  if (weight === 0) return values.slice();
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}
