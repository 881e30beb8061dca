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

/**
 * Reads the index in a new worker thread; refused (STORE) when it cannot be read or holds the
 * wrong count. `onDeath` hears of a thread that stopped other than by close() (every search then fails).
 */
export async function openIndexInWorker(data: IndexWorkerData, onDeath?: (err: Error) => void): Promise<IndexThread> {
  const client = await WorkerClient.start<SearchCall, Neighbours, null>(INDEX_WORKER, data, 'index worker', () => `index worker of ${data.name}`, onDeath);
  return new IndexThread(data, client);
}

export class IndexThread implements AnnIndex {
  readonly count: number;

  constructor(
    private readonly data: IndexWorkerData,
    private readonly client: WorkerClient<SearchCall, Neighbours, null>,
  ) {
    this.count = data.items;
  }

  search(query: Float32Array, k: number): Promise<Neighbours> {
    return this.client.call({ query, k });
  }

  /** Lets searches under way finish, then ends the thread (which frees the index). */
  close(): Promise<void> {
    return this.client.close(`${this.data.name} is closed`);
  }
}
