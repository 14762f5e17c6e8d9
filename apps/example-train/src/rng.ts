/** The full state of an Rng: four 32-bit words. Saving and restoring it replays the same numbers. */
export type RngState = [number, number, number, number];

/**
 * A seedable PRNG (xoshiro128**) whose whole state can be saved in a checkpoint, so that shuffling
 * and initialisation after a resume draw exactly the numbers an uninterrupted run would have drawn.
 */
export interface Rng {
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** A uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number;
  /** A uniform integer in [0, n). */
  nextInt(n: number): number;
  /** A standard normal sample (Box-Muller; no cached spare, so the state is only the four words). */
  nextNormal(): number;
  /** Shuffles `items` in place (Fisher-Yates). */
  shuffle(items: Uint32Array): void;
  getState(): RngState;
  setState(state: RngState): void;
}

/** Creates an Rng from a seed (any safe integer), expanded to the state with splitmix32. */
export function createRng(seed: number): Rng {
  const s = new Uint32Array(4);
  let x = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    s[i] = (z ^ (z >>> 16)) >>> 0;
  }
  // An all-zero state would only ever produce zeros.
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  return rngOver(s);
}

function rngOver(s: Uint32Array): Rng {
  const nextUint32 = (): number => {
    const [s0, s1, s2, s3] = [s[0]!, s[1]!, s[2]!, s[3]!];
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11);
    return result;
  };
  const nextFloat = (): number => nextUint32() / 2 ** 32;
  return {
    nextUint32,
    nextFloat,
    nextInt: (n) => Math.floor(nextFloat() * n),
    nextNormal: () => {
      const u = 1 - nextFloat();
      const v = nextFloat();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(nextFloat() * (i + 1));
        const tmp = items[i]!;
        items[i] = items[j]!;
        items[j] = tmp;
      }
    },
    getState: () => [s[0]!, s[1]!, s[2]!, s[3]!],
    setState: (state) => {
      if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
        throw new Error(`not an rng state: ${JSON.stringify(state)}`);
      }
      s.set(state);
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
