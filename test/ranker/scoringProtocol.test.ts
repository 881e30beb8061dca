/** The scoring worker's message format: what goes in comes out, job for job. */
import { describe, expect, it } from 'vitest';
import { packJobs, packResults, unpackJobs, unpackResults, type JobResult, type ScoreJob } from '../../ranker/scoring/protocol.js';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';

const F = RANK_FEATURES.length;

describe('scoring worker protocol', () => {
  it('round-trips jobs of every shape, including empty ones', () => {
    const jobs: ScoreJob[] = [
      { items: Int32Array.of(4, 9, 2), scores: Float32Array.of(0.5, 0.25, -1), session: Int32Array.of(7, 8), k: 2, explain: true },
      { items: new Int32Array(0), scores: new Float32Array(0), session: new Int32Array(0), k: 10, explain: false },
      { items: Int32Array.of(1), scores: Float32Array.of(3), session: new Int32Array(0), k: 1000, explain: false },
    ];
    const { ints, floats } = packJobs(jobs);
    const back = unpackJobs(jobs.length, ints, floats);
    expect(back.map((j) => ({ ...j, items: [...j.items], scores: [...j.scores], session: [...j.session] }))).toEqual(
      jobs.map((j) => ({ ...j, items: [...j.items], scores: [...j.scores], session: [...j.session] })),
    );
  });

  it('round-trips results, with features only where asked and problems only where a job failed', () => {
    const features = Float32Array.from({ length: 2 * F }, (_, i) => i / 10);
    const results: JobResult[] = [
      { ok: true, positions: Int32Array.of(2, 0), scores: Float32Array.of(0.9, 0.1), features, itemsJson: null, featuresMs: 0.5, orderMs: 0.01 },
      { ok: false, problem: 'score 3 is not finite' },
      { ok: true, positions: Int32Array.of(1), scores: Float32Array.of(-2), features: null, itemsJson: '[{"itemId":"b","score":-2,"retrievalScore":0.5}]', featuresMs: 0.25, orderMs: 0 },
      { ok: true, positions: new Int32Array(0), scores: new Float32Array(0), features: null, itemsJson: '[]', featuresMs: 0, orderMs: 0 },
    ];
    const packed = packResults(results);
    expect(packed.problems).toEqual([null, 'score 3 is not finite', null, null]);
    expect(packed.itemsJson).toEqual([null, null, '[{"itemId":"b","score":-2,"retrievalScore":0.5}]', '[]']);
    const back = unpackResults(results.length, packed.ints, packed.floats, packed.times, packed.problems, packed.itemsJson, 1.5);
    const plain = (r: JobResult) =>
      r.ok ? { ...r, positions: [...r.positions], scores: [...r.scores], features: r.features ? [...r.features] : null } : r;
    expect(back.map(plain)).toEqual(results.map((r) => ({ ...plain(r), runMs: 1.5 })));
  });

  it('sends no problems list when every job succeeded', () => {
    const packed = packResults([{ ok: true, positions: Int32Array.of(0), scores: Float32Array.of(1), features: null, itemsJson: null, featuresMs: 0, orderMs: 0 }]);
    expect(packed.problems).toBeNull();
  });
});
