/**
 * Exact search or HNSW for the per-user top-K, by a cost estimate. The HNSW index is built either
 * way (the ranker needs it for cold start), so only the query phases are compared.
 *
 * Rates measured on the 2-core machines this runs on (npm run bench:indexer prints them again):
 * exact MatMul+TopK in onnxruntime, 2 × items × dim flops per user, sustained about 27 GFLOP per
 * CPU-second on a busy machine (DESIGN.md: about 50 on a quiet one), so 6e10 flop/s on two cores
 * is the planning figure; one HNSW query (ef 200, k = 100 plus the history) cost 170-190 µs of
 * CPU at 100k items (about 5500 per second per thread) and grows with log(items).
 */
import type { Retrieval } from './userTopK.js';

export const EXACT_FLOPS_PER_S = 6e10;
export const HNSW_QUERIES_PER_S_AT_100K = 5500;

export interface RetrievalPlan {
  retrieval: Retrieval;
  /** Why: the estimates in seconds and whether the choice was forced. */
  exactS: number;
  hnswS: number;
  forced: boolean;
}

/**
 * Exact is preferred while it costs at most `exactPremium` times the HNSW estimate: it has perfect
 * recall, needs no over-fetch guesswork and is cheap at small scale anyway.
 */
export function planRetrieval(
  users: number,
  items: number,
  dim: number,
  threads: number,
  force?: Retrieval | 'auto',
  exactPremium = 1.5,
): RetrievalPlan {
  const exactS = (2 * users * items * dim) / EXACT_FLOPS_PER_S;
  const perQuery = (1 / HNSW_QUERIES_PER_S_AT_100K) * (Math.log(Math.max(items, 2)) / Math.log(100_000));
  const hnswS = (users * perQuery) / Math.max(1, threads);
  if (force && force !== 'auto') return { retrieval: force, exactS: round(exactS), hnswS: round(hnswS), forced: true };
  return { retrieval: exactS <= exactPremium * hnswS ? 'exact' : 'hnsw', exactS: round(exactS), hnswS: round(hnswS), forced: false };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
