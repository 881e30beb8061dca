/**
 * The ranker's features, computed by one function for both training and serving so that the
 * model sees at serving time exactly what it was trained on.
 */
import type { SessionDotKernel } from './kernels/sessionDotKernel.js';
import { sessionDotsJs } from './kernels/sessionDotsJs.js';

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
  /**
   * Optional: the log_popularity feature of every item, as popularityFeatures(popularity,
   * logMaxPopularity) returns it. A server passes it (made once per version) to save a log1p per
   * candidate; without it the feature is computed per candidate. The result is the same bit for bit.
   */
  popularityFeature?: Float32Array;
  /**
   * Optional: the SIMD session kernel over these same embeddings (their WebAssembly memory), which
   * the ranker passes; without it the JavaScript kernel runs. The result is the same bit for bit.
   */
  sessionDots?: SessionDotKernel | null;
}

/**
 * The log_popularity feature of every item: log1p(popularity) / log1p(max popularity), rounded to
 * float32 exactly as computeRankFeatures stores it.
 */
export function popularityFeatures(popularity: Float32Array, logMaxPopularity: number): Float32Array {
  const popNorm = popularityNorm(logMaxPopularity);
  const out = new Float32Array(popularity.length);
  for (let i = 0; i < popularity.length; i++) out[i] = Math.log1p(popularity[i]) * popNorm;
  return out;
}

function popularityNorm(logMaxPopularity: number): number {
  return logMaxPopularity > 0 ? 1 / logMaxPopularity : 0;
}

/**
 * Returns candidates.length × RANK_FEATURES.length, row-major.
 *
 * The session similarities (n × s dot products of dim, most of the work) come from the SIMD
 * kernel when the caller passes one over these embeddings, and from the JavaScript one
 * otherwise; both sum each dot product in double precision in the order d = 0, 1, …, so every
 * value is the one a plain loop over d computes, bit for bit (test/ranker/rankFeatures.test.ts
 * holds both to the plain version).
 */
export function computeRankFeatures(inp: RankFeatureInputs): Float32Array {
  const F = RANK_FEATURES.length;
  const n = inp.candidates.length;
  const s = inp.sessionItems.length;
  const out = new Float32Array(n * F);
  const { embeddings: E, dim, candidates, retrievalScores, popularity, itemCategory, sessionItems, popularityFeature } = inp;

  // The candidates' category and popularity lie scattered like their rows: asked for together up
  // front, they arrive while the dot products run, instead of one at a time in the loop below.
  if (s > 0) touchItemTables(candidates, itemCategory, popularityFeature ?? popularity);

  // dots[j * n + i]: the similarity of candidate i to session item j.
  const dots = s === 0 ? NO_DOTS : (inp.sessionDots?.dots(candidates, sessionItems) ?? sessionDotsJs(E, dim, candidates, sessionItems));

  // The count of session items per category. Category ids index a small vocabulary; a huge one
  // (a caller's own data) counts in a Map.
  let maxCat = -1;
  for (let j = 0; j < s; j++) {
    const c = itemCategory[sessionItems[j]];
    if (c > maxCat) maxCat = c;
  }
  const catMap = maxCat >= MAX_DENSE_CATEGORY ? new Map<number, number>() : null;
  const catCount = scratchCategories(catMap ? 0 : maxCat + 1);
  for (let j = 0; j < s; j++) {
    const c = itemCategory[sessionItems[j]];
    if (!(c >= 0)) continue;
    if (catMap) catMap.set(c, (catMap.get(c) ?? 0) + 1);
    else catCount[c]++;
  }

  const popNorm = popularityNorm(inp.logMaxPopularity);
  for (let i = 0; i < n; i++) {
    const item = candidates[i];
    let maxSim = 0;
    let sumSim = 0;
    for (let j = 0; j < s; j++) {
      const dot = dots[j * n + i];
      if (j === 0 || dot > maxSim) maxSim = dot;
      sumSim += dot;
    }
    const o = i * F;
    out[o] = retrievalScores[i];
    out[o + 1] = s > 0 ? maxSim : 0;
    out[o + 2] = s > 0 ? sumSim / s : 0;
    out[o + 3] = popularityFeature ? popularityFeature[item] : Math.log1p(popularity[item]) * popNorm;
    const c = itemCategory[item];
    const sameCat = !(s > 0 && c >= 0) ? 0 : catMap ? (catMap.get(c) ?? 0) : c <= maxCat ? catCount[c] : 0;
    out[o + 4] = s > 0 && c >= 0 ? sameCat / s : 0;
    out[o + 5] = s > 0 ? 1 : 0;
  }
  return out;
}

const NO_DOTS = new Float64Array(0);
let touched = 0;

function touchItemTables(candidates: Int32Array, category: Int32Array, popularity: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < candidates.length; i++) sum += category[candidates[i]] + popularity[candidates[i]];
  // Kept, so that the reads are not optimised away.
  touched = sum;
}
const MAX_DENSE_CATEGORY = 1 << 16;

// Scratch space reused across calls (the function is synchronous, so no two calls share it).
let catBuf = new Float64Array(64);

/** Zeroed counts for categories 0 .. size - 1. */
function scratchCategories(size: number): Float64Array {
  if (catBuf.length < size) catBuf = new Float64Array(size);
  catBuf.fill(0, 0, size);
  return catBuf;
}
