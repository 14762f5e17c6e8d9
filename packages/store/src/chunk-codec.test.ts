import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ChunkPoints, chunkSeqRange, decodeChunk, encodeChunk } from './chunk-codec.js';
import { bytesOf, prng } from './test-support/run-fixtures.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** Bit patterns that must survive exactly: NaN payloads, -0, subnormals, extremes. */
function specialValues(): Float64Array {
  const bits = new BigUint64Array([
    0x7ff8000000000000n, // canonical NaN
    0x7ff8000000000001n, // quiet NaN with a payload
    0xfff8dead0000beefn, // negative quiet NaN with a payload
    0x7ff0000000000001n, // signalling NaN
    0x8000000000000000n, // -0
    0x0000000000000001n, // smallest subnormal
    0x800fffffffffffffn, // largest negative subnormal
    0x0010000000000000n, // smallest normal
  ]);
  const fromBits = new Float64Array(bits.buffer);
  return Float64Array.from([
    ...fromBits,
    0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.EPSILON,
    Math.PI,
    -1e-310,
  ]);
}

type StepPattern = (i: number, rand: () => number) => number;

const stepPatterns: Record<string, StepPattern> = {
  increasing: (i) => i,
  decreasing: (i) => 1_000_000 - i,
  repeated: () => 7,
  'random up to MAX_SAFE_INTEGER': (_, r) => Math.floor(r() * MAX),
  'huge jumps between 0 and MAX_SAFE_INTEGER': (i) => (i % 2 === 0 ? 0 : MAX),
  'jumps just under the zigzag limit': (i) => (i % 2 === 0 ? 0 : 2 ** 51 - 1),
  'jumps at the zigzag limit': (i) => (i % 3 === 0 ? 5 : 5 + 2 ** 51),
  'mixed small and huge': (i, r) => (r() < 0.1 ? MAX - Math.floor(r() * 10) : i % 13),
};

function randomPoints(n: number, steps: StepPattern, rand: () => number): ChunkPoints {
  const p: ChunkPoints = {
    steps: new Float64Array(n),
    values: new Float64Array(n),
    ts: new Float64Array(n),
    seqs: new Float64Array(n),
  };
  const randomBits = new Uint32Array(p.values.buffer);
  for (let i = 0; i < randomBits.length; i++) randomBits[i] = Math.floor(rand() * 2 ** 32);
  const specials = specialValues();
  let ts = Math.floor(rand() * 2 ** 52);
  let seq = Math.floor(rand() * 1e9);
  for (let i = 0; i < n; i++) {
    p.steps[i] = steps(i, rand);
    if (rand() < 0.3) p.values[i] = specials[Math.floor(rand() * specials.length)]!;
    // Timestamps never go backwards within a writer; sequence numbers always go up.
    const r = rand();
    ts += r < 0.4 ? 0 : r < 0.9 ? Math.floor(rand() * 1000) : Math.floor(rand() * 1e12);
    p.ts[i] = ts;
    seq += 1 + (rand() < 0.9 ? 0 : Math.floor(rand() * 1e12));
    p.seqs[i] = seq;
  }
  return p;
}

function assertSamePoints(actual: ChunkPoints, expected: ChunkPoints, n: number, label: string): void {
  assert.equal(actual.steps.length, n, `${label}: point count`);
  assert.deepEqual(Array.from(actual.steps), Array.from(expected.steps.subarray(0, n)), `${label}: steps`);
  assert.deepEqual(Array.from(actual.ts), Array.from(expected.ts.subarray(0, n)), `${label}: timestamps`);
  assert.deepEqual(Array.from(actual.seqs), Array.from(expected.seqs.subarray(0, n)), `${label}: seqs`);
  assert.ok(
    bytesOf(actual.values).equals(bytesOf(expected.values.subarray(0, n))),
    `${label}: value bit patterns differ`,
  );
}

function decodesTo(data: Uint8Array): ChunkPoints | Error {
  try {
    return decodeChunk(data);
  } catch (error) {
    return error as Error;
  }
}

function samePoints(a: ChunkPoints, b: ChunkPoints): boolean {
  return (
    bytesOf(a.steps).equals(bytesOf(b.steps)) &&
    bytesOf(a.values).equals(bytesOf(b.values)) &&
    bytesOf(a.ts).equals(bytesOf(b.ts)) &&
    bytesOf(a.seqs).equals(bytesOf(b.seqs))
  );
}

describe('chunk codec', () => {
  test('round-trips random steps, values (bit-exact), timestamps and sequence numbers', () => {
    const rand = prng(20261122);
    for (const [name, pattern] of Object.entries(stepPatterns)) {
      for (const n of [0, 1, 2, 3, 100, 4096]) {
        const points = randomPoints(n, pattern, rand);
        const decoded = decodeChunk(encodeChunk(points));
        assertSamePoints(decoded, points, n, `${name}, n=${n}`);
      }
    }
  });

  test('chunkSeqRange answers the first and last seq that decoding gives, for every stream encoding', () => {
    const regular = (n: number, seq0: number): ChunkPoints => {
      const seqs = Float64Array.from({ length: n }, (_, i) => seq0 + i);
      return { steps: seqs.slice(), values: seqs.map((x) => x / 3), ts: seqs.map(() => 5_000), seqs };
    };
    const irregular = (n: number): ChunkPoints => {
      const seqs = Float64Array.from({ length: n }, (_, i) => 7 + i * 3 + (i % 2));
      const steps = Float64Array.from({ length: n }, (_, i) => (i * 7919) % 1000);
      return { steps, values: seqs.map((x) => Math.sin(x)), ts: seqs.map((x) => 1_000 + x * 2), seqs };
    };
    for (const points of [regular(1, 0), regular(5000, 123), irregular(1), irregular(999)]) {
      const data = encodeChunk(points);
      const decoded = decodeChunk(data);
      assert.deepEqual(chunkSeqRange(data), {
        n: decoded.seqs.length,
        first: decoded.seqs[0],
        last: decoded.seqs.at(-1),
      });
    }
    const data = encodeChunk(regular(100, 0));
    assert.throws(() => chunkSeqRange(data.subarray(0, data.length - 1)));
  });

  test('round-trips NaN payloads, -0, subnormals and infinities bit for bit', () => {
    const values = specialValues();
    const n = values.length;
    const points: ChunkPoints = {
      steps: Float64Array.from({ length: n }, (_, i) => i),
      values,
      ts: Float64Array.from({ length: n }, () => 1_700_000_000_000),
      seqs: Float64Array.from({ length: n }, (_, i) => i + 1),
    };
    const decoded = decodeChunk(encodeChunk(points));
    assert.ok(bytesOf(decoded.values).equals(bytesOf(values)), 'value bits changed');
    assert.ok(Object.is(decoded.values[4], -0), '-0 came back as +0');
  });

  test('encodes only the first n points when n is given, from views at any offset', () => {
    const rand = prng(7);
    const all = randomPoints(50, stepPatterns['mixed small and huge']!, rand);
    const view: ChunkPoints = {
      steps: all.steps.subarray(10),
      values: all.values.subarray(10),
      ts: all.ts.subarray(10),
      seqs: all.seqs.subarray(10),
    };
    const decoded = decodeChunk(encodeChunk(view, 25));
    assertSamePoints(decoded, view, 25, 'subarray, n=25');
  });

  test('decodes a chunk held in a buffer at an odd byte offset', () => {
    const points = randomPoints(33, stepPatterns.increasing!, prng(3));
    const encoded = encodeChunk(points);
    const host = Buffer.alloc(encoded.length + 5);
    encoded.copy(host, 3);
    assertSamePoints(decodeChunk(host.subarray(3, 3 + encoded.length)), points, 33, 'odd offset');
  });

  test('a step the codec cannot hold exactly (a fraction) is refused, never stored as another step', () => {
    for (const steps of [[1.5], [0, 0.5], [3, 2.25, 7], [2 ** 52 + 0.5]]) {
      const n = steps.length;
      const points: ChunkPoints = {
        steps: Float64Array.from(steps),
        values: new Float64Array(n),
        ts: new Float64Array(n).fill(1),
        seqs: Float64Array.from({ length: n }, (_, i) => i + 1),
      };
      let decoded: ChunkPoints | undefined;
      try {
        decoded = decodeChunk(encodeChunk(points));
      } catch (error) {
        assert.ok(error instanceof Error);
        continue; // refused: fine
      }
      assert.deepEqual(Array.from(decoded.steps), steps, `steps ${steps} came back different`);
    }
  });

  test('a truncated or extended chunk throws, at every length', () => {
    for (const [name, pattern] of Object.entries(stepPatterns)) {
      const points = randomPoints(12, pattern, prng(11));
      const encoded = encodeChunk(points);
      for (let len = 0; len < encoded.length; len++) {
        assert.throws(
          () => decodeChunk(encoded.subarray(0, len)),
          `${name}: a chunk cut to ${len} of ${encoded.length} bytes decoded`,
        );
      }
      assert.throws(
        () => decodeChunk(Buffer.concat([encoded, Buffer.from([0])])),
        `${name}: a chunk with a trailing byte decoded`,
      );
    }
  });

  test('no single-bit flip anywhere in a chunk decodes to different points', () => {
    const silent: string[] = [];
    for (const [name, pattern] of Object.entries(stepPatterns)) {
      const points = randomPoints(20, pattern, prng(5));
      const encoded = encodeChunk(points);
      for (let pos = 0; pos < encoded.length; pos++) {
        for (let bit = 0; bit < 8; bit++) {
          const damaged = Buffer.from(encoded);
          damaged[pos]! ^= 1 << bit;
          const result = decodesTo(damaged);
          if (!(result instanceof Error) && !samePoints(result, points))
            silent.push(`${name}: byte ${pos} bit ${bit}`);
        }
      }
    }
    assert.deepEqual(silent, [], `flips decoded silently into different points:\n${silent.join('\n')}`);
  });

  test('every single-bit flip anywhere in a chunk is detected (throws)', () => {
    const undetected = new Set<string>();
    for (const [name, pattern] of Object.entries(stepPatterns)) {
      const points = randomPoints(20, pattern, prng(6));
      const encoded = encodeChunk(points);
      for (let pos = 0; pos < encoded.length; pos++) {
        for (let bit = 0; bit < 8; bit++) {
          const damaged = Buffer.from(encoded);
          damaged[pos]! ^= 1 << bit;
          if (!(decodesTo(damaged) instanceof Error)) undetected.add(`${name}: byte ${pos} bit ${bit}`);
        }
      }
    }
    assert.deepEqual(
      [...undetected],
      [],
      `flips that decoded without an error:\n${[...undetected].join('\n')}`,
    );
  });

  test('a chunk with a byte overwritten by random garbage throws', () => {
    const rand = prng(99);
    const points = randomPoints(200, stepPatterns['random up to MAX_SAFE_INTEGER']!, rand);
    const encoded = encodeChunk(points);
    for (let trial = 0; trial < 500; trial++) {
      const damaged = Buffer.from(encoded);
      const pos = 12 + Math.floor(rand() * (encoded.length - 12));
      const byte = (damaged[pos]! + 1 + Math.floor(rand() * 255)) & 255;
      damaged[pos] = byte;
      assert.throws(() => decodeChunk(damaged), `byte ${pos} set to ${byte} decoded`);
    }
  });
});
