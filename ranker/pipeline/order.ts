/** Picks the k best candidates by ranker score, or by retrieval order when there are no scores. */
import type { SyncStage } from './types.js';

export interface OrderInput {
  /** Ranker score per candidate; null means keep the retrieval order. */
  scores: Float32Array | null;
  n: number;
  k: number;
}

export const orderStage: SyncStage<OrderInput, Int32Array> = {
  name: 'order',
  run: ({ scores, n, k }) => (scores ? topByScore(scores, n, k) : retrievalOrder(n, k)),
};

/**
 * Positions of the min(k, n) highest scores, best first. Ties keep the retrieval order, so equal
 * scores give the same answer on every call.
 */
export function topByScore(scores: Float32Array, n: number, k: number): Int32Array {
  const m = Math.min(k, n);
  // A typical request keeps 20 of 200: inserting into a sorted top-m buffer touches each
  // candidate once and shifts rarely, where sorting all n with a JS comparator costs n log n calls.
  if (m * 4 < n) return topBySelection(scores, n, m);
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[i] = i;
  pos.sort((a, b) => scores[b] - scores[a] || a - b);
  return pos.subarray(0, m);
}

function topBySelection(scores: Float32Array, n: number, m: number): Int32Array {
  const top = new Int32Array(m);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    // Scanning in position order, a later candidate never displaces an equal score: ties keep
    // the retrieval order, as the full sort does.
    if (size === m && !(s > scores[top[m - 1]])) continue;
    let j = size < m ? size++ : m - 1;
    while (j > 0 && s > scores[top[j - 1]]) {
      top[j] = top[j - 1];
      j--;
    }
    top[j] = i;
  }
  return top;
}

export function retrievalOrder(n: number, k: number): Int32Array {
  const m = Math.min(k, n);
  const pos = new Int32Array(m);
  for (let i = 0; i < m; i++) pos[i] = i;
  return pos;
}
