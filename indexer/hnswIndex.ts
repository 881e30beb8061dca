/** HNSW over the item embeddings (inner product on unit vectors = cosine). Label = item index. */
import hnswlib from 'hnswlib-node';
import type { Progress } from '../shared/log.js';

export interface HnswParams {
  M: number;
  efConstruction: number;
  ef: number;
  seed?: number;
}

export function buildHnsw(embeddings: Float32Array, items: number, dim: number, p: HnswParams, progress?: Progress): hnswlib.HierarchicalNSW {
  const index = new hnswlib.HierarchicalNSW('ip', dim);
  index.initIndex(Math.max(items, 1), p.M, p.efConstruction, p.seed ?? 100);
  // hnswlib-node only accepts plain arrays; one reusable array avoids an allocation per point.
  const point = new Array<number>(dim);
  for (let i = 0; i < items; i++) {
    for (let d = 0; d < dim; d++) point[d] = embeddings[i * dim + d];
    index.addPoint(point, i);
    if ((i & 1023) === 0) progress?.tick(i);
  }
  progress?.end();
  index.setEf(p.ef);
  return index;
}

/** k nearest items of one query: item indices and similarities (1 - ip distance), best first. */
export function searchHnsw(index: hnswlib.HierarchicalNSW, query: ArrayLike<number>, k: number): { items: Int32Array; scores: Float32Array } {
  const q = Array.prototype.slice.call(query) as number[];
  const res = index.searchKnn(q, Math.min(k, index.getCurrentCount()));
  const n = res.neighbors.length;
  const items = new Int32Array(n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    items[i] = res.neighbors[i];
    scores[i] = 1 - res.distances[i];
  }
  return { items, scores };
}
