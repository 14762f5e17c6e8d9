// `node bench/dist/codec-choice.js [--logdir <dir>]...`: the measurement that chose the chunk value
// codec (docs/decisions.md). Counts the bits each candidate lossless codec needs for every series of
// the realistic generator (10 and 1,000 keys), of the real TensorBoard and W&B sample files in
// ../shared/samples (imported), and of the runs in each --logdir (say, the example trainers' runs).
// Sizes only: the chosen codec itself lives in packages/store/src/chunk-codec.ts.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importSources } from '@swanlog/import';
import { listRunDirs, RunReader } from '@swanlog/store';
import { RealisticRun } from './realistic-values.js';

const f64 = new Float64Array(1);
const u32of64 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32of32 = new Uint32Array(f32.buffer);

const ctz32 = (x: number) => (x === 0 ? 32 : 31 - Math.clz32(x & -x));

/** The 64-bit patterns of the values as [hi, lo] pairs. */
function bits64(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** The float32 patterns when every value is a widened float32, bit for bit; else null. */
function bits32(values: Float64Array): Uint32Array | null {
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f64[0] = values[i]!;
    const lo = u32of64[0]!;
    const hi = u32of64[1]!;
    f32[0] = f64[0];
    f64[0] = f32[0];
    if (u32of64[0] !== lo || u32of64[1] !== hi) return null;
    out[i] = u32of32[0]!;
  }
  return out;
}

/** Whether every value is an integer that a zigzag delta stream holds exactly (not -0). */
function allIntegers(values: Float64Array): boolean {
  for (const v of values)
    if (!Number.isSafeInteger(v) || Math.abs(v) >= 2 ** 50 || Object.is(v, -0)) return false;
  return true;
}

function varintBits(v: number): number {
  let bytes = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes * 8;
}

/** Integers as zigzag deltas, run-length encoded when that is smaller (as the step stream is). */
function intBits(values: Float64Array): number {
  let plain = 0;
  let rle = 0;
  let prev = 0;
  let prevD = Number.NaN;
  let run = 0;
  for (const v of values) {
    const d = v - prev;
    const z = d >= 0 ? 2 * d : -2 * d - 1;
    plain += varintBits(z);
    if (z === prevD) run++;
    else {
      if (run > 0) rle += varintBits(prevD) + varintBits(run);
      prevD = z;
      run = 1;
    }
    prev = v;
  }
  if (run > 0) rle += varintBits(prevD) + varintBits(run);
  return Math.min(plain, rle);
}

const LEAD_ROUND_64 = [0, 8, 12, 16, 18, 20, 22, 24];
function roundLead(lz: number, table: number[]): number {
  let r = 0;
  for (const t of table) if (lz >= t) r = t;
  return r;
}

/** Chimp (Liakos et al., VLDB 2022) over 64-bit patterns. */
function chimp64Bits(b: Uint32Array): number {
  const n = b.length / 2;
  if (n === 0) return 0;
  let bits = 64;
  let stored = -1;
  for (let i = 1; i < n; i++) {
    const hi = (b[2 * i + 1]! ^ b[2 * i - 1]!) >>> 0;
    const lo = (b[2 * i]! ^ b[2 * i - 2]!) >>> 0;
    if (hi === 0 && lo === 0) {
      bits += 2;
      stored = -1;
      continue;
    }
    const lzRaw = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
    const lz = roundLead(lzRaw, LEAD_ROUND_64);
    const tz = lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
    if (tz > 6) {
      bits += 11 + (64 - lz - tz);
      stored = -1;
    } else if (lz === stored) bits += 2 + 64 - lz;
    else {
      stored = lz;
      bits += 5 + 64 - lz;
    }
  }
  return bits;
}

/** Chimp adapted to 32-bit patterns: leading zeros rounded to 3 bits of `table`, 5-bit centre length. */
function chimp32Bits(b: Uint32Array, table: number[]): number {
  const n = b.length;
  if (n === 0) return 0;
  let bits = 32;
  let stored = -1;
  for (let i = 1; i < n; i++) {
    const x = (b[i]! ^ b[i - 1]!) >>> 0;
    if (x === 0) {
      bits += 2;
      stored = -1;
      continue;
    }
    const lz = roundLead(Math.clz32(x), table);
    const tz = ctz32(x);
    if (tz > 5) {
      bits += 10 + (32 - lz - tz);
      stored = -1;
    } else if (lz === stored) bits += 2 + 32 - lz;
    else {
      stored = lz;
      bits += 5 + 32 - lz;
    }
  }
  return bits;
}

/** Gorilla (Pelkonen et al., VLDB 2015) over `width`-bit patterns given as (hi, lo) or lo only. */
function gorillaBits(b: Uint32Array, wide: boolean): number {
  const width = wide ? 64 : 32;
  const n = wide ? b.length / 2 : b.length;
  if (n === 0) return 0;
  let bits = width;
  let pl = -1;
  let pt = -1;
  for (let i = 1; i < n; i++) {
    let lz: number;
    let tz: number;
    let zero: boolean;
    if (wide) {
      const hi = (b[2 * i + 1]! ^ b[2 * i - 1]!) >>> 0;
      const lo = (b[2 * i]! ^ b[2 * i - 2]!) >>> 0;
      zero = hi === 0 && lo === 0;
      lz = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
      tz = lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
    } else {
      const x = (b[i]! ^ b[i - 1]!) >>> 0;
      zero = x === 0;
      lz = Math.clz32(x);
      tz = ctz32(x);
    }
    if (zero) {
      bits += 1;
      continue;
    }
    lz = Math.min(lz, 31);
    if (pl >= 0 && lz >= pl && tz >= pt) bits += 2 + width - pl - pt;
    else {
      bits += 2 + 5 + (wide ? 6 : 5) + width - lz - tz;
      pl = lz;
      pt = tz;
    }
  }
  return bits;
}

/** The share of values that ALP's decimal step encodes exactly with at most `digits` decimals. */
function alpDecimalShare(values: Float64Array, digits = 14): number {
  let ok = 0;
  for (const v of values) {
    for (let e = 0; e <= digits; e++) {
      const scaled = Math.round(v * 10 ** e);
      if (Math.abs(scaled) < 2 ** 52 && scaled / 10 ** e === v) {
        ok++;
        break;
      }
    }
  }
  return values.length ? ok / values.length : 0;
}

interface Totals {
  values: number;
  series: number;
  raw: number;
  gorilla64: number;
  chimp64: number;
  /** Values narrowed to float32 where every value of the series is one, else chimp64; ints as deltas. */
  chimp32a: number;
  chimp32b: number;
  gorilla32: number;
  f32Share: number;
  intShare: number;
  alpShare: number;
}

const TABLE_A = [0, 4, 6, 8, 10, 12, 14, 16];
const TABLE_B = [0, 8, 9, 10, 11, 12, 14, 16];
const CHUNK = 1024;

function measure(series: Float64Array[]): Totals {
  const t: Totals = {
    values: 0,
    series: series.length,
    raw: 0,
    gorilla64: 0,
    chimp64: 0,
    chimp32a: 0,
    chimp32b: 0,
    gorilla32: 0,
    f32Share: 0,
    intShare: 0,
    alpShare: 0,
  };
  let alpSampled = 0;
  for (const s of series) {
    // Chunks of up to 1,024 points, as a writer's merged chunks hold.
    for (let at = 0; at < s.length; at += CHUNK) {
      const v = s.subarray(at, at + CHUNK);
      t.values += v.length;
      t.raw += v.length * 64;
      const b64 = bits64(v);
      const g64 = gorillaBits(b64, true);
      const c64 = chimp64Bits(b64);
      t.gorilla64 += g64;
      t.chimp64 += c64;
      if (allIntegers(v)) {
        const ib = intBits(v);
        t.intShare += v.length;
        t.chimp32a += Math.min(ib, c64);
        t.chimp32b += Math.min(ib, c64);
        t.gorilla32 += Math.min(ib, g64);
        continue;
      }
      const b32 = bits32(v);
      if (b32 === null) {
        t.chimp32a += c64;
        t.chimp32b += c64;
        t.gorilla32 += g64;
        continue;
      }
      t.f32Share += v.length;
      t.chimp32a += chimp32Bits(b32, TABLE_A);
      t.chimp32b += chimp32Bits(b32, TABLE_B);
      t.gorilla32 += gorillaBits(b32, false);
    }
    if (alpSampled < 200_000) {
      const sample = s.subarray(0, 2000);
      t.alpShare += alpDecimalShare(sample) * sample.length;
      alpSampled += sample.length;
    }
  }
  t.f32Share /= t.values || 1;
  t.intShare /= t.values || 1;
  t.alpShare /= alpSampled || 1;
  return t;
}

function realistic(keys: number, steps: number): Float64Array[] {
  const run = new RealisticRun(keys, 42, steps);
  const out = run.keys.map(() => new Float64Array(steps));
  const row = new Float64Array(keys);
  for (let s = 0; s < steps; s++) {
    run.fill(s, row);
    for (let k = 0; k < keys; k++) out[k]![s] = row[k]!;
  }
  return out;
}

function seriesOfLogdir(logdir: string): Float64Array[] {
  const out: Float64Array[] = [];
  for (const dir of listRunDirs(logdir)) {
    const run = RunReader.open(dir, { readonly: true });
    try {
      for (const key of run.keys()) {
        const { values } = run.series(key);
        if (values.length > 1) out.push(values);
      }
    } finally {
      run.close();
    }
  }
  return out;
}

const { values: args } = parseArgs({ options: { logdir: { type: 'string', multiple: true, default: [] } } });
const datasets: [string, Float64Array[]][] = [
  ['realistic, 10 keys × 100,000 steps', realistic(10, 100_000)],
  ['realistic, 1,000 keys × 2,000 steps', realistic(1000, 2000)],
];
const samples = new URL('../../../shared/samples/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'swanlog-codec-'));
try {
  for (const kind of ['tensorboard', 'wandb'] as const) {
    const dir = join(samples, kind);
    if (!existsSync(dir)) continue;
    const logdir = join(work, kind);
    const paths = readdirSync(dir).map((f) => join(dir, f));
    // The damaged samples (bad CRC, torn tail) fail on their own; the others import.
    try {
      importSources({ cwd: work, paths, logdir, kinds: [kind] });
    } catch {
      // reported per source; nothing to do here
    }
    datasets.push([`${kind} samples (real, ../shared/samples)`, seriesOfLogdir(logdir)]);
  }
  for (const logdir of args.logdir ?? []) datasets.push([`runs in ${logdir}`, seriesOfLogdir(logdir)]);

  const bpp = (bits: number, t: Totals) => (bits / 8 / (t.values || 1)).toFixed(2);
  const header = [
    'data',
    'series',
    'values',
    'raw f64',
    'gorilla64',
    'chimp64',
    'gorilla32*',
    'chimp32a*',
    'chimp32b*',
    'f32',
    'int',
    'alp dec',
  ];
  const rows = [header];
  for (const [name, series] of datasets) {
    const t = measure(series);
    rows.push([
      name,
      String(t.series),
      String(t.values),
      bpp(t.raw, t),
      bpp(t.gorilla64, t),
      bpp(t.chimp64, t),
      bpp(t.gorilla32, t),
      bpp(t.chimp32a, t),
      bpp(t.chimp32b, t),
      `${(t.f32Share * 100).toFixed(0)}%`,
      `${(t.intShare * 100).toFixed(0)}%`,
      `${(t.alpShare * 100).toFixed(0)}%`,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(`bytes per value (values only; chunks of ${CHUNK})\n`);
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
  process.stdout.write(
    '* float32-exact chunks narrowed to their 32-bit patterns, integer chunks as zigzag deltas, the rest 64-bit\n' +
      'f32 / int: share of values in float32-exact / integer chunks; alp dec: share that ALP’s decimal step encodes exactly\n',
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
