import { describe, expect, it } from 'vitest';
import { popularityLists, popularityOrder, randomLists } from '../../models/eval/baselines.js';
import { coverage, exposureAt, gini, noveltyAt, selfInformation } from '../../models/eval/catalogMetrics.js';
import { exactTopK, overlapAt } from '../../models/eval/exactRetrieval.js';
import { itemPopularityBuckets } from '../../models/eval/itemBuckets.js';
import { averagePrecisionAtK, mrrAtK, ndcgAtK, precisionAtK, recallAtK } from '../../models/eval/metrics.js';
import { scoreLists } from '../../models/eval/scoreLists.js';

const L = (r: number): number => 1 / Math.log2(r + 1);

describe('metrics on hand-computed cases', () => {
  it('fewer relevant items than K: recall over |relevant|, precision over K, NDCG ideal over min(|relevant|, K)', () => {
    const rel = new Set([7, 9]);
    const list = [1, 7, 2, 3, 9];
    expect(recallAtK(list, rel, 10)).toBe(1);
    expect(precisionAtK(list, rel, 10)).toBeCloseTo(2 / 10);
    expect(ndcgAtK(list, rel, 10)).toBeCloseTo((L(2) + L(5)) / (L(1) + L(2)));
    expect(mrrAtK(list, rel, 10)).toBeCloseTo(1 / 2);
    expect(averagePrecisionAtK(list, rel, 10)).toBeCloseTo((1 / 2 + 2 / 5) / 2);
  });

  it('a list shorter than K is scored as padded with misses', () => {
    expect(precisionAtK([7], new Set([7]), 5)).toBeCloseTo(1 / 5);
    expect(ndcgAtK([7], new Set([7, 8, 9]), 5)).toBeCloseTo(L(1) / (L(1) + L(2) + L(3)));
  });

  it('an empty test set scores 0 everywhere and is not a NaN', () => {
    for (const f of [recallAtK, precisionAtK, mrrAtK, ndcgAtK, averagePrecisionAtK]) expect(f([1, 2, 3], new Set<number>(), 3)).toBe(0);
  });

  it('tied scores: exact retrieval keeps the lower item index first, so metrics are deterministic', () => {
    // Two users, four items in 1-d: items 1 and 2 tie for user 0.
    const users = Float32Array.from([1, -1]);
    const items = Float32Array.from([0.1, 0.5, 0.5, -0.9]);
    const got = exactTopK(users, items, 1, [new Set<number>(), new Set([3])], 3);
    expect(Array.from(got.lists[0])).toEqual([1, 2, 0]);
    expect(Array.from(got.lists[1])).toEqual([0, 1, 2]);
    expect(recallAtK(got.lists[0], new Set([2]), 1)).toBe(0);
    expect(recallAtK(got.lists[0], new Set([2]), 2)).toBe(1);
    expect(overlapAt([Int32Array.from([2, 1])], [got.lists[0]], 2)).toBe(1);
    expect(overlapAt([Int32Array.from([0, 3])], [got.lists[0]], 2)).toBe(0);
  });
});

describe('catalog measures', () => {
  it('coverage, Gini and novelty by hand', () => {
    const lists = [Int32Array.from([0, 1]), Int32Array.from([0, 2])];
    const x = exposureAt(lists, 2, 4);
    expect(Array.from(x)).toEqual([2, 1, 1, 0]);
    expect(coverage(x)).toBe(3 / 4);
    // Sorted exposure 0,1,1,2: Σ(2i-n-1)x = (-3)0 + (-1)1 + (1)1 + (3)2 = 6; n Σx = 16.
    expect(gini(x)).toBeCloseTo(6 / 16);
    expect(gini(Float64Array.from([3, 3, 3]))).toBeCloseTo(0);
    expect(gini(new Float64Array(3))).toBe(0);
    const info = selfInformation([9, 4, 0, 0], 9);
    expect(info[0]).toBeCloseTo(0); // (9+1)/(9+1) = 1
    expect(info[1]).toBeCloseTo(-Math.log2(5 / 10));
    expect(noveltyAt(lists, 1, info)).toBeCloseTo(0);
    expect(noveltyAt(lists, 2, info)).toBeCloseTo((info[1] / 2 + info[2] / 2) / 2);
  });

  it('item buckets cut the catalog by cumulative interactions and keep unseen items apart', () => {
    const { buckets, bucketOf } = itemPopularityBuckets([50, 20, 10, 10, 5, 5, 0]);
    // Shares before each item: 0, .5, .7, .8, .9, .95 of 100 interactions.
    expect(Array.from(bucketOf)).toEqual([0, 2, 2, 3, 3, 3, 4]);
    expect(buckets.items).toEqual([1, 0, 2, 3, 1]);
  });

  it('baselines skip each user’s exclusions; random is seeded', () => {
    const order = popularityOrder([1, 5, 3, 5]);
    expect(Array.from(order)).toEqual([1, 3, 2, 0]);
    expect(popularityLists(order, [new Set([3])], 2).map((l) => Array.from(l))).toEqual([[1, 2]]);
    const a = randomLists(100, [new Set([1, 2]), new Set<number>()], 10, 7);
    expect(randomLists(100, [new Set([1, 2]), new Set<number>()], 10, 7)).toEqual(a);
    expect(new Set(a[0]).size).toBe(10);
    expect(a[0].includes(1) || a[0].includes(2)).toBe(false);
    expect(randomLists(3, [new Set([0])], 5, 1)[0].length).toBe(2);
  });

  it('scoreLists pools recall per popularity bucket and marks buckets without held-out items', () => {
    const r = scoreLists(
      { ks: [1, 2], relevant: [new Set([0]), new Set([1, 2])], nItems: 3, info: new Float64Array(3), bucketOf: Int32Array.from([0, 1, 1]), buckets: 3 },
      { name: 'x', kind: 'view', lists: [Int32Array.from([0, 1]), Int32Array.from([2, 0])] },
    );
    expect(r.means['recall@1']).toBeCloseTo((1 + 0.5) / 2);
    expect(Array.from(r.perUser['hitrate@1'])).toEqual([1, 1]);
    expect(r.byItemPopularity['recall@2'].slice(0, 2)).toEqual([1, 0.5]);
    expect(Number.isNaN(r.byItemPopularity['recall@2'][2])).toBe(true);
  });
});
