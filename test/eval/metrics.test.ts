import { describe, expect, it } from 'vitest';
import {
  aggregateMetrics,
  averagePrecisionAtK,
  hitRateAtK,
  MetricAccumulator,
  mrrAtK,
  ndcgAtK,
  precisionAtK,
  recallAtK,
} from '../../models/eval/metrics.js';

// Hits at ranks 2 and 4 (1-based) of 5; 3 relevant items, one of them never retrieved.
const ranked = ['a', 'b', 'c', 'd', 'e'];
const relevant = new Set(['b', 'd', 'z']);
const L = (r: number) => 1 / Math.log2(r + 1);

describe('single-list metrics (hand-computed)', () => {
  it('recall@k = hits in top k / |relevant|', () => {
    expect(recallAtK(ranked, relevant, 1)).toBe(0);
    expect(recallAtK(ranked, relevant, 2)).toBeCloseTo(1 / 3);
    expect(recallAtK(ranked, relevant, 5)).toBeCloseTo(2 / 3);
    expect(recallAtK(ranked, relevant, 100)).toBeCloseTo(2 / 3);
  });

  it('precision@k divides by k, even past the end of the list', () => {
    expect(precisionAtK(ranked, relevant, 2)).toBeCloseTo(1 / 2);
    expect(precisionAtK(ranked, relevant, 4)).toBeCloseTo(2 / 4);
    expect(precisionAtK(ranked, relevant, 10)).toBeCloseTo(2 / 10);
  });

  it('hit rate and MRR', () => {
    expect(hitRateAtK(ranked, relevant, 1)).toBe(0);
    expect(hitRateAtK(ranked, relevant, 2)).toBe(1);
    expect(mrrAtK(ranked, relevant, 1)).toBe(0);
    expect(mrrAtK(ranked, relevant, 5)).toBeCloseTo(1 / 2);
    expect(mrrAtK(['x', 'y', 'b'], relevant, 3)).toBeCloseTo(1 / 3);
  });

  it('binary NDCG with the ideal over min(|relevant|, k)', () => {
    // k=5: DCG = 1/log2(3) + 1/log2(5); ideal = 3 hits at ranks 1..3.
    expect(ndcgAtK(ranked, relevant, 5)).toBeCloseTo((L(2) + L(4)) / (L(1) + L(2) + L(3)));
    // k=2: ideal has only min(3, 2) = 2 hits.
    expect(ndcgAtK(ranked, relevant, 2)).toBeCloseTo(L(2) / (L(1) + L(2)));
    // Fewer relevant items than k: a perfect list scores 1.
    expect(ndcgAtK(['b', 'x', 'y'], new Set(['b']), 10)).toBeCloseTo(1);
    expect(ndcgAtK(['x', 'b'], new Set(['b']), 10)).toBeCloseTo(L(2));
  });

  it('average precision@k over min(|relevant|, k)', () => {
    // Precision at the hits: 1/2 and 2/4.
    expect(averagePrecisionAtK(ranked, relevant, 5)).toBeCloseTo((1 / 2 + 2 / 4) / 3);
    expect(averagePrecisionAtK(ranked, relevant, 2)).toBeCloseTo(1 / 2 / 2);
    expect(averagePrecisionAtK(['b', 'd'], new Set(['b', 'd']), 10)).toBeCloseTo(1);
  });

  it('empty relevant sets, empty lists, duplicates and numeric ids', () => {
    const none = new Set<string>();
    for (const f of [recallAtK, precisionAtK, hitRateAtK, mrrAtK, ndcgAtK, averagePrecisionAtK]) {
      expect(f(ranked, none, 5)).toBe(0);
      expect(f([], relevant, 5)).toBe(0);
    }
    // A relevant item listed twice counts once.
    expect(recallAtK(['b', 'b', 'b'], relevant, 3)).toBeCloseTo(1 / 3);
    expect(precisionAtK(['b', 'b'], relevant, 2)).toBeCloseTo(1 / 2);
    expect(ndcgAtK(['b', 'b'], new Set(['b']), 2)).toBeCloseTo(1);
    // Typed arrays of indices work as ranked lists.
    expect(recallAtK(Int32Array.from([3, 1, 4]), new Set([4, 9]), 3)).toBeCloseTo(1 / 2);
    expect(() => recallAtK(ranked, relevant, 0)).toThrow(RangeError);
  });
});

describe('aggregation', () => {
  it('averages over users and skips users without relevant items', () => {
    const result = aggregateMetrics(
      [
        { ranked: ['a', 'b'], relevant: new Set(['a']) }, // recall@1 = 1
        { ranked: ['a', 'b'], relevant: new Set(['b', 'c']) }, // recall@1 = 0, recall@2 = 1/2
        { ranked: ['a'], relevant: new Set<string>() }, // skipped
      ],
      [1, 2],
      ['recall', 'hitrate'],
    );
    expect(result.count).toBe(2);
    expect(result.skipped).toBe(1);
    expect(result.means['recall@1']).toBeCloseTo(0.5);
    expect(result.means['recall@2']).toBeCloseTo(0.75);
    expect(result.means['hitrate@2']).toBe(1);
    expect(Object.keys(result.means).sort()).toEqual(['hitrate@1', 'hitrate@2', 'recall@1', 'recall@2']);
  });

  it('reports zeros, not NaN, when nobody can be scored; accumulates incrementally', () => {
    const empty = aggregateMetrics([], [10]);
    expect(empty.count).toBe(0);
    expect(empty.means['ndcg@10']).toBe(0);
    expect(Object.keys(empty.means)).toHaveLength(6);
    const acc = new MetricAccumulator([3], ['mrr']);
    acc.add([1, 2, 3], new Set([3]));
    acc.add([1, 2, 3], new Set([1]));
    expect(acc.result().means['mrr@3']).toBeCloseTo((1 / 3 + 1) / 2);
    expect(() => new MetricAccumulator([0])).toThrow(RangeError);
  });
});
