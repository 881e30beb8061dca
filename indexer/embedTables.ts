/**
 * The embedding stages: the catalog and the users table are read again batch by batch (now with
 * their feature columns) and each batch goes through its tower straight into a preallocated
 * matrix in shared memory, which the HNSW worker threads read without a copy.
 */
import type { UserQuery } from '../models/types.js';
import { historyOf } from '../shared/data/histories.js';
import { detectFormat } from '../shared/data/format.js';
import { idAt } from '../shared/data/idIndex.js';
import { rawTableBatches, requireRawColumn } from '../shared/data/rawBatches.js';
import { readItems, readUsers } from '../shared/data/readers.js';
import { toCategoryOrNull } from '../shared/data/values.js';
import type { ItemRow, UserRow } from '../shared/data/types.js';
import { InputError } from '../shared/errors.js';
import type { Progress } from '../shared/log.js';
import type { IndexerInputs } from './inputs.js';
import type { EmbedItemsJob } from './workers/protocol.js';
import { runWorker } from './workers/runWorker.js';
import { startWorker } from './workers/startWorker.js';

/** The part of a loaded model the embedding stages use. */
export interface Towers {
  readonly dim: number;
  embedItems(rows: ItemRow[]): Promise<Float32Array>;
  embedUsers(queries: UserQuery[]): Promise<Float32Array>;
}

/** rows × dim float32, backed by a SharedArrayBuffer so worker threads can read it in place. */
export function sharedMatrix(rows: number, dim: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(rows * dim * 4));
}

export interface ItemEmbedding {
  vectors: Float32Array;
  /** Category per item: index into categories, -1 for none. */
  category: Int32Array;
  categories: string[];
}

export interface ParallelEmbedding {
  modelDir: string;
  device: 'cpu' | 'cuda' | 'auto';
  /** Worker threads, each with its own model and one onnxruntime thread. */
  workers: number;
}

/**
 * Embeds the catalog into a shared matrix. With `parallel` (and an Arrow catalog: text formats
 * would be parsed once per thread) worker threads embed alternate batches while this thread reads
 * the id and category columns for item_meta; otherwise batches go through `model` here.
 */
export async function embedCatalog(inputs: IndexerInputs, model: Towers, batchSize: number, progress?: Progress, parallel?: ParallelEmbedding): Promise<ItemEmbedding> {
  const n = inputs.items.size;
  const vectors = sharedMatrix(n, model.dim);
  const meta = new CategoryCollector(n);
  if (parallel && parallel.workers > 1 && detectFormat(inputs.itemsFile) === 'arrow') {
    const done = new Array<number>(parallel.workers).fill(0);
    const abort = new AbortController();
    const workers = Array.from({ length: parallel.workers }, (_, w) => {
      const job: EmbedItemsJob = { kind: 'embed_items', modelDir: parallel.modelDir, device: parallel.device, file: inputs.itemsFile, batchSize, worker: w, workers: parallel.workers, vectors: vectors.buffer as SharedArrayBuffer, dim: model.dim };
      return runWorker(startWorker(EMBED_WORKER, job), {
        signal: abort.signal,
        onProgress: (d) => {
          done[w] = d;
          progress?.tick(done.reduce((a, b) => a + b, 0));
        },
      });
    });
    try {
      let at = 0;
      for await (const batch of rawTableBatches(inputs.itemsFile, batchSize)) {
        const ids = requireRawColumn(inputs.itemsFile, batch, 'item_id');
        const cats = batch.column('category');
        for (let i = 0; i < batch.length; i++) {
          checkSameId(inputs, idAt(inputs.itemsFile, batch, ids, i, 'item_id'), at + i);
          meta.add(at + i, cats ? toCategoryOrNull(cats[i], { file: inputs.itemsFile, row: batch.firstRow + i, column: 'category' }) : null);
        }
        at += batch.length;
      }
      if (at !== n) throw changed(inputs.itemsFile);
      const counts = await Promise.all(workers);
      if (counts.reduce((a, b) => a + b, 0) !== n) throw changed(inputs.itemsFile);
    } catch (err) {
      abort.abort();
      await Promise.allSettled(workers);
      throw err;
    }
  } else {
    let at = 0;
    for await (const rows of readItems(inputs.itemsFile, batchSize)) {
      for (let i = 0; i < rows.length; i++) {
        checkSameId(inputs, rows[i].itemId, at + i);
        meta.add(at + i, rows[i].category);
      }
      vectors.set(await model.embedItems(rows), at * model.dim);
      at += rows.length;
      progress?.tick(at);
    }
    if (at !== n) throw changed(inputs.itemsFile);
  }
  progress?.end();
  return { vectors, category: meta.category, categories: meta.categories };
}

const EMBED_WORKER = new URL('./workers/embedWorker.js', import.meta.url);

/** Category names in first-seen order and each item's index into them. */
class CategoryCollector {
  readonly category: Int32Array;
  readonly categories: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(n: number) {
    this.category = new Int32Array(n).fill(-1);
  }

  add(item: number, c: string | null): void {
    if (c === null) return;
    let ci = this.index.get(c);
    if (ci === undefined) {
      ci = this.categories.push(c) - 1;
      this.index.set(c, ci);
    }
    this.category[item] = ci;
  }
}

/** The id pass and the embedding pass must see the same file; one replaced mid-build is refused. */
function checkSameId(inputs: IndexerInputs, id: string, item: number): void {
  if (inputs.items.ids[item] !== id) throw new InputError({ file: inputs.itemsFile, row: item + 1, column: 'item_id' }, 'the file changed while the index was being built');
}

function changed(file: string): InputError {
  return new InputError({ file }, 'the file changed while the index was being built');
}

/** How many of a user's latest items the user tower and the users store get (the model truncates further). */
export const HISTORY_FOR_TOWER = 200;

/** The latest items of user u as ids, oldest first. */
export function recentHistoryIds(inputs: IndexerInputs, u: number, limit = HISTORY_FOR_TOWER): string[] {
  const h = historyOf(inputs.histories, u);
  const from = Math.max(0, h.length - limit);
  const out = new Array<string>(h.length - from);
  for (let i = from; i < h.length; i++) out[i - from] = inputs.items.ids[h[i]];
  return out;
}

/**
 * Embeds every known user in index order: the users table batch by batch, then the users known
 * only from interactions (no features). `onUser` sees each user's query once, e.g. for the store.
 */
export async function embedUsers(
  inputs: IndexerInputs,
  model: Towers,
  batchSize: number,
  onBatch?: (start: number, queries: UserQuery[]) => Promise<void> | void,
  progress?: Progress,
): Promise<Float32Array> {
  const n = inputs.users.size;
  const dim = model.dim;
  const vectors = sharedMatrix(n, dim);
  let at = 0;
  const run = async (queries: UserQuery[]) => {
    vectors.set(await model.embedUsers(queries), at * dim);
    await onBatch?.(at, queries);
    at += queries.length;
    progress?.tick(at);
  };
  if (inputs.usersFile) {
    for await (const rows of readUsers(inputs.usersFile, batchSize)) {
      await run(rows.map((r: UserRow, i) => {
        if (inputs.users.ids[at + i] !== r.userId) {
          throw new InputError({ file: inputs.usersFile as string, row: at + i + 1, column: 'user_id' }, 'the file changed while the index was being built');
        }
        return { userId: r.userId, user: r, history: recentHistoryIds(inputs, at + i) };
      }));
    }
    if (at !== inputs.usersInTable) throw new InputError({ file: inputs.usersFile }, 'the file changed while the index was being built');
  }
  while (at < n) {
    const queries: UserQuery[] = [];
    for (let u = at; u < Math.min(n, at + batchSize); u++) queries.push({ userId: inputs.users.ids[u], user: null, history: recentHistoryIds(inputs, u) });
    await run(queries);
  }
  progress?.end();
  return vectors;
}
