/**
 * The features → score → order part of the pipeline for a batch of requests, as the scoring
 * worker runs it: every job's features with the same function training used, ONE ranker run over
 * all their rows (the run's fixed cost, about 20 us, is paid once per batch, not per request),
 * then each job's top k and, without explain, its items as the answer's JSON text. The pieces
 * are the in-thread pipeline's own (buildFeatures' column selection, checkScores, topByScore), so
 * both paths give the same answer bit for bit.
 */
import { performance } from 'node:perf_hooks';
import type { SessionDotKernel } from '../../shared/kernels/sessionDotKernel.js';
import { computeRankFeatures, RANK_FEATURES } from '../../shared/rankFeatures.js';
import { selectColumns } from '../pipeline/features.js';
import { topByScore } from '../pipeline/order.js';
import { checkScores } from '../pipeline/score.js';
import { serializeRankedItems } from '../serializeRank.js';
import type { JobResult, ScoreJob, ScoringTables } from './protocol.js';

export type RankerRun = (features: Float32Array, rows: number) => Promise<Float32Array>;

/**
 * Throws when the ranker run itself fails (the whole batch); a job whose scores are unusable gets
 * ok: false. `sessionDots` is the worker's SIMD kernel over t.embeddings (null: the JavaScript
 * one runs).
 */
export async function scoreJobs(t: ScoringTables, jobs: readonly ScoreJob[], run: RankerRun, width: number, sessionDots: SessionDotKernel | null = null): Promise<{ results: JobResult[]; runMs: number }> {
  const F = RANK_FEATURES.length;
  let rows = 0;
  for (const j of jobs) rows += j.items.length;
  const stacked = new Float32Array(rows * width);
  const computed: Float32Array[] = [];
  const featuresMs: number[] = [];
  let at = 0;
  for (const j of jobs) {
    const t0 = performance.now();
    const n = j.items.length;
    const all = computeRankFeatures({
      candidates: j.items,
      retrievalScores: j.scores,
      sessionItems: j.session,
      embeddings: t.embeddings,
      dim: t.dim,
      popularity: t.popularity,
      logMaxPopularity: t.logMaxPopularity,
      itemCategory: t.itemCategory,
      popularityFeature: t.popularityFeature,
      sessionDots,
    });
    stacked.set(t.featureColumns ? selectColumns(all, n, F, t.featureColumns) : all, at * width);
    at += n;
    computed.push(all);
    featuresMs.push(performance.now() - t0);
  }

  const r0 = performance.now();
  const scores = rows > 0 ? await run(stacked, rows) : new Float32Array(0);
  const runMs = performance.now() - r0;

  let from = 0;
  const results = jobs.map((j, q): JobResult => {
    const t0 = performance.now();
    const n = j.items.length;
    const own = scores.subarray(from, from + n);
    from += n;
    const problem = checkScores(own, n);
    if (problem) return { ok: false, problem };
    const positions = topByScore(own, n, j.k);
    const kept = new Float32Array(positions.length);
    for (let i = 0; i < positions.length; i++) kept[i] = own[positions[i]];
    let features: Float32Array | null = null;
    if (j.explain) {
      features = new Float32Array(positions.length * F);
      for (let i = 0; i < positions.length; i++) features.set(computed[q].subarray(positions[i] * F, (positions[i] + 1) * F), i * F);
    }
    const itemsJson = j.explain ? null : serializeRankedItems(t.itemIds, j.items, j.scores, positions, kept);
    return { ok: true, positions, scores: kept, features, itemsJson, featuresMs: featuresMs[q], orderMs: performance.now() - t0 };
  });
  return { results, runMs };
}
