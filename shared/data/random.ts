/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32).
 *
 * Synthetic worlds, samplers and tests must be reproducible from one integer seed, and
 * Math.random cannot be seeded. xoshiro128** is fast in JS (32-bit ops with Math.imul only) and
 * has a 2^128 period, so even a 100k × 100k world (hundreds of millions of draws) stays far from
 * wrapping, unlike mulberry32's 2^32.
 */

/** splitmix32: spreads an arbitrary 32-bit seed over the state so that seeds 0, 1, 2 … differ. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Mixes a seed and a stream number into one 32-bit seed (for independent sub-streams). */
export function mixSeed(seed: number, stream: number): number {
  // Hash the seed first so that (seed, stream) and (seed ^ x, stream ^ y) do not line up.
  const h = splitmix32({ s: seed | 0 });
  const st = { s: (h ^ Math.imul(stream + 1, 0x27d4eb2f)) | 0 };
  splitmix32(st);
  return splitmix32(st);
}

const TWO_POW_32 = 4294967296;

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box–Muller yields two normals per call; the second is kept for the next one. */
  private spare: number | null = null;

  constructor(readonly seed: number) {
    const st = { s: seed | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    // An all-zero state would only ever produce zeros.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** An independent generator for a named sub-stream, so that adding draws in one part of a
   * program does not shift the numbers another part sees. */
  fork(stream: number): Random {
    return new Random(mixSeed(this.seed, stream));
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n). The bias of the multiply method is below 2^-32 · n: irrelevant here. */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`Random.int: n must be positive, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.uniform()) * mean;
  }

  /** Fisher–Yates shuffle, in place; returns the same array. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /** One element chosen uniformly. */
  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError('Random.pick: empty array');
    return arr[this.int(arr.length)];
  }

  /** An index drawn with probability ∝ weights[i] (non-negative). Linear scan: for repeated
   * draws from one distribution use AliasTable instead. */
  weightedIndex(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new RangeError('Random.weightedIndex: weights must be non-negative with a positive finite sum');
    }
    let x = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    // Rounding can leave x ≥ 0 after the last weight: return the last positive one.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** An element chosen with probability ∝ its weight. */
  weightedChoice<T>(items: readonly T[], weights: ArrayLike<number>): T {
    if (items.length !== weights.length) throw new RangeError('Random.weightedChoice: items and weights differ in length');
    return items[this.weightedIndex(weights)];
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
