/**
 * A version's HNSW index, held and searched in a worker thread of its own (indexWorker.ts), so
 * that a search does not hold the thread that asks for it (the ranker's HTTP thread). Searches
 * queue in the worker and are answered one at a time, in order.
 */
import { WorkerClient } from '../workers/workerClient.js';
import type { AnnIndex, Neighbours } from './types.js';

const INDEX_WORKER = new URL('./indexWorker.js', import.meta.url);

export interface IndexWorkerData {
  /** The hnsw.bin file, and how messages name it (store-relative). */
  file: string;
  name: string;
  dim: number;
  /** Items the manifest says the index holds: any other count refuses the file. */
  items: number;
  /** Query-time ef. */
  ef: number;
}

export interface SearchCall {
  query: Float32Array;
  k: number;
}

/** Reads the index in a new worker thread; refused (STORE) when it cannot be read or holds the wrong count. */
export async function openIndexInWorker(data: IndexWorkerData): Promise<AnnIndex> {
  const client = await WorkerClient.start<SearchCall, Neighbours, null>(INDEX_WORKER, data, 'index worker', () => `index worker of ${data.name}`);
  return {
    count: data.items,
    search: (query, k) => client.call({ query, k }),
    close: () => client.close(`${data.name} is closed`),
  };
}
