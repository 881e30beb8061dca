/** Picks the k best candidates by ranker score, or by retrieval order when there are no scores. */
import type { Stage } from './types.js';

export interface OrderInput {
  /** Ranker score per candidate; null means keep the retrieval order. */
  scores: Float32Array | null;
  n: number;
  k: number;
}

export const orderStage: Stage<OrderInput, Int32Array> = {
  name: 'order',
  run: ({ scores, n, k }) => (scores ? topByScore(scores, n, k) : retrievalOrder(n, k)),
};

/**
 * Positions of the min(k, n) highest scores, best first. Ties keep the retrieval order, so equal
 * scores give the same answer on every call.
 */
export function topByScore(scores: Float32Array, n: number, k: number): Int32Array {
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[i] = i;
  pos.sort((a, b) => scores[b] - scores[a] || a - b);
  return pos.subarray(0, Math.min(k, n));
}

export function retrievalOrder(n: number, k: number): Int32Array {
  const m = Math.min(k, n);
  const pos = new Int32Array(m);
  for (let i = 0; i < m; i++) pos[i] = i;
  return pos;
}
