import type { EncodedValue } from '@swanlog/protocol';

/** The number a wire value stands for: the API sends non-finite values as strings. */
export function decodeValue(value: EncodedValue | number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}
