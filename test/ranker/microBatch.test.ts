import { describe, expect, it } from 'vitest';
import { batchedRanker, microBatch } from '../../ranker/pipeline/microBatch.js';

describe('microBatch', () => {
  it('coalesces calls of one turn into one run and hands each caller its own result', async () => {
    const runs: number[][] = [];
    const double = microBatch<number, number>(async (xs) => {
      runs.push(xs);
      return xs.map((x) => 2 * x);
    }, 100);
    const out = await Promise.all([double(1), double(2), double(3)]);
    expect(out).toEqual([2, 4, 6]);
    expect(runs).toEqual([[1, 2, 3]]);
    expect(await double(5)).toBe(10);
    expect(runs).toEqual([[1, 2, 3], [5]]);
  });

  it('flushes early at the size limit', async () => {
    const runs: number[][] = [];
    const id = microBatch<number, number>(async (xs) => {
      runs.push(xs);
      return xs;
    }, 2);
    await Promise.all([id(1), id(2), id(3)]);
    expect(runs).toEqual([[1, 2], [3]]);
  });

  it('rejects every caller of a failed run', async () => {
    const fail = microBatch<number, number>(async () => {
      throw new Error('ranker down');
    }, 10);
    const results = await Promise.allSettled([fail(1), fail(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('stacks ranker rows and splits the scores back per request', async () => {
    const width = 2;
    const calls: number[] = [];
    // A "ranker" scoring each row as the sum of its features.
    const score = batchedRanker(async (f, n) => {
      calls.push(n);
      return Float32Array.from({ length: n }, (_, r) => f[r * width] + f[r * width + 1]);
    }, width);
    const [a, b] = await Promise.all([
      score({ features: Float32Array.from([1, 1, 2, 2]), n: 2 }),
      score({ features: Float32Array.from([10, 0, 20, 0, 30, 0]), n: 3 }),
    ]);
    expect(Array.from(a)).toEqual([2, 4]);
    expect(Array.from(b)).toEqual([10, 20, 30]);
    expect(calls).toEqual([5]);
  });
});
