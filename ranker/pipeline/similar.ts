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
export async function similarItems(version: LoadedVersion, item: number, k: number): Promise<SimilarItem[]> {
  const { dim, embeddings } = version;
  // One extra for the item itself, which is normally its own nearest neighbour (not always under
  // a dot product, hence the filter rather than a slice).
  const want = Math.min(k + 1, version.index.count);
  if (want <= 0) return [];
  const { labels, distances } = await version.index.search(embeddings.slice(item * dim, (item + 1) * dim), want);
  const out: SimilarItem[] = [];
  for (let i = 0; i < labels.length && out.length < k; i++) {
    const label = labels[i];
    if (label === item) continue;
    // The 'ip' space reports distance = 1 - dot.
    out.push({ itemId: version.itemIds[label], score: 1 - distances[i] });
  }
  return out;
}
