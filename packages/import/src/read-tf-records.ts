import { SwanlogError } from '@swanlog/protocol';
import { maskedCrc32c } from './masked-crc32c.js';

/** One TFRecord: its payload, or a record whose payload CRC does not match (skipped, counted). */
export type TfRecord = { kind: 'record'; data: Uint8Array; end: number } | { kind: 'damaged'; end: number };

const HEADER = 12;
const FOOTER = 4;

/**
 * The TFRecords of `bytes` from `offset` on (u64le length, u32le masked CRC-32C of the length, the
 * data, u32le masked CRC-32C of the data). Stops before a record that is not complete yet (a
 * writer still running): its bytes are left for the next read, never half-read. A record whose
 * data CRC is wrong is yielded as damaged and reading goes on after it; a length whose CRC is wrong
 * leaves no way to find the next record, so it is SOURCE_CORRUPT naming `file`.
 */
export function* readTfRecords(bytes: Uint8Array, offset: number, file: string): Generator<TfRecord> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = offset;
  while (at + HEADER <= bytes.length) {
    const lengthBytes = bytes.subarray(at, at + 8);
    if (maskedCrc32c(lengthBytes) !== view.getUint32(at + 8, true)) {
      throw new SwanlogError('SOURCE_CORRUPT', `${file}: the record at byte ${at} has a damaged length`, {
        hint: 'the file is damaged or not a TensorBoard event file; records before this one were imported',
      });
    }
    const length = Number(view.getBigUint64(at, true));
    const end = at + HEADER + length + FOOTER;
    if (end > bytes.length) return;
    const data = bytes.subarray(at + HEADER, at + HEADER + length);
    if (maskedCrc32c(data) === view.getUint32(at + HEADER + length, true))
      yield { kind: 'record', data, end };
    else yield { kind: 'damaged', end };
    at = end;
  }
}

/** Frames `data` as one TFRecord. */
export function frameTfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + data.length + FOOTER);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, HEADER);
  view.setUint32(HEADER + data.length, maskedCrc32c(data), true);
  return out;
}
