import { crc32 } from 'node:zlib';
import { SwanlogError } from '@swanlog/protocol';

/** One record of a LevelDB-framed log, or one whose chunks do not check out (skipped, counted). */
export type LogRecord = { kind: 'record'; data: Uint8Array; end: number } | { kind: 'damaged'; end: number };

export const BLOCK = 32 * 1024;
const HEADER = 7;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;

export interface LogHeader {
  ident: string;
  magic: number;
  version: number;
}

/** The 7-byte file header `<4sHB>` (ident, magic, version), or undefined when fewer bytes exist yet. */
export function readLogHeader(
  bytes: Uint8Array,
  file: string,
  expected: { ident: string; magic: number },
): LogHeader | undefined {
  if (bytes.length < HEADER) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = {
    ident: Buffer.from(bytes.subarray(0, 4)).toString('latin1'),
    magic: view.getUint16(4, true),
    version: view.getUint8(6),
  };
  if (header.ident !== expected.ident || header.magic !== expected.magic) {
    throw new SwanlogError(
      'SOURCE_CORRUPT',
      `${file} does not start with the ${expected.ident} file header`,
      {
        hint: 'the file is damaged or not a run file of that tracker',
      },
    );
  }
  return header;
}

/**
 * The records of a LevelDB-framed log (32 KiB blocks, each chunk `<IHB>` CRC, length, type; CRC
 * = IEEE CRC-32 of the type byte then the data), from absolute file offset `start`; `bytes` holds
 * the file from `base` on. A record not complete yet (a writer still running) is left for the next
 * read; a record with a bad chunk is yielded as damaged and reading resumes at the next block.
 */
export function* readLevelDbLog(bytes: Uint8Array, base: number, start: number): Generator<LogRecord> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = base + bytes.length;
  let at = start;
  for (;;) {
    const parts: Uint8Array[] = [];
    let pos = at;
    let damaged = false;
    for (;;) {
      const left = BLOCK - (pos % BLOCK);
      if (left < HEADER) pos += left; // zero padding at the end of a block
      if (pos + HEADER > end) return;
      const crc = view.getUint32(pos - base, true);
      const length = view.getUint16(pos - base + 4, true);
      const type = view.getUint8(pos - base + 6);
      // A zero-filled tail (a file preallocated or cut mid-write): nothing more is written yet.
      if (type === 0 && length === 0 && crc === 0) return;
      const inBlock = (pos % BLOCK) + HEADER + length <= BLOCK;
      if (inBlock && pos + HEADER + length > end) return;
      const data = inBlock ? bytes.subarray(pos - base + HEADER, pos - base + HEADER + length) : undefined;
      const ok = data !== undefined && crc32(data, crc32(Uint8Array.of(type))) >>> 0 === crc;
      const fits = parts.length === 0 ? type === FULL || type === FIRST : type === MIDDLE || type === LAST;
      if (!ok || !fits) {
        // A chunk whose length leaves its block cannot be stepped over: go on at the next block.
        pos = inBlock ? pos + HEADER + length : pos + (BLOCK - (pos % BLOCK));
        damaged = true;
        break;
      }
      pos += HEADER + length;
      parts.push(data);
      if (type === FULL || type === LAST) break;
    }
    at = Math.min(pos, end);
    if (damaged) yield { kind: 'damaged', end: at };
    else yield { kind: 'record', data: parts.length === 1 ? parts[0]! : Buffer.concat(parts), end: at };
  }
}
