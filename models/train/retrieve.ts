/**
 * Exact top-K retrieval for the trainer (validation recall, ranker candidates): scores a block of
 * users against every item with one matrix product, then keeps the K best unseen items per user.
 */
import { matmulBT } from './dense.js';

export interface Retrieved {
  /** users × K item indices, best first; -1 pads rows with fewer than K unseen items. */
  items: Int32Array;
  scores: Float32Array;
}

/**
 * `seen(u, mark)` must set mark[item] = stamp for every item to exclude for user row u, using the
 * stamp it is given (a counter, so the mark array never needs clearing).
 */
export function retrieveTopK(
  userEmb: Float32Array,
  nUsers: number,
  itemEmb: Float32Array,
  nItems: number,
  dim: number,
  K: number,
  seen: (u: number, mark: Int32Array, stamp: number) => void,
): Retrieved {
  const items = new Int32Array(nUsers * K).fill(-1);
  const scores = new Float32Array(nUsers * K).fill(-Infinity);
  // Users per matrix product: enough to amortise the loop, few enough that the score block stays ~16 MB.
  const block = Math.max(1, Math.min(128, Math.floor(4_194_304 / Math.max(1, nItems))));
  const S = new Float32Array(block * nItems);
  const mark = new Int32Array(nItems).fill(-1);
  for (let u0 = 0; u0 < nUsers; u0 += block) {
    const b = Math.min(block, nUsers - u0);
    matmulBT(userEmb.subarray(u0 * dim, (u0 + b) * dim), itemEmb, S, b, dim, nItems);
    for (let r = 0; r < b; r++) {
      const u = u0 + r;
      seen(u, mark, u);
      topK(S.subarray(r * nItems, (r + 1) * nItems), mark, u, K, items.subarray(u * K, (u + 1) * K), scores.subarray(u * K, (u + 1) * K));
    }
  }
  return { items, scores };
}

/** Keeps the K largest scores whose mark differs from `stamp`, sorted descending (insertion into a short list). */
export function topK(row: Float32Array, mark: Int32Array, stamp: number, K: number, outItems: Int32Array, outScores: Float32Array): void {
  let n = 0;
  let worst = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const s = row[i];
    if (n === K && s <= worst) continue;
    if (mark[i] === stamp) continue;
    let j = n < K ? n++ : K - 1;
    while (j > 0 && outScores[j - 1] < s) {
      outScores[j] = outScores[j - 1];
      outItems[j] = outItems[j - 1];
      j--;
    }
    outScores[j] = s;
    outItems[j] = i;
    if (n === K) worst = outScores[K - 1];
  }
}
