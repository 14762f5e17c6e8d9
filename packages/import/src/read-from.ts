import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The bytes of `path` from `offset` to its current end. */
export function readFrom(path: string, offset: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out = Buffer.alloc(Math.max(0, size - offset));
    let at = 0;
    while (at < out.length) {
      const n = readSync(fd, out, at, out.length - at, offset + at);
      if (n === 0) break;
      at += n;
    }
    return out.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}
