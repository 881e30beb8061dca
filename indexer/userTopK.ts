/**
 * Per-user top-K candidates, with the user's already-seen items removed.
 *
 * Seen items are removed after retrieval (over-fetch by the largest history in the batch, then
 * filter in JavaScript) rather than with an hnswlib filter callback, which would call back into
 * JavaScript for every visited node.
 */
import type hnswlib from 'hnswlib-node';
import type { Progress } from '../shared/log.js';
import type { ExactTopK } from './exactTopK.js';
import { searchHnsw } from './hnswIndex.js';

export type Retrieval = 'exact' | 'hnsw';

export interface TopKSource {
  kind: Retrieval;
  exact?: ExactTopK;
  hnsw?: hnswlib.HierarchicalNSW;
}

export interface UserCandidates {
  items: Int32Array;
  scores: Float32Array;
}

/**
 * Calls `emit` for each user (in order) with up to k unseen candidates.
 * `userVectors` is users × dim; `seen[u]` are the item indices user u has seen.
 */
export async function computeUserTopK(
  source: TopKSource,
  userVectors: Float32Array,
  dim: number,
  seen: readonly Int32Array[],
  k: number,
  itemCount: number,
  batchSize: number,
  emit: (user: number, c: UserCandidates) => Promise<void>,
  progress?: Progress,
): Promise<void> {
  const users = seen.length;
  const mark = new Uint8Array(itemCount); // reused seen-marker: set, filter, unset
  for (let start = 0; start < users; start += batchSize) {
    const n = Math.min(batchSize, users - start);
    let maxSeen = 0;
    for (let u = start; u < start + n; u++) maxSeen = Math.max(maxSeen, seen[u].length);
    const fetch = Math.min(itemCount, k + maxSeen);
    if (source.kind === 'exact' && source.exact) {
      const res = await source.exact.search(userVectors.subarray(start * dim, (start + n) * dim), n, fetch);
      for (let b = 0; b < n; b++) {
        const from = b * res.k;
        await emit(start + b, unseenTopK(res.indices.subarray(from, from + res.k), res.scores.subarray(from, from + res.k), seen[start + b], mark, k));
      }
    } else if (source.hnsw) {
      for (let b = 0; b < n; b++) {
        const u = start + b;
        const userFetch = Math.min(itemCount, k + seen[u].length);
        const res = searchHnsw(source.hnsw, userVectors.subarray(u * dim, (u + 1) * dim), userFetch);
        await emit(u, unseenTopK(res.items, res.scores, seen[u], mark, k));
      }
    } else {
      throw new Error(`retrieval '${source.kind}' has no index`);
    }
    progress?.tick(start + n);
  }
  progress?.end();
}

function unseenTopK(items: Int32Array, scores: Float32Array, seen: Int32Array, mark: Uint8Array, k: number): UserCandidates {
  for (let i = 0; i < seen.length; i++) mark[seen[i]] = 1;
  const outItems = new Int32Array(Math.min(k, items.length));
  const outScores = new Float32Array(outItems.length);
  let n = 0;
  for (let i = 0; i < items.length && n < outItems.length; i++) {
    if (mark[items[i]]) continue;
    outItems[n] = items[i];
    outScores[n++] = scores[i];
  }
  for (let i = 0; i < seen.length; i++) mark[seen[i]] = 0;
  return { items: outItems.subarray(0, n), scores: outScores.subarray(0, n) };
}
