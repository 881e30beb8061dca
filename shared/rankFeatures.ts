/**
 * The ranker's features, computed by one function for both training and serving so that the
 * model sees at serving time exactly what it was trained on.
 */
export const RANK_FEATURES = [
  'retrieval_score', // the two-tower similarity of user and candidate
  'session_max_sim', // max similarity of the candidate to the session's items (0 without a session)
  'session_mean_sim', // mean similarity of the candidate to the session's items
  'log_popularity', // log1p(interaction count) / log1p(max count)
  'category_match', // share of session items in the candidate's category
  'has_session', // 1 when the request carried at least one known session item
] as const;
export type RankFeatureName = (typeof RANK_FEATURES)[number];

export interface RankFeatureInputs {
  /** Candidate item indices. */
  candidates: Int32Array;
  /** Retrieval score of each candidate. */
  retrievalScores: Float32Array;
  /** Session item indices (known items only), most recent last. */
  sessionItems: Int32Array;
  /** items × dim, row-major. */
  embeddings: Float32Array;
  dim: number;
  popularity: Float32Array;
  /** log1p of the largest popularity, precomputed once per version. */
  logMaxPopularity: number;
  itemCategory: Int32Array;
}

/** Returns candidates.length × RANK_FEATURES.length, row-major. */
export function computeRankFeatures(inp: RankFeatureInputs): Float32Array {
  const F = RANK_FEATURES.length;
  const n = inp.candidates.length;
  const s = inp.sessionItems.length;
  const out = new Float32Array(n * F);
  const { embeddings: E, dim } = inp;
  const sessionCats = new Map<number, number>();
  for (let j = 0; j < s; j++) {
    const c = inp.itemCategory[inp.sessionItems[j]];
    if (c >= 0) sessionCats.set(c, (sessionCats.get(c) ?? 0) + 1);
  }
  const popNorm = inp.logMaxPopularity > 0 ? 1 / inp.logMaxPopularity : 0;
  for (let i = 0; i < n; i++) {
    const item = inp.candidates[i];
    const base = item * dim;
    let maxSim = 0;
    let sumSim = 0;
    for (let j = 0; j < s; j++) {
      const sb = inp.sessionItems[j] * dim;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += E[base + d] * E[sb + d];
      if (j === 0 || dot > maxSim) maxSim = dot;
      sumSim += dot;
    }
    const o = i * F;
    out[o] = inp.retrievalScores[i];
    out[o + 1] = s > 0 ? maxSim : 0;
    out[o + 2] = s > 0 ? sumSim / s : 0;
    out[o + 3] = Math.log1p(inp.popularity[item]) * popNorm;
    const c = inp.itemCategory[item];
    out[o + 4] = s > 0 && c >= 0 ? (sessionCats.get(c) ?? 0) / s : 0;
    out[o + 5] = s > 0 ? 1 : 0;
  }
  return out;
}
