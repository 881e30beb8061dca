import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapMeans } from '../../models/eval/bootstrap.js';
import { compareRuns } from '../../models/eval/compareRuns.js';
import { evaluateModelOn } from '../../models/eval/evaluateModel.js';
import { checkGates, parseGate } from '../../models/eval/gates.js';
import { Random } from '../../shared/data/random.js';
import { makeEvalFixture, type EvalFixture } from './evalFixture.js';

let fx: EvalFixture;
beforeAll(async () => {
  fx = await makeEvalFixture();
}, 120_000);
afterAll(async () => {
  await fx?.close();
});

describe('evaluating a model folder under a protocol', () => {
  it('scores every view and baseline on the same users, at K = 10, 20, 50, 100', () => {
    const run = fx.runA;
    expect(run.methods.map((m) => m.name)).toEqual(['retrieval', 'pipeline', 'popularity', 'random']);
    expect(run.ks).toEqual([10, 20, 50, 100]);
    for (const m of run.methods) {
      for (const key of ['recall@20', 'ndcg@10', 'mrr@50', 'hitrate@100', 'precision@10', 'map@20']) {
        expect(m.perUser[key]).toHaveLength(run.userIds.length);
        expect(m.means[key]).toBeGreaterThanOrEqual(0);
      }
      expect(m.catalog['coverage@10']).toBeGreaterThan(0);
    }
    const get = (name: string) => run.methods.find((m) => m.name === name)!.means['recall@20'];
    // The trained model must beat random by far on a world with planted structure.
    expect(get('retrieval')).toBeGreaterThan(5 * get('random'));
    // Recall can only grow with K.
    const r = run.methods[0].means;
    expect(r['recall@10']).toBeLessThanOrEqual(r['recall@20']);
    expect(r['recall@50']).toBeLessThanOrEqual(r['recall@100']);
  });

  it('refuses a model trained on other rows than the protocol’s training split, unless allowed', async () => {
    const other = { ...fx.prepared, split: { ...fx.prepared.split, trainFingerprint: 'something-else' } };
    await expect(evaluateModelOn(other, fx.modelA)).rejects.toThrow(/trained on another split.*--allow-leak/);
    const run = await evaluateModelOn(other, fx.modelA, { allowLeak: true });
    expect(run.notes.join(' ')).toMatch(/LEAK/);
  });
});

describe('paired comparison', () => {
  it('a model compared with itself: every difference is 0 and every interval covers 0', () => {
    const c = compareRuns(fx.runA, fx.runA, { resamples: 200 });
    expect(c.users).toBe(fx.runA.userIds.length);
    expect(c.rows.length).toBeGreaterThan(40);
    for (const r of c.rows) {
      expect(r.delta).toBe(0);
      expect(r.lo).toBeLessThanOrEqual(0);
      expect(r.hi).toBeGreaterThanOrEqual(0);
    }
  });

  it('two evaluations of the same model folder agree user by user (the interval covers 0)', async () => {
    const again = await evaluateModelOn(fx.prepared, fx.modelA);
    const c = compareRuns(again, fx.runA, { resamples: 200 });
    for (const r of c.rows) {
      expect(Math.abs(r.delta)).toBeLessThan(1e-9);
      expect(r.lo).toBeLessThanOrEqual(1e-9);
      expect(r.hi).toBeGreaterThanOrEqual(-1e-9);
    }
  });

  it('a different model gives non-zero differences with intervals around them, reproducibly by seed', () => {
    const c = compareRuns(fx.runA, fx.runB, { resamples: 300, seed: 5 });
    const row = c.rows.find((r) => r.view === 'retrieval' && r.key === 'recall@20')!;
    expect(row.delta).toBeCloseTo(row.candidate - row.base, 12);
    expect(row.lo).toBeLessThanOrEqual(row.delta);
    expect(row.hi).toBeGreaterThanOrEqual(row.delta);
    expect(c.rows.some((r) => r.delta !== 0)).toBe(true);
    expect(compareRuns(fx.runA, fx.runB, { resamples: 300, seed: 5 }).rows).toEqual(c.rows);
  });

  it('the bootstrap interval of a mean difference covers 0 when both series come from one distribution', () => {
    const rng = new Random(3);
    let covered = 0;
    for (let t = 0; t < 40; t++) {
      const d = Float64Array.from({ length: 300 }, () => rng.normal() - rng.normal());
      const [iv] = bootstrapMeans([d], 300, t);
      if (iv.lo <= 0 && iv.hi >= 0) covered++;
    }
    // 95% intervals: about 38 of 40; fewer than 33 would mean the intervals are too narrow.
    expect(covered).toBeGreaterThanOrEqual(33);
  });
});

describe('gates', () => {
  it('parses conditions and names a bad one', () => {
    expect(parseGate('recall@20>=-0.005')).toMatchObject({ view: 'pipeline', key: 'recall@20', op: '>=', value: -0.005 });
    expect(parseGate(' retrieval.NDCG@10 > 0 ')).toMatchObject({ view: 'retrieval', key: 'ndcg@10', op: '>', value: 0 });
    expect(() => parseGate('recall>=0.1')).toThrow(/expected \[view\.\]metric@K OP number/);
  });

  it('read absolute values alone and differences with a comparison; a violated gate says which and why', () => {
    const abs = checkGates([parseGate('retrieval.recall@100>=0'), parseGate('retrieval.recall@10>2')], fx.runA);
    expect(abs.map((g) => g.passed)).toEqual([true, false]);
    expect(abs[1].detail).toMatch(/^gate FAILED: retrieval recall@10 > 2: value 0\.\d{4}/);
    const self = compareRuns(fx.runA, fx.runA, { resamples: 100 });
    const [same] = checkGates([parseGate('recall@20>=-0.005')], fx.runA, self);
    expect(same.passed).toBe(true);
    expect(same.detail).toMatch(/delta \+0\.0000 .*95% CI/);
    expect(() => checkGates([parseGate('ann.recall@10>=0')], fx.runA)).toThrow(/no view 'ann'/);
  });
});
