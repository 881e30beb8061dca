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
    const gotA = a.dots(candA, sessA);
    const gotB = b.dots(candB, sessB);
    // a's results survive b's call: each kernel has its own scratch region.
    expect(Array.from(gotA.subarray(0, 3 * 50))).toEqual(Array.from(sessionDotsJs(E, dim, candA, sessA).subarray(0, 3 * 50)));
    expect(Array.from(gotB.subarray(0, 7 * 90))).toEqual(Array.from(sessionDotsJs(E, dim, candB, sessB).subarray(0, 7 * 90)));
  });

  it('refuses a session item past the table, a table larger than its memory, and a bad dim', () => {
    const copy = copyIntoEmbeddingMemory(table(10, 4, 1))!;
    const k = new SessionDotKernel(copy.memory, 4, 10);
    expect(() => k.dots(Int32Array.of(1, 2), Int32Array.of(3, 10))).toThrow(/session item 10 is not below 10/);
    expect(() => new SessionDotKernel(copy.memory, 4, 1_000_000)).toThrow(/1000000 × 4 embeddings do not fit/);
    expect(() => new SessionDotKernel(copy.memory, 0, 10)).toThrow(/dim must be a positive integer/);
  });

  it('leaves embeddings too big for a 32-bit memory to the JavaScript kernel', () => {
    expect(allocateEmbeddingMemory(4 * 1024 ** 3)).toBeNull();
    const small = allocateEmbeddingMemory(100);
    expect(small?.buffer.byteLength).toBe(65536);
    expect(small?.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
