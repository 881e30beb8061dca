/**
 * computeRankFeatures is shared by training and serving and was rewritten for speed: it must give
 * exactly (bit for bit) what the plain version below gives, which is what models were trained on,
 * with its JavaScript session kernel and with the SIMD one the ranker passes.
 */
import { describe, expect, it } from 'vitest';
import { copyIntoEmbeddingMemory } from '../../shared/kernels/embeddingMemory.js';
import { SessionDotKernel } from '../../shared/kernels/sessionDotKernel.js';
import { computeRankFeatures, popularityFeatures, RANK_FEATURES, type RankFeatureInputs } from '../../shared/rankFeatures.js';

/** The original, straightforward implementation: the reference. */
function referenceRankFeatures(inp: RankFeatureInputs): Float32Array {
  const F = RANK_FEATURES.length;
  const n = inp.candidates.length;
  const s = inp.sessionItems.length;
  const out = new Float32Array(n * F);
  const { embeddings: E, dim } = inp;
  const sessionCats = new Map<number, number>();
  for (let j = 0; j < s; j++) {
    const c = inp.itemCategory[inp.sessionItems[j]];
    if (c >= 0) sessionCats.set(c, (sessionCats.get(c) ?? 0) + 1);
  }
  const popNorm = inp.logMaxPopularity > 0 ? 1 / inp.logMaxPopularity : 0;
  for (let i = 0; i < n; i++) {
    const item = inp.candidates[i];
    const base = item * dim;
    let maxSim = 0;
    let sumSim = 0;
    for (let j = 0; j < s; j++) {
      const sb = inp.sessionItems[j] * dim;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += E[base + d] * E[sb + d];
      if (j === 0 || dot > maxSim) maxSim = dot;
      sumSim += dot;
    }
    const o = i * F;
    out[o] = inp.retrievalScores[i];
    out[o + 1] = s > 0 ? maxSim : 0;
    out[o + 2] = s > 0 ? sumSim / s : 0;
    out[o + 3] = Math.log1p(inp.popularity[item]) * popNorm;
    const c = inp.itemCategory[item];
    out[o + 4] = s > 0 && c >= 0 ? (sessionCats.get(c) ?? 0) / s : 0;
    out[o + 5] = s > 0 ? 1 : 0;
  }
  return out;
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

interface Case {
  items: number;
  dim: number;
  n: number;
  s: number;
  categories: number;
  seed: number;
  /** Unit-length rows (cosine models) rather than raw values. */
  normalise?: boolean;
  /** Values that stress rounding: wide magnitudes and cancellation. */
  wild?: boolean;
  logMaxPopularity?: number;
}

function makeInputs(c: Case): RankFeatureInputs {
  const r = rng(c.seed);
  const embeddings = new Float32Array(c.items * c.dim);
  for (let i = 0; i < embeddings.length; i++) embeddings[i] = r() * 2 - 1;
  if (c.wild) {
    // Large pairs (x, ±x) whose products cancel between a candidate and a session item of the
    // opposite sign: the running sum's small part then keeps only what the order of additions
    // lets it keep, so a sum taken in any other order differs in the float32 result.
    for (let i = 0; i < c.items; i++) {
      const sign = r() < 0.5 ? 1 : -1;
      for (let k = 0; k + 1 < c.dim; k += 6) {
        const x = (1 + r()) * 2 ** 20;
        embeddings[i * c.dim + k] = x;
        embeddings[i * c.dim + k + 1] = sign * x;
      }
    }
  }
  if (c.normalise) {
    for (let i = 0; i < c.items; i++) {
      let n2 = 0;
      for (let d = 0; d < c.dim; d++) n2 += embeddings[i * c.dim + d] ** 2;
      const inv = n2 > 0 ? 1 / Math.sqrt(n2) : 0;
      for (let d = 0; d < c.dim; d++) embeddings[i * c.dim + d] *= inv;
    }
  }
  const itemCategory = new Int32Array(c.items);
  for (let i = 0; i < c.items; i++) itemCategory[i] = r() < 0.1 ? -1 : Math.floor(r() * c.categories);
  const popularity = new Float32Array(c.items);
  let maxPop = 0;
  for (let i = 0; i < c.items; i++) {
    // Counts, and (wild) arbitrary magnitudes, where log1p's rounding shows in the float32 result.
    popularity[i] = r() < 0.2 ? 0 : c.wild ? r() * 10 ** Math.floor(r() * 12 - 8) : Math.floor(r() * 1000);
    maxPop = Math.max(maxPop, popularity[i]);
  }
  const candidates = new Int32Array(c.n);
  const retrievalScores = new Float32Array(c.n);
  for (let i = 0; i < c.n; i++) {
    candidates[i] = Math.floor(r() * c.items);
    retrievalScores[i] = r() * 2 - 1;
  }
  const sessionItems = new Int32Array(c.s);
  // Duplicates on purpose: a session may show an item twice, and a candidate may be a session item.
  for (let j = 0; j < c.s; j++) sessionItems[j] = j > 0 && r() < 0.2 ? sessionItems[j - 1] : Math.floor(r() * c.items);
  if (c.n > 0 && c.s > 0) candidates[0] = sessionItems[0];
  return {
    candidates,
    retrievalScores,
    sessionItems,
    embeddings,
    dim: c.dim,
    popularity,
    logMaxPopularity: c.logMaxPopularity ?? Math.log1p(maxPop),
    itemCategory,
  };
}

/** `inp` scored with an existing kernel (whose memory holds the same embeddings). */
function withShared(inp: RankFeatureInputs, kernel: SessionDotKernel): RankFeatureInputs {
  expectKernelRuns(inp, kernel);
  return { ...inp, sessionDots: kernel };
}

/** The inputs with the embeddings in a WebAssembly memory and a SIMD kernel over them. */
function withKernel(inp: RankFeatureInputs): RankFeatureInputs & { sessionDots: SessionDotKernel } {
  const copy = copyIntoEmbeddingMemory(inp.embeddings);
  if (!copy) throw new Error('no WebAssembly memory');
  const kernel = new SessionDotKernel(copy.memory, inp.dim, inp.embeddings.length / inp.dim);
  expectKernelRuns(inp, kernel);
  return { ...inp, embeddings: copy.embeddings, sessionDots: kernel };
}

/**
 * The kernel answers these inputs itself: a null would send computeRankFeatures down the
 * JavaScript path, and a comparison with the reference would then test nothing of the kernel.
 */
function expectKernelRuns(inp: RankFeatureInputs, kernel: SessionDotKernel): void {
  expect(kernel.dots(inp.candidates, inp.sessionItems)).not.toBeNull();
}

function expectIdentical(inp: RankFeatureInputs, simd: RankFeatureInputs = withKernel(inp)): void {
  const want = referenceRankFeatures(inp);
  const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const popularityFeature = popularityFeatures(inp.popularity, inp.logMaxPopularity);
  // Without and with the per-version popularity table a server passes; the JavaScript kernel and the SIMD one.
  for (const got of [
    computeRankFeatures(inp),
    computeRankFeatures({ ...inp, popularityFeature }),
    computeRankFeatures(simd),
    computeRankFeatures({ ...simd, popularityFeature }),
  ]) {
    expect(got.length).toBe(want.length);
    // Compare the bits: -0 against 0 and NaN payloads included.
    expect(bits(got).equals(bits(want))).toBe(true);
  }
}

describe('computeRankFeatures', () => {
  it('matches the plain implementation bit for bit across shapes', () => {
    let seed = 1;
    for (const dim of [1, 2, 3, 4, 5, 7, 8, 16, 31, 32, 33, 64]) {
      for (const s of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13]) {
        for (const n of [0, 1, 7, 200]) {
          expectIdentical(makeInputs({ items: 300, dim, n, s, categories: 12, seed: seed++, normalise: seed % 2 === 0 }));
        }
      }
    }
  });

  it('matches on values that stress rounding, and without popularity', () => {
    for (let seed = 1; seed <= 50; seed++) {
      expectIdentical(makeInputs({ items: 500, dim: 32, n: 200, s: 1 + (seed % 11), categories: 5, seed, wild: true }));
      expectIdentical(makeInputs({ items: 500, dim: 32, n: 50, s: 5, categories: 5, seed: seed + 1000, logMaxPopularity: 0 }));
    }
  });

  it('matches when calls of different sizes alternate (scratch space is reused)', () => {
    const big = makeInputs({ items: 2000, dim: 48, n: 300, s: 40, categories: 300, seed: 7 });
    const small = makeInputs({ items: 2000, dim: 48, n: 20, s: 3, categories: 4, seed: 8 });
    small.embeddings = big.embeddings;
    // One kernel for both, as a server keeps one per version: it grows its scratch for the big
    // call (n × s past its first region) and reuses it for the small.
    const kernel = withKernel(big).sessionDots;
    for (let round = 0; round < 3; round++) {
      expectIdentical(big, withShared(big, kernel));
      expectIdentical(small, withShared(small, kernel));
    }
    const huge = { ...big, candidates: Int32Array.from({ length: 5000 }, (_, i) => (i * 7) % 2000), retrievalScores: new Float32Array(5000) };
    expectIdentical(huge, withShared(huge, kernel));
    expectIdentical(small, withShared(small, kernel));
  });

  it('matches with category ids far beyond a dense table, and with non-finite embeddings', () => {
    const inp = makeInputs({ items: 200, dim: 16, n: 100, s: 6, categories: 3, seed: 9 });
    for (let i = 0; i < 200; i += 3) inp.itemCategory[i] = 2_000_000_000 - (i % 2);
    expectIdentical(inp);
    inp.embeddings[inp.sessionItems[1] * 16 + 3] = NaN;
    inp.embeddings[inp.candidates[5] * 16] = Infinity;
    expectIdentical(inp);
  });
});
