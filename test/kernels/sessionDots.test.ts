/**
 * The SIMD session kernel's plumbing: the committed module is what its source compiles to, each
 * kernel keeps its own scratch in a memory it shares, and bad arguments are refused by name. Its
 * values are held to the plain implementation in test/ranker/rankFeatures.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { allocateEmbeddingMemory, copyIntoEmbeddingMemory } from '../../shared/kernels/embeddingMemory.js';
import { compileSessionDots, MODULE_FILE, moduleText } from '../../shared/kernels/generateKernels.js';
import { SessionDotKernel } from '../../shared/kernels/sessionDotKernel.js';
import { sessionDotsJs } from '../../shared/kernels/sessionDotsJs.js';
import { computeRankFeatures } from '../../shared/rankFeatures.js';

function table(items: number, dim: number, seed: number): Float32Array {
  const out = new Float32Array(items * dim);
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out[i] = x / 2147483648 - 0.5;
  }
  return out;
}

describe('session kernel', () => {
  it('is built from sessionDots.wat as committed (run `npm run build:kernels` after editing it)', async () => {
    const bytes = await compileSessionDots();
    expect(await readFile(MODULE_FILE, 'utf8')).toBe(moduleText(bytes));
  });

  it('gives the JavaScript kernel values from two kernels over one memory, their calls interleaved', () => {
    const dim = 24;
    const E = table(400, dim, 3);
    const copy = copyIntoEmbeddingMemory(E)!;
    const a = new SessionDotKernel(copy.memory, dim, 400);
    const b = new SessionDotKernel(copy.memory, dim, 400);
    const candA = Int32Array.from({ length: 50 }, (_, i) => (i * 7) % 400);
    const candB = Int32Array.from({ length: 90 }, (_, i) => (i * 13 + 5) % 400);
    const sessA = Int32Array.of(1, 2, 3);
    const sessB = Int32Array.of(9, 8, 7, 6, 5, 4, 3);
    const gotA = a.dots(candA, sessA)!;
    const gotB = b.dots(candB, sessB)!;
    // a's results survive b's call: each kernel has its own scratch region.
    expect(Array.from(gotA.subarray(0, 3 * 50))).toEqual(Array.from(sessionDotsJs(E, dim, candA, sessA).subarray(0, 3 * 50)));
    expect(Array.from(gotB.subarray(0, 7 * 90))).toEqual(Array.from(sessionDotsJs(E, dim, candB, sessB).subarray(0, 7 * 90)));
  });

  it('leaves indices outside the table to the JavaScript kernel, and refuses a table larger than its memory or a bad dim', () => {
    const E = table(10, 4, 1);
    const copy = copyIntoEmbeddingMemory(E)!;
    const k = new SessionDotKernel(copy.memory, 4, 10);
    expect(k.dots(Int32Array.of(1, 2), Int32Array.of(3, 9))).not.toBeNull();
    expect(k.dots(Int32Array.of(1, 2), Int32Array.of(3, 10))).toBeNull();
    expect(k.dots(Int32Array.of(1, 10), Int32Array.of(3))).toBeNull();
    expect(k.dots(Int32Array.of(-1, 2), Int32Array.of(3))).toBeNull();
    // Through computeRankFeatures: the same NaN similarities with and without the kernel, which the scorer refuses.
    const inputs = { candidates: Int32Array.of(2, 12), retrievalScores: new Float32Array(2), sessionItems: Int32Array.of(1, 3), embeddings: copy.embeddings, dim: 4, popularity: new Float32Array(10), logMaxPopularity: 0, itemCategory: new Int32Array(10) };
    const plain = computeRankFeatures(inputs);
    const simd = computeRankFeatures({ ...inputs, sessionDots: k });
    expect(Number.isNaN(plain[6 + 1])).toBe(true);
    expect(Buffer.from(simd.buffer).equals(Buffer.from(plain.buffer))).toBe(true);
    expect(() => new SessionDotKernel(copy.memory, 4, 1_000_000)).toThrow(/1000000 × 4 embeddings do not fit/);
    expect(() => new SessionDotKernel(copy.memory, 0, 10)).toThrow(/dim must be a positive integer/);
  });

  it('leaves a call to the JavaScript kernel when the memory cannot grow by its scratch', () => {
    const dim = 8;
    const E = table(100, dim, 5);
    // One page, no room to grow: the table fits, no scratch region does.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const embeddings = new Float32Array(memory.buffer, 0, E.length);
    embeddings.set(E);
    const k = new SessionDotKernel(memory, dim, 100);
    expect(k.dots(Int32Array.of(1, 2), Int32Array.of(3))).toBeNull();
    const inputs = { candidates: Int32Array.of(4, 50, 99), retrievalScores: new Float32Array(3), sessionItems: Int32Array.of(1, 3, 7), embeddings, dim, popularity: new Float32Array(100), logMaxPopularity: 0, itemCategory: new Int32Array(100) };
    const plain = computeRankFeatures(inputs);
    expect(Buffer.from(computeRankFeatures({ ...inputs, sessionDots: k }).buffer).equals(Buffer.from(plain.buffer))).toBe(true);
  });

  it('leaves embeddings too big for a 32-bit memory to the JavaScript kernel', () => {
    expect(allocateEmbeddingMemory(4 * 1024 ** 3)).toBeNull();
    const small = allocateEmbeddingMemory(100);
    expect(small?.buffer.byteLength).toBe(65536);
    expect(small?.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
