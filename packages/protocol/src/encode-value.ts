/** A metric value as it travels in JSON: finite numbers as numbers, the rest as fixed strings. */
export type EncodedValue = number | 'NaN' | 'Infinity' | '-Infinity';

/** The one encoding of non-finite values on the wire and in JSON/CSV exports. */
export function encodeValue(value: number): EncodedValue {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** Inverse of `encodeValue`; returns undefined for anything that is not an encoded value. */
export function decodeValue(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}
