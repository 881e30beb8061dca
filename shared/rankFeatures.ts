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
  /**
   * Optional: the log_popularity feature of every item, as popularityFeatures(popularity,
   * logMaxPopularity) returns it. A server passes it (made once per version) to save a log1p per
   * candidate; without it the feature is computed per candidate. The result is the same bit for bit.
   */
  popularityFeature?: Float32Array;
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
 * This runs for every candidate of every request, so the session similarities (n × s dot
 * products of dim) are computed several session items at a time: one pass over the candidates
 * per group of up to six session items, whose sums are independent chains the CPU overlaps,
 * where one dot product after another would wait on each addition in turn. Each sum still adds
 * its dim products in order from 0, in double precision, so every value is the one a plain loop
 * over d computes, bit for bit (test/ranker/rankFeatures.test.ts holds it to the plain version).
 */
export function computeRankFeatures(inp: RankFeatureInputs): Float32Array {
  const F = RANK_FEATURES.length;
  const n = inp.candidates.length;
  const s = inp.sessionItems.length;
  const out = new Float32Array(n * F);
  const { embeddings: E, dim, candidates, retrievalScores, popularity, itemCategory, sessionItems, popularityFeature } = inp;

  // The candidates' rows lie scattered over the embedding table, and waiting for each in turn
  // (when the similarity loop first reads it) costs more than the arithmetic. One light pass that
  // touches every cache line of every row first lets the CPU fetch many rows at once.
  if (s > 0) touchRows(E, dim, candidates, n, itemCategory, popularityFeature ?? popularity);

  // The session's vectors side by side (float32 to double is exact), padded with rows of zeros
  // to a whole group (a padded lane's sums are computed and never read), and the count of
  // session items per category.
  const padded = s === 0 ? 0 : s + ((LANES - (s % LANES)) % LANES);
  const S = scratchSession(padded * dim);
  S.fill(0, s * dim, padded * dim);
  let maxCat = -1;
  for (let j = 0; j < s; j++) {
    const sb = sessionItems[j] * dim;
    for (let d = 0; d < dim; d++) S[j * dim + d] = E[sb + d];
    const c = itemCategory[sessionItems[j]];
    if (c > maxCat) maxCat = c;
  }
  // Category ids index a small vocabulary; a huge one (a caller's own data) counts in a Map.
  const catMap = maxCat >= MAX_DENSE_CATEGORY ? new Map<number, number>() : null;
  const catCount = scratchCategories(catMap ? 0 : maxCat + 1);
  for (let j = 0; j < s; j++) {
    const c = itemCategory[sessionItems[j]];
    if (!(c >= 0)) continue;
    if (catMap) catMap.set(c, (catMap.get(c) ?? 0) + 1);
    else catCount[c]++;
  }

  // dots[j * n + i]: the similarity of candidate i to session item j.
  const dots = scratchDots(padded * n);
  for (let j = 0; j < s; ) {
    const left = s - j;
    if (left === 1) sessionDots1(E, dim, candidates, n, S, j, dots);
    else if (left === 2) sessionDots2(E, dim, candidates, n, S, j, dots);
    else if (left <= 4) sessionDots4(E, dim, candidates, n, S, j, dots);
    else sessionDots6(E, dim, candidates, n, S, j, dots);
    j += left === 1 ? 1 : left === 2 ? 2 : left <= 4 ? 4 : 6;
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

/** A cache line holds 16 float32 values. */
const LINE_FLOATS = 16;
let touched = 0;

/** Reads one value per cache line of each candidate's row (see computeRankFeatures). */
function touchRows(E: Float32Array, dim: number, cand: Int32Array, n: number, cat: Int32Array, pop: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const item = cand[i];
    const base = item * dim;
    for (let d = 0; d < dim; d += LINE_FLOATS) sum += E[base + d];
    sum += E[base + dim - 1] + cat[item] + pop[item];
  }
  // Kept, so that the reads are not optimised away.
  touched = sum;
}

/** The widest group of session items one pass over the candidates takes. */
const LANES = 6;
const MAX_DENSE_CATEGORY = 1 << 16;

// The kernels: session rows j0.. of S (dim apart) against every candidate's row of E, one sum per
// pair into dots[j * n + i], each sum in the order d = 0, 1, … . Written out per width so that
// the sums live in registers.

function sessionDots1(E: Float32Array, dim: number, cand: Int32Array, n: number, S: Float64Array, j0: number, dots: Float64Array): void {
  const s0 = j0 * dim;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    let a0 = 0;
    for (let d = 0; d < dim; d++) a0 += E[base + d] * S[s0 + d];
    dots[j0 * n + i] = a0;
  }
}

function sessionDots2(E: Float32Array, dim: number, cand: Int32Array, n: number, S: Float64Array, j0: number, dots: Float64Array): void {
  const s0 = j0 * dim;
  const s1 = s0 + dim;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    let a0 = 0;
    let a1 = 0;
    for (let d = 0; d < dim; d++) {
      const e = E[base + d];
      a0 += e * S[s0 + d];
      a1 += e * S[s1 + d];
    }
    dots[j0 * n + i] = a0;
    dots[(j0 + 1) * n + i] = a1;
  }
}

function sessionDots4(E: Float32Array, dim: number, cand: Int32Array, n: number, S: Float64Array, j0: number, dots: Float64Array): void {
  const s0 = j0 * dim;
  const s1 = s0 + dim;
  const s2 = s1 + dim;
  const s3 = s2 + dim;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let d = 0; d < dim; d++) {
      const e = E[base + d];
      a0 += e * S[s0 + d];
      a1 += e * S[s1 + d];
      a2 += e * S[s2 + d];
      a3 += e * S[s3 + d];
    }
    dots[j0 * n + i] = a0;
    dots[(j0 + 1) * n + i] = a1;
    dots[(j0 + 2) * n + i] = a2;
    dots[(j0 + 3) * n + i] = a3;
  }
}

function sessionDots6(E: Float32Array, dim: number, cand: Int32Array, n: number, S: Float64Array, j0: number, dots: Float64Array): void {
  const s0 = j0 * dim;
  const s1 = s0 + dim;
  const s2 = s1 + dim;
  const s3 = s2 + dim;
  const s4 = s3 + dim;
  const s5 = s4 + dim;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let a4 = 0;
    let a5 = 0;
    for (let d = 0; d < dim; d++) {
      const e = E[base + d];
      a0 += e * S[s0 + d];
      a1 += e * S[s1 + d];
      a2 += e * S[s2 + d];
      a3 += e * S[s3 + d];
      a4 += e * S[s4 + d];
      a5 += e * S[s5 + d];
    }
    dots[j0 * n + i] = a0;
    dots[(j0 + 1) * n + i] = a1;
    dots[(j0 + 2) * n + i] = a2;
    dots[(j0 + 3) * n + i] = a3;
    dots[(j0 + 4) * n + i] = a4;
    dots[(j0 + 5) * n + i] = a5;
  }
}

// Scratch space reused across calls (the function is synchronous, so no two calls share it).
let sessionBuf = new Float64Array(512);
let dotBuf = new Float64Array(2048);
let catBuf = new Float64Array(64);

function scratchSession(size: number): Float64Array {
  if (sessionBuf.length < size) sessionBuf = new Float64Array(size);
  return sessionBuf;
}

function scratchDots(size: number): Float64Array {
  if (dotBuf.length < size) dotBuf = new Float64Array(size);
  return dotBuf;
}

/** Zeroed counts for categories 0 .. size - 1. */
function scratchCategories(size: number): Float64Array {
  if (catBuf.length < size) catBuf = new Float64Array(size);
  catBuf.fill(0, 0, size);
  return catBuf;
}
