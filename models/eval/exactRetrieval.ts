/**
 * Exact top-K over every catalog item from the embeddings, each user's exclusions removed: the
 * truth that the published ANN candidates are measured against. A brute-force product in blocks
 * of users (models/train/retrieve.ts); on worlds too big for that, evaluate a user sample.
 */
import { retrieveTopK } from '../train/retrieve.js';

export interface RetrievedLists {
  lists: Int32Array[];
  scores: Float32Array[];
}

export function exactTopK(userEmb: Float32Array, itemEmb: Float32Array, dim: number, exclude: readonly ReadonlySet<number>[], k: number): RetrievedLists {
  const nUsers = exclude.length;
  const nItems = itemEmb.length / dim;
  const got = retrieveTopK(userEmb, nUsers, itemEmb, nItems, dim, Math.min(k, nItems), (u, mark, stamp) => {
    for (const i of exclude[u]) mark[i] = stamp;
  });
  const K = Math.min(k, nItems);
  const lists: Int32Array[] = [];
  const scores: Float32Array[] = [];
  for (let u = 0; u < nUsers; u++) {
    let n = 0;
    while (n < K && got.items[u * K + n] >= 0) n++;
    lists.push(got.items.slice(u * K, u * K + n));
    scores.push(got.scores.slice(u * K, u * K + n));
  }
  return { lists, scores };
}

/** Mean over users of |a@k ∩ b@k| / |b@k|: how much of the exact top k (b) the ANN lists (a) keep. */
export function overlapAt(a: readonly Int32Array[], b: readonly Int32Array[], k: number): number {
  let sum = 0;
  let users = 0;
  for (let u = 0; u < a.length; u++) {
    const truth = b[u].subarray(0, Math.min(k, b[u].length));
    if (truth.length === 0) continue;
    const got = new Set(a[u].subarray(0, Math.min(k, a[u].length)));
    let hit = 0;
    for (const i of truth) if (got.has(i)) hit++;
    sum += hit / truth.length;
    users++;
  }
  return users ? sum / users : 0;
}
