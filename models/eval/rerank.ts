/**
 * The full pipeline's last stages, as the online ranker runs them: features of each candidate
 * (shared/rankFeatures.ts, the same code as serving and training), the ONNX ranker's scores, and
 * the candidates in score order.
 */
import { TwoTowerError } from '../../shared/errors.js';
import { computeRankFeatures, RANK_FEATURES } from '../../shared/rankFeatures.js';
import type { TwoTowerModel } from '../types.js';
import type { RetrievedLists } from './exactRetrieval.js';

export interface RerankContext {
  model: TwoTowerModel;
  /** items × dim item embeddings. */
  embeddings: Float32Array;
  dim: number;
  popularity: Float32Array;
  itemCategory: Int32Array;
}

export async function rerank(ctx: RerankContext, candidates: RetrievedLists, sessions: readonly Int32Array[]): Promise<RetrievedLists> {
  if (RANK_FEATURES.length !== ctx.model.rankerFeatures.length || RANK_FEATURES.some((f, i) => ctx.model.rankerFeatures[i] !== f)) {
    throw new TwoTowerError('MODEL_CONTRACT', `the model's ranker expects [${ctx.model.rankerFeatures.join(', ')}], this build computes [${RANK_FEATURES.join(', ')}]`);
  }
  let maxPop = 0;
  for (const p of ctx.popularity) if (p > maxPop) maxPop = p;
  const logMaxPopularity = Math.log1p(maxPop);
  const lists: Int32Array[] = [];
  const scores: Float32Array[] = [];
  for (let u = 0; u < candidates.lists.length; u++) {
    const cands = candidates.lists[u];
    if (cands.length === 0) {
      lists.push(cands);
      scores.push(new Float32Array(0));
      continue;
    }
    const features = computeRankFeatures({
      candidates: cands,
      retrievalScores: candidates.scores[u],
      sessionItems: sessions[u],
      embeddings: ctx.embeddings,
      dim: ctx.dim,
      popularity: ctx.popularity,
      logMaxPopularity,
      itemCategory: ctx.itemCategory,
    });
    const s = await ctx.model.scoreRanker(features, cands.length);
    // Ties keep retrieval order, as the online ranker's stable sort does.
    const order = Array.from(cands.keys()).sort((a, b) => s[b] - s[a] || a - b);
    lists.push(Int32Array.from(order, (j) => cands[j]));
    scores.push(Float32Array.from(order, (j) => s[j]));
  }
  return { lists, scores };
}
