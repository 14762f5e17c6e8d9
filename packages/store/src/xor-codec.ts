/**
 * Chimp (Liakos, Papakonstantinopoulou, Kotidis: "Chimp: Efficient Lossless Floating Point
 * Compression for Time Series Databases", VLDB 2022) over 64-bit patterns, and the same scheme over
 * 32-bit patterns, as chunk codec version 2 stores values (docs/format.md "Value encodings").
 * Bits are written most significant first; the stream ends with zero bits up to a whole byte.
 *
 * Each value after the first is stored as its XOR with the one before:
 *   '00'                        the same bit pattern again
 *   '01' lead(3) len centre     when the XOR has more than 6 (32-bit: 5) trailing zeros: `len`
 *                               (6 bits; 32-bit: 5) bits of centre, the XOR shifted right by its
 *                               trailing zeros
 *   '10' rest                   same rounded leading zeros as the value before's '11': the XOR's
 *                               low (width - lead) bits
 *   '11' lead(3) rest           a new rounded leading-zero count, then the XOR's low (width - lead) bits
 * `lead(3)` indexes the rounded leading-zero counts LEAD_64 (LEAD_32); a '00' or '01' forgets the
 * stored count, so the next '10' needs a '11' first.
 */
import { endianness } from 'node:os';
import { ChunkDecodeError } from './chunk-errors.js';

export const LEAD_64 = [0, 8, 12, 16, 18, 20, 22, 24];
export const LEAD_32 = [0, 4, 6, 8, 10, 12, 14, 16];

function leadCodes(table: number[], width: number): Uint8Array {
  const codes = new Uint8Array(width + 1);
  for (let lz = 0; lz <= width; lz++) {
    let code = 0;
    for (let i = 0; i < table.length; i++) if (table[i]! <= lz) code = i;
    codes[lz] = code;
  }
  return codes;
}
const CODE_64 = leadCodes(LEAD_64, 64);
const CODE_32 = leadCodes(LEAD_32, 32);

const ctz32 = (x: number) => 31 - Math.clz32(x & -x);

/** Writes bit fields most significant bit first, 32 bits at a time. */
class BitWriter {
  /** The pending bits, in the low `nacc` bits (nacc < 32). */
  private acc = 0;
  private nacc = 0;

  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
  ) {}

  /** Writes the low `k` (<= 32) bits of v (v < 2^k). */
  put(v: number, k: number): void {
    const free = 32 - this.nacc;
    if (k < free) {
      this.acc = (this.acc << k) | v;
      this.nacc += k;
      return;
    }
    const rest = k - free;
    const word = free === 32 ? v : (this.acc << free) | (v >>> rest);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = word >>> 24;
    buf[p + 1] = (word >>> 16) & 255;
    buf[p + 2] = (word >>> 8) & 255;
    buf[p + 3] = word & 255;
    this.pos = p + 4;
    this.acc = rest === 0 ? 0 : v & ((1 << rest) - 1);
    this.nacc = rest;
  }

  put32(v: number, k: number): void {
    this.put(v, k);
  }

  /** Pads with zero bits to a whole byte; answers the end position. */
  finish(): number {
    if (this.nacc > 0) {
      const word = this.acc << (32 - this.nacc);
      for (let shift = 24; this.nacc > 0; shift -= 8, this.nacc -= Math.min(8, this.nacc))
        this.buf[this.pos++] = (word >>> shift) & 255;
    }
    this.nacc = 0;
    return this.pos;
  }
}

/**
 * The stream [pos, end) as big-endian 32-bit words, with three zero words after it (a field read
 * from within the stream never runs past them), in a reused buffer: a decoder reads any field of
 * up to 32 bits at bit position p from words p >>> 5 and the one after, without a call or a bounds
 * check per field. The bytes are copied and byte-swapped natively (Buffer#swap32 on a
 * little-endian machine): a JavaScript loop assembling each word from four bytes took ~5% of a
 * server's ingest.
 */
function wordsOf(buf: Uint8Array, pos: number, end: number): Int32Array {
  const len = end - pos;
  const bytes = (((len + 3) >>> 2) + 3) * 4;
  if (wordBytes.length < bytes) {
    wordBytes = Buffer.alloc(Math.max(bytes, wordBytes.length * 2));
    wordScratch = new Int32Array(wordBytes.buffer, wordBytes.byteOffset, wordBytes.length >>> 2);
  }
  wordBytes.set(buf.subarray(pos, end), 0);
  wordBytes.fill(0, len, bytes);
  if (LITTLE_ENDIAN) wordBytes.subarray(0, bytes).swap32();
  return wordScratch;
}
const LITTLE_ENDIAN = endianness() === 'LE';
/** wordsOf's buffer (not pooled, so its words are aligned) and its Int32Array view. */
let wordBytes = Buffer.alloc(4096);
let wordScratch = new Int32Array(wordBytes.buffer, wordBytes.byteOffset, wordBytes.length >>> 2);

/** The `k` (1..32) bits at bit position p of `words` (see wordsOf), as an unsigned number. */
function bitsAt(words: Int32Array, p: number, k: number): number {
  const w = p >>> 5;
  const off = p & 31;
  // (x >>> 1) >>> (31 - off) is x >>> (32 - off), defined for off = 0 too (it gives 0).
  const v = (words[w]! << off) | ((words[w + 1]! >>> 1) >>> (31 - off));
  return v >>> (32 - k);
}

/** Fails unless the stream of `bits` bits ends at bit p: at most 7 zero bits of padding after it. */
function finishAt(buf: Uint8Array, end: number, bits: number, p: number): void {
  if (p > bits) throw new ChunkDecodeError('chunk value stream ends early');
  const left = bits - p;
  if (left >= 8 || (left > 0 && (buf[end - 1]! & ((1 << left) - 1)) !== 0))
    throw new ChunkDecodeError('chunk value stream has trailing bits');
}

/** Encodes n 64-bit patterns (lo, hi pairs, little endian) into buf at pos; answers the end. */
export function encodeXor64(bits: Uint32Array, n: number, buf: Uint8Array, pos: number): number {
  if (n === 0) return pos;
  const w = new BitWriter(buf, pos);
  let plo = bits[0]!;
  let phi = bits[1]!;
  w.put32(phi, 32);
  w.put32(plo, 32);
  let stored = -1;
  for (let i = 1; i < n; i++) {
    const lo = bits[2 * i]!;
    const hi = bits[2 * i + 1]!;
    const xlo = (lo ^ plo) >>> 0;
    const xhi = (hi ^ phi) >>> 0;
    plo = lo;
    phi = hi;
    if (xlo === 0 && xhi === 0) {
      w.put(0, 2);
      stored = -1;
      continue;
    }
    const code = CODE_64[xhi !== 0 ? Math.clz32(xhi) : 32 + Math.clz32(xlo)]!;
    const lead = LEAD_64[code]!;
    const tz = xlo !== 0 ? ctz32(xlo) : 32 + ctz32(xhi);
    if (tz > 6) {
      const len = 64 - lead - tz;
      w.put((1 << 9) | (code << 6) | len, 11);
      // The centre: the XOR shifted right by tz (> 6, so the 32-bit shifts below are defined).
      if (tz >= 32) w.put32(xhi >>> (tz - 32), len);
      else {
        const clo = ((xlo >>> tz) | (xhi << (32 - tz))) >>> 0;
        const chi = xhi >>> tz;
        if (len > 32) {
          w.put32(chi, len - 32);
          w.put32(clo, 32);
        } else w.put32(clo, len);
      }
      stored = -1;
      continue;
    }
    if (lead === stored) w.put(2, 2);
    else {
      w.put((3 << 3) | code, 5);
      stored = lead;
    }
    const m = 64 - lead;
    if (m > 32) {
      w.put32(xhi, m - 32);
      w.put32(xlo, 32);
    } else w.put32(xlo, m);
  }
  return w.finish();
}

/** Decodes n 64-bit patterns from [pos, end) into out (lo, hi pairs). */
export function decodeXor64(buf: Uint8Array, pos: number, end: number, n: number, out: Uint32Array): void {
  if (n === 0) {
    if (pos !== end) throw new ChunkDecodeError('chunk value stream has trailing bits');
    return;
  }
  const bits = (end - pos) * 8;
  if (bits < 64) throw new ChunkDecodeError('chunk value stream ends early');
  const words = wordsOf(buf, pos, end);
  let phi = words[0]! >>> 0;
  let plo = words[1]! >>> 0;
  let p = 64;
  out[0] = plo;
  out[1] = phi;
  let stored = -1;
  for (let i = 1; i < n; i++) {
    // Every value takes 2 to 75 bits: past the end, stop reading zeros.
    if (p > bits) throw new ChunkDecodeError('chunk value stream ends early');
    const head = bitsAt(words, p, 11);
    const flag = head >>> 9;
    if (flag === 0) {
      p += 2;
      stored = -1;
    } else if (flag === 1) {
      const lead = LEAD_64[(head >>> 6) & 7]!;
      const len = head & 63;
      const tz = 64 - lead - len;
      if (len === 0 || tz <= 6) throw new ChunkDecodeError('chunk value stream has a bad centre length');
      p += 11;
      let chi = 0;
      let clo: number;
      if (len > 32) {
        chi = bitsAt(words, p, len - 32);
        clo = bitsAt(words, p + len - 32, 32);
      } else clo = bitsAt(words, p, len);
      p += len;
      // Shift the centre back left by tz.
      let xhi: number;
      let xlo: number;
      if (tz >= 32) {
        xhi = (clo << (tz - 32)) >>> 0;
        xlo = 0;
      } else {
        xhi = ((chi << tz) | (clo >>> (32 - tz))) >>> 0;
        xlo = (clo << tz) >>> 0;
      }
      phi = (phi ^ xhi) >>> 0;
      plo = (plo ^ xlo) >>> 0;
      stored = -1;
    } else {
      if (flag === 3) {
        stored = LEAD_64[(head >>> 6) & 7]!;
        p += 5;
      } else if (stored < 0)
        throw new ChunkDecodeError('chunk value stream reuses a leading-zero count it never set');
      else p += 2;
      const m = 64 - stored;
      let xhi = 0;
      let xlo: number;
      if (m > 32) {
        xhi = bitsAt(words, p, m - 32);
        xlo = bitsAt(words, p + m - 32, 32);
      } else xlo = bitsAt(words, p, m);
      p += m;
      phi = (phi ^ xhi) >>> 0;
      plo = (plo ^ xlo) >>> 0;
    }
    out[2 * i] = plo;
    out[2 * i + 1] = phi;
  }
  finishAt(buf, end, bits, p);
}

/** Encodes n 32-bit patterns into buf at pos; answers the end. */
export function encodeXor32(bits: Uint32Array, n: number, buf: Uint8Array, pos: number): number {
  if (n === 0) return pos;
  const w = new BitWriter(buf, pos);
  let prev = bits[0]!;
  w.put32(prev, 32);
  let stored = -1;
  for (let i = 1; i < n; i++) {
    const v = bits[i]!;
    const x = (v ^ prev) >>> 0;
    prev = v;
    if (x === 0) {
      w.put(0, 2);
      stored = -1;
      continue;
    }
    const code = CODE_32[Math.clz32(x)]!;
    const lead = LEAD_32[code]!;
    const tz = ctz32(x);
    if (tz > 5) {
      const len = 32 - lead - tz;
      w.put((1 << 8) | (code << 5) | len, 10);
      w.put32(x >>> tz, len);
      stored = -1;
      continue;
    }
    if (lead === stored) w.put(2, 2);
    else {
      w.put((3 << 3) | code, 5);
      stored = lead;
    }
    w.put32(x, 32 - lead);
  }
  return w.finish();
}

/** Decodes n 32-bit patterns from [pos, end) into out. */
export function decodeXor32(buf: Uint8Array, pos: number, end: number, n: number, out: Uint32Array): void {
  if (n === 0) {
    if (pos !== end) throw new ChunkDecodeError('chunk value stream has trailing bits');
    return;
  }
  const bits = (end - pos) * 8;
  if (bits < 32) throw new ChunkDecodeError('chunk value stream ends early');
  const words = wordsOf(buf, pos, end);
  let prev = words[0]! >>> 0;
  let p = 32;
  out[0] = prev;
  let stored = -1;
  for (let i = 1; i < n; i++) {
    // Every value takes 2 to 40 bits: past the end by more than 40 bits, stop reading zeros.
    if (p > bits) throw new ChunkDecodeError('chunk value stream ends early');
    const head = bitsAt(words, p, 10);
    const flag = head >>> 8;
    if (flag === 0) {
      p += 2;
      stored = -1;
    } else if (flag === 1) {
      const lead = LEAD_32[(head >>> 5) & 7]!;
      const len = head & 31;
      const tz = 32 - lead - len;
      if (len === 0 || tz <= 5) throw new ChunkDecodeError('chunk value stream has a bad centre length');
      prev = (prev ^ (bitsAt(words, p + 10, len) << tz)) >>> 0;
      p += 10 + len;
      stored = -1;
    } else {
      if (flag === 3) {
        stored = LEAD_32[(head >>> 5) & 7]!;
        p += 5;
      } else if (stored < 0)
        throw new ChunkDecodeError('chunk value stream reuses a leading-zero count it never set');
      else p += 2;
      const m = 32 - stored;
      prev = (prev ^ bitsAt(words, p, m)) >>> 0;
      p += m;
    }
    out[i] = prev;
  }
  finishAt(buf, end, bits, p);
}
