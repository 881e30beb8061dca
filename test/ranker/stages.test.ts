import { describe, expect, it } from 'vitest';
import { filterCandidates } from '../../ranker/pipeline/filter.js';
import { retrievalOrder, topByScore } from '../../ranker/pipeline/order.js';
import { featureColumnsFor } from '../../ranker/pipeline/servingContext.js';
import { selectColumns } from '../../ranker/pipeline/features.js';
import { checkScores } from '../../ranker/pipeline/score.js';
import { userQueryVector } from '../../ranker/pipeline/candidates.js';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';

describe('filter stage', () => {
  const list = {
    items: Int32Array.from([7, 3, 9, 1, 4]),
    scores: Float32Array.from([0.9, 0.8, 0.7, 0.6, 0.5]),
  };

  it('drops the items in the set and keeps order and scores aligned', () => {
    const out = filterCandidates(list, new Set([3, 4, 42]));
    expect(Array.from(out.items)).toEqual([7, 9, 1]);
    expect(Array.from(out.scores)).toEqual([Math.fround(0.9), Math.fround(0.7), Math.fround(0.6)]);
  });

  it('does not touch its input', () => {
    filterCandidates(list, new Set([7, 9]));
    expect(Array.from(list.items)).toEqual([7, 3, 9, 1, 4]);
  });

  it('returns the list unchanged when nothing is dropped', () => {
    expect(filterCandidates(list, new Set())).toBe(list);
  });

  it('can drop everything', () => {
    const out = filterCandidates(list, new Set([7, 3, 9, 1, 4]));
    expect(out.items.length).toBe(0);
    expect(out.scores.length).toBe(0);
  });

  it('returns the list itself when none of its items is dropped', () => {
    expect(filterCandidates(list, new Set([42, 43]))).toBe(list);
  });

  it('drops at the first and last positions', () => {
    const out = filterCandidates(list, new Set([7, 4]));
    expect(Array.from(out.items)).toEqual([3, 9, 1]);
    expect(Array.from(out.scores)).toEqual([Math.fround(0.8), Math.fround(0.7), Math.fround(0.6)]);
    const late = filterCandidates(list, new Set([1]));
    expect(Array.from(late.items)).toEqual([7, 3, 9, 4]);
    expect(Array.from(late.scores)).toEqual([Math.fround(0.9), Math.fround(0.8), Math.fround(0.7), Math.fround(0.5)]);
  });
});

describe('order stage', () => {
  it('sorts by score, best first, and cuts to k', () => {
    const scores = Float32Array.from([0.1, 0.9, 0.5, 0.7]);
    expect(Array.from(topByScore(scores, 4, 3))).toEqual([1, 3, 2]);
  });

  it('breaks ties by retrieval position', () => {
    const scores = Float32Array.from([0.5, 0.9, 0.5, 0.9, 0.5]);
    expect(Array.from(topByScore(scores, 5, 5))).toEqual([1, 3, 0, 2, 4]);
  });

  it('returns all candidates when k exceeds them, and none for none', () => {
    expect(Array.from(topByScore(Float32Array.from([1, 2]), 2, 10))).toEqual([1, 0]);
    expect(topByScore(new Float32Array(0), 0, 10).length).toBe(0);
  });

  it('handles negative scores', () => {
    expect(Array.from(topByScore(Float32Array.from([-3, -1, -2]), 3, 2))).toEqual([1, 2]);
  });

  it('keeps retrieval order when there are no scores', () => {
    expect(Array.from(retrievalOrder(5, 3))).toEqual([0, 1, 2]);
    expect(Array.from(retrievalOrder(2, 3))).toEqual([0, 1]);
  });
});

describe('score checks', () => {
  it('accepts finite scores and refuses short or non-finite ones', () => {
    expect(checkScores(Float32Array.from([0.1, -2]), 2)).toBeNull();
    expect(checkScores(Float32Array.from([0.1]), 2)).toMatch(/expected 2/);
    expect(checkScores(Float32Array.from([0.1, NaN]), 2)).toMatch(/score 1/);
    expect(checkScores(Float32Array.from([Infinity]), 1)).toMatch(/score 0/);
  });
});

describe('feature columns', () => {
  it('needs no projection when the model takes RANK_FEATURES in order', () => {
    expect(featureColumnsFor(RANK_FEATURES)).toBeNull();
  });

  it('maps a reordered subset onto the computed columns', () => {
    const cols = featureColumnsFor(['log_popularity', 'retrieval_score']);
    expect(Array.from(cols!)).toEqual([3, 0]);
    const m = Float32Array.from([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]);
    expect(Array.from(selectColumns(m, 2, 6, cols!))).toEqual([3, 0, 13, 10]);
  });

  it('refuses a feature it cannot compute, naming it', () => {
    expect(() => featureColumnsFor(['retrieval_score', 'dwell_time'])).toThrow(/dwell_time/);
  });
});

describe('user query vector', () => {
  it('normalises under cosine and leaves dot alone', () => {
    const v = Float32Array.from([3, 4]);
    expect(Array.from(userQueryVector(v, 'cosine'))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(userQueryVector(v, 'dot')).toBe(v);
  });

  it('refuses a non-finite embedding', () => {
    expect(() => userQueryVector(Float32Array.from([NaN, 1]), 'dot')).toThrow(/non-finite/);
  });
});

describe('order stage, selection path (k much smaller than n)', () => {
  it('matches a full sort, ties in retrieval order', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 50; trial++) {
      const n = 50 + Math.floor(rand() * 300);
      // Few distinct values, so ties are common.
      const scores = Float32Array.from({ length: n }, () => Math.floor(rand() * 20) / 4 - 2);
      const k = 1 + Math.floor(rand() * Math.floor(n / 5));
      const expected = Array.from({ length: n }, (_, i) => i)
        .sort((a, b) => scores[b] - scores[a] || a - b)
        .slice(0, k);
      expect(Array.from(topByScore(scores, n, k))).toEqual(expected);
    }
  });
});
