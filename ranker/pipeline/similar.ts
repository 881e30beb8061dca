/**
 * Item-to-item neighbours straight from the version's HNSW index: the item's own embedding is
 * the query, so "similar" means what the two-tower model learned, not co-occurrence counts.
 */
import type { LoadedVersion } from '../../shared/store/types.js';

export interface SimilarItem {
  itemId: string;
  score: number;
}

/** The k nearest items to item index `item`, nearest first, the item itself left out. */
export function similarItems(version: LoadedVersion, item: number, k: number): SimilarItem[] {
  const { dim, embeddings } = version;
  const count = version.hnsw.getCurrentCount();
  // One extra for the item itself, which is normally its own nearest neighbour (not always under
  // a dot product, hence the filter rather than a slice).
  const want = Math.min(k + 1, count);
  if (want <= 0) return [];
  const query = Array.from(embeddings.subarray(item * dim, (item + 1) * dim));
  const res = version.hnsw.searchKnn(query, want);
  const out: SimilarItem[] = [];
  for (let i = 0; i < res.neighbors.length && out.length < k; i++) {
    const label = res.neighbors[i];
    if (label === item) continue;
    // The 'ip' space reports distance = 1 - dot.
    out.push({ itemId: version.itemIds[label], score: 1 - res.distances[i] });
  }
  return out;
}
