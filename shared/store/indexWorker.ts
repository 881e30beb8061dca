/**
 * Worker thread: holds a version's HNSW index and answers nearest-neighbour searches.
 *
 * Why a thread: hnswlib-node's searchKnn runs on the calling thread, and a live retrieval of the
 * 200 candidates a precomputed list holds took about 390 µs of CPU in the 100k-item bench index:
 * on the ranker's HTTP thread, every cold-start request held all the others back for that long.
 */
import { workerData } from 'node:worker_threads';
import hnswlib from 'hnswlib-node';
import { TwoTowerError } from '../errors.js';
import { serveCalls } from '../workers/serveCalls.js';
import type { IndexWorkerData, SearchCall } from './indexThread.js';
import type { Neighbours } from './types.js';

const data = workerData as IndexWorkerData;

async function open(): Promise<hnswlib.HierarchicalNSW> {
  const index = new hnswlib.HierarchicalNSW('ip', data.dim);
  try {
    await index.readIndex(data.file);
  } catch (err) {
    throw new TwoTowerError('STORE', `${data.name}: cannot read HNSW index (${(err as Error).message})`);
  }
  if (index.getCurrentCount() !== data.items) {
    throw new TwoTowerError('STORE', `${data.name}: holds ${index.getCurrentCount()} items, manifest says ${data.items}`);
  }
  index.setEf(data.ef);
  return index;
}

await serveCalls<SearchCall, Neighbours, null>(async () => {
  const index = await open();
  return {
    info: null,
    answer: async ({ query, k }) => {
      // hnswlib-node takes plain arrays only; results come back nearest first.
      const res = index.searchKnn(Array.from(query), k);
      const labels = Int32Array.from(res.neighbors);
      const distances = Float32Array.from(res.distances);
      return { value: { labels, distances }, transfer: [labels.buffer, distances.buffer] };
    },
    // The index is freed with the thread.
    release: async () => {},
  };
});
