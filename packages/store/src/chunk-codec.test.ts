import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  type ChunkPoints,
  chunkSeqRange,
  decodeChunk,
  encodeChunk,
  VALUES_INT,
  VALUES_INT_RLE,
  VALUES_RAW,
  VALUES_XOR32,
  VALUES_XOR64,
} from './chunk-codec.js';
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

type ValueFamily = (i: number, rand: () => number, values: Float64Array) => void;

/** How the values of a chunk look: each family takes another version 2 value encoding. */
const valueFamilies: Record<string, ValueFamily | null> = {
  // Random bit patterns with special values mixed in (the default below).
  'random bits': null,
  'float32 curve with noise': (i, r, v) => {
    v[i] = Math.fround(Math.exp(-i / 50) * (1 + (r() - 0.5) * 0.1));
  },
  'float32 with repeats, -0 and NaN': (i, r, v) => {
    const x = r();
    v[i] = x < 0.2 ? -0 : x < 0.3 ? Number.NaN : x < 0.6 && i > 0 ? v[i - 1]! : Math.fround(r() * 1e6);
  },
  'float64 curve': (i, r, v) => {
    v[i] = 0.5 * (1 + Math.cos((Math.PI * i) / 1000)) * 1e-3 + r() * 1e-12;
  },
  integers: (i, r, v) => {
    v[i] = r() < 0.5 ? i * 4096 : Math.floor((r() - 0.5) * 2 ** 50);
  },
  'integers going up by one': (i, _r, v) => {
    v[i] = 1000 + i;
  },
};

function randomPoints(
  n: number,
  steps: StepPattern,
  rand: () => number,
  family: ValueFamily | null = null,
): ChunkPoints {
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
    if (family !== null) family(i, rand, p.values);
    else if (rand() < 0.3) p.values[i] = specials[Math.floor(rand() * specials.length)]!;
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

const encodeAs = (points: ChunkPoints, n: number | undefined, version: number) =>
  encodeChunk(points, n ?? points.steps.length, version);

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

for (const version of [1, 2]) {
  const encodeChunk = (points: ChunkPoints, n?: number) => encodeAs(points, n, version);
  /** Step patterns with random values, then each value family with increasing steps. */
  function cases(): [string, StepPattern, ValueFamily | null][] {
    return [
      ...Object.entries(stepPatterns).map(([name, p]): [string, StepPattern, null] => [name, p, null]),
      ...Object.entries(valueFamilies).map(([name, f]): [string, StepPattern, ValueFamily | null] => [
        `values: ${name}`,
        stepPatterns.increasing!,
        f,
      ]),
    ];
  }

  describe(`chunk codec version ${version}`, () => {
    test('round-trips random steps, values (bit-exact), timestamps and sequence numbers', () => {
      const rand = prng(20261122);
      for (const [name, pattern] of Object.entries(stepPatterns)) {
        for (const [valueName, family] of Object.entries(valueFamilies)) {
          for (const n of [0, 1, 2, 3, 100, 4096]) {
            const points = randomPoints(n, pattern, rand, family);
            const encoded = encodeChunk(points);
            assert.equal(encoded[0], version, 'codec version byte');
            assertSamePoints(decodeChunk(encoded), points, n, `${name}, ${valueName}, n=${n}`);
          }
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
      for (const [name, pattern, family] of cases()) {
        const points = randomPoints(12, pattern, prng(11), family);
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
      for (const [name, pattern, family] of cases()) {
        const points = randomPoints(20, pattern, prng(5), family);
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
      for (const [name, pattern, family] of cases()) {
        const points = randomPoints(20, pattern, prng(6), family);
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
}

describe('chunk codec version 2 value encodings', () => {
  const chunkOf = (values: number[] | Float64Array): Buffer => {
    const n = values.length;
    const seqs = Float64Array.from({ length: n }, (_, i) => i + 1);
    return encodeChunk({
      steps: seqs.slice(),
      values: Float64Array.from(values),
      ts: seqs.map(() => 9),
      seqs,
    });
  };
  const curve = (n: number, seed: number) => {
    const rand = prng(seed);
    return Float64Array.from({ length: n }, (_, i) =>
      Math.fround(2 * Math.exp(-i / 300) * (1 + (rand() - 0.5) * 0.05)),
    );
  };

  test('each kind of values takes the encoding made for it', () => {
    const rand = prng(1);
    const cases: [string, number[] | Float64Array, number][] = [
      ['float32 loss curve', curve(1000, 2), VALUES_XOR32],
      ['integer counter', Array.from({ length: 1000 }, (_, i) => i * 4096), VALUES_INT_RLE],
      ['irregular integers', Array.from({ length: 1000 }, () => Math.floor(rand() * 1e6)), VALUES_INT],
      ['float64 schedule', Array.from({ length: 1000 }, (_, i) => 1e-3 * Math.cos(i / 700)), VALUES_XOR64],
      [
        'random bit patterns',
        new Float64Array(new Uint32Array(2000).map(() => Math.floor(rand() * 2 ** 32)).buffer),
        VALUES_RAW,
      ],
      ['-0 among integers', [1, 2, -0, 3], VALUES_XOR32],
      [
        'a float32 curve with one NaN payload float32 cannot hold',
        [...curve(100, 5), new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0]!],
        VALUES_XOR64,
      ],
    ];
    for (const [name, values, encoding] of cases) {
      const data = chunkOf(values);
      assert.equal(data[2], encoding, `${name}: value encoding ${data[2]}, expected ${encoding}`);
      assert.ok(
        bytesOf(decodeChunk(data).values).equals(bytesOf(Float64Array.from(values))),
        `${name}: values changed`,
      );
    }
  });

  test('a float32 curve takes well under half the bytes of version 1', () => {
    const values = curve(1024, 3);
    const n = values.length;
    const seqs = Float64Array.from({ length: n }, (_, i) => i + 1);
    const points = { steps: seqs.slice(), values, ts: seqs.map(() => 9), seqs };
    const v1 = encodeChunk(points, n, 1).length;
    const v2 = encodeChunk(points, n, 2).length;
    assert.ok(v2 < v1 / 2, `version 2 took ${v2} bytes, version 1 ${v1}`);
  });

  test('a damaged value stream under a matching checksum throws ChunkDecodeError, never garbage of another length', () => {
    // The checksum catches damage on disk; these are bytes a broken writer could produce.
    const seed = Number(process.env.SWANLOG_SEED ?? Date.now() % 2 ** 31);
    const rand = prng(seed);
    for (const values of [
      curve(200, 4),
      Array.from({ length: 200 }, (_, i) => 1e-3 * Math.cos(i / 70)),
      Array.from({ length: 200 }, (_, i) => i * 3),
    ]) {
      const good = chunkOf(values);
      const len = good.readUInt32LE(12);
      for (let trial = 0; trial < 300; trial++) {
        const bad = Buffer.from(good);
        const pos = 16 + Math.floor(rand() * len);
        bad[pos] = Math.floor(rand() * 256);
        bad.writeUInt32LE(recomputedCrc(bad), 8);
        try {
          const decoded = decodeChunk(bad);
          assert.equal(decoded.values.length, 200, `seed ${seed}: a damaged chunk decoded to another length`);
        } catch (error) {
          assert.ok(
            error instanceof Error && error.constructor.name === 'ChunkDecodeError',
            `seed ${seed}: ${String(error)}`,
          );
        }
      }
    }
  });
});

function recomputedCrc(chunk: Buffer): number {
  return crc32(chunk.subarray(12), crc32(chunk.subarray(0, 8)));
}
