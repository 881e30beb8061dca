/**
 * Per-user top-K candidates by exact search, with the user's already-seen items removed.
 *
 * Seen items are removed after retrieval (over-fetch by the largest history in the batch, then
 * filter) rather than inside the search. The HNSW path does the same in its worker threads
 * (hnswQuery.ts); both hand out the same CandidateChunk.
 */
import { historyOf, type Histories } from '../shared/data/histories.js';
import type { Progress } from '../shared/log.js';
import type { ExactTopK } from './exactTopK.js';
import type { CandidateChunk } from './hnswQuery.js';

export type Retrieval = 'exact' | 'hnsw';

export async function exactUserTopK(
  exact: ExactTopK,
  userVectors: Float32Array,
  histories: Histories,
  k: number,
  batchSize: number,
  emit: (c: CandidateChunk) => Promise<void> | void,
  progress?: Progress,
): Promise<void> {
  const dim = exact.dim;
  const users = histories.users;
  const mark = new Uint8Array(exact.items); // reused seen-marker: set, filter, unset
  const batch = Math.max(1, Math.min(batchSize, exact.maxBatch));
  for (let start = 0; start < users; start += batch) {
    const n = Math.min(batch, users - start);
    let maxSeen = 0;
    for (let u = start; u < start + n; u++) maxSeen = Math.max(maxSeen, histories.offsets[u + 1] - histories.offsets[u]);
    const res = await exact.search(userVectors.subarray(start * dim, (start + n) * dim), n, k + maxSeen);
    const chunk: CandidateChunk = { start, count: n, k, lens: new Int32Array(n), items: new Int32Array(n * k), scores: new Float32Array(n * k) };
    for (let b = 0; b < n; b++) {
      chunk.lens[b] = unseenTopK(res.indices, res.scores, b * res.k, res.k, historyOf(histories, start + b), mark, k, chunk, b * k);
    }
    await emit(chunk);
    progress?.tick(start + n);
  }
  progress?.end();
}

/** Copies the first k unseen of items[from, from + len) into the chunk at `at`; returns how many. */
export function unseenTopK(
  items: Int32Array,
  scores: Float32Array,
  from: number,
  len: number,
  seen: Int32Array,
  mark: Uint8Array,
  k: number,
  out: { items: Int32Array; scores: Float32Array },
  at: number,
): number {
  for (let i = 0; i < seen.length; i++) mark[seen[i]] = 1;
  let n = 0;
  for (let i = from; i < from + len && n < k; i++) {
    if (mark[items[i]]) continue;
    out.items[at + n] = items[i];
    out.scores[at + n++] = scores[i];
  }
  for (let i = 0; i < seen.length; i++) mark[seen[i]] = 0;
  return n;
}
