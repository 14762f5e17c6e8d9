import type { TensorProto } from '../gen/tensorboard_pb.js';

/** TensorFlow's DataType numbers of the dtypes a scalar summary may have. */
export const DT = {
  FLOAT: 1,
  DOUBLE: 2,
  INT32: 3,
  UINT8: 4,
  INT16: 5,
  INT8: 6,
  INT64: 9,
  BOOL: 10,
  BFLOAT16: 14,
  HALF: 19,
  UINT32: 22,
  UINT64: 23,
} as const;

/**
 * The value of a one-element tensor (what TF2 and `add_scalar(new_style=True)` write for a scalar),
 * from `tensor_content` or the typed `*_val` fields; undefined for a tensor of another shape or dtype.
 */
export function scalarOfTensor(t: TensorProto): number | undefined {
  let elements = 1;
  for (const d of t.tensorShape?.dim ?? []) elements *= Number(d.size);
  if (elements !== 1) return undefined;
  if (t.tensorContent.length > 0) return fromContent(t.dtype, t.tensorContent);
  switch (t.dtype) {
    case DT.FLOAT:
      return t.floatVal[0];
    case DT.DOUBLE:
      return t.doubleVal[0];
    case DT.INT32:
    case DT.UINT8:
    case DT.INT16:
    case DT.INT8:
      return t.intVal[0];
    case DT.INT64:
      return t.int64Val[0] === undefined ? undefined : Number(t.int64Val[0]);
    case DT.HALF:
      return t.halfVal[0] === undefined ? undefined : halfToNumber(t.halfVal[0]);
    case DT.BFLOAT16:
      return t.halfVal[0] === undefined ? undefined : bfloat16ToNumber(t.halfVal[0]);
    default:
      return undefined;
  }
}

function fromContent(dtype: number, bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number) => bytes.length >= n;
  switch (dtype) {
    case DT.FLOAT:
      return need(4) ? view.getFloat32(0, true) : undefined;
    case DT.DOUBLE:
      return need(8) ? view.getFloat64(0, true) : undefined;
    case DT.INT32:
      return need(4) ? view.getInt32(0, true) : undefined;
    case DT.UINT32:
      return need(4) ? view.getUint32(0, true) : undefined;
    case DT.INT64:
      return need(8) ? Number(view.getBigInt64(0, true)) : undefined;
    case DT.UINT64:
      return need(8) ? Number(view.getBigUint64(0, true)) : undefined;
    case DT.INT16:
      return need(2) ? view.getInt16(0, true) : undefined;
    case DT.UINT8:
    case DT.BOOL:
      return need(1) ? view.getUint8(0) : undefined;
    case DT.INT8:
      return need(1) ? view.getInt8(0) : undefined;
    case DT.HALF:
      return need(2) ? halfToNumber(view.getUint16(0, true)) : undefined;
    case DT.BFLOAT16:
      return need(2) ? bfloat16ToNumber(view.getUint16(0, true)) : undefined;
    default:
      return undefined;
  }
}

/** IEEE-754 binary16 bits → number (exact: every half is a double). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits are the high half of a float32's. */
export function bfloat16ToNumber(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, (bits & 0xffff) << 16);
  return view.getFloat32(0);
}
