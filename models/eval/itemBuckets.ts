/**
 * Item-popularity buckets for "how well does the model do on the head and on the tail": items
 * sorted by training interactions, cut where the cumulative share of interactions crosses 25%,
 * 50% and 75%; items never seen in training form their own bucket (only a feature-based model
 * can find them).
 */
import type { ItemBuckets } from './evalTypes.js';

export function itemPopularityBuckets(popularity: ArrayLike<number>): { buckets: ItemBuckets; bucketOf: Int32Array } {
  const n = popularity.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => popularity[b] - popularity[a] || a - b);
  let total = 0;
  for (let i = 0; i < n; i++) total += popularity[i];
  const labels = ['top 25%', '25-50%', '50-75%', '75-100%', 'unseen'];
  const bucketOf = new Int32Array(n);
  const items = new Array<number>(labels.length).fill(0);
  let cum = 0;
  for (const i of order) {
    const p = popularity[i];
    // The bucket is decided by the share of interactions before this item, so the head item is
    // always in the first bucket however large its share.
    const b = p <= 0 ? 4 : Math.min(3, Math.floor((4 * cum) / total));
    bucketOf[i] = b;
    items[b]++;
    cum += p;
  }
  return { buckets: { labels, items }, bucketOf };
}
