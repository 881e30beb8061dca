/** The exact-or-HNSW choice: exact for small catalogs, HNSW at scale, a forced choice kept. */
import { describe, expect, it } from 'vitest';
import { planRetrieval } from '../../indexer/retrievalPlan.js';
import { topByPopularity } from '../../indexer/writeItemFiles.js';
import { distinctShare, evenSample } from '../../indexer/checks.js';

describe('retrieval plan', () => {
  it('chooses exact for small catalogs and HNSW for large ones, and records both estimates', () => {
    expect(planRetrieval(600, 1500, 64, 2).retrieval).toBe('exact');
    expect(planRetrieval(20_000, 20_000, 64, 2).retrieval).toBe('exact');
    expect(planRetrieval(1_000_000, 1_000_000, 64, 2)).toMatchObject({ retrieval: 'hnsw', forced: false });
    const forced = planRetrieval(600, 1500, 64, 2, 'hnsw');
    expect(forced).toMatchObject({ retrieval: 'hnsw', forced: true });
    expect(forced.exactS).toBeGreaterThan(0);
    expect(forced.hnswS).toBeGreaterThan(0);
  });
});

describe('small helpers', () => {
  it('topByPopularity is a full sort by popularity, ties by index, without sorting everything', () => {
    const pop = Float32Array.from({ length: 5000 }, (_, i) => (i * 7919) % 101);
    const want = Array.from(pop.keys()).sort((a, b) => pop[b] - pop[a] || a - b).slice(0, 300);
    expect(topByPopularity(pop, 300)).toEqual(want);
    expect(topByPopularity(new Float32Array(3), 10)).toEqual([0, 1, 2]);
  });

  it('distinctShare tells a collapsed matrix from a healthy one; evenSample spreads', () => {
    const same = new Float32Array(100 * 4).fill(0.5);
    expect(distinctShare(same, 100, 4)).toBeCloseTo(0.01);
    const diff = Float32Array.from({ length: 400 }, (_, i) => i);
    expect(distinctShare(diff, 100, 4)).toBe(1);
    expect(Array.from(evenSample(10, 5))).toEqual([0, 2, 4, 6, 8]);
    expect(Array.from(evenSample(3, 5))).toEqual([0, 1, 2]);
  });
});
