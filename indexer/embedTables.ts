/**
 * The embedding stages: the catalog and the users table are read again batch by batch (now with
 * their feature columns) and each batch goes through its tower straight into a preallocated
 * matrix in shared memory, which the HNSW worker threads read without a copy.
 */
import type { UserQuery } from '../models/types.js';
import { historyOf } from '../shared/data/histories.js';
import { readItems, readUsers } from '../shared/data/readers.js';
import type { ItemRow, UserRow } from '../shared/data/types.js';
import { InputError } from '../shared/errors.js';
import type { Progress } from '../shared/log.js';
import type { IndexerInputs } from './inputs.js';

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

export async function embedCatalog(inputs: IndexerInputs, model: Towers, batchSize: number, progress?: Progress): Promise<ItemEmbedding> {
  const n = inputs.items.size;
  const dim = model.dim;
  const vectors = sharedMatrix(n, dim);
  const category = new Int32Array(n).fill(-1);
  const categories: string[] = [];
  const catIndex = new Map<string, number>();
  let at = 0;
  for await (const rows of readItems(inputs.itemsFile, batchSize)) {
    for (let i = 0; i < rows.length; i++) {
      // The id pass and this pass must see the same file; a file replaced mid-build is refused.
      if (inputs.items.ids[at + i] !== rows[i].itemId) {
        throw new InputError({ file: inputs.itemsFile, row: at + i + 1, column: 'item_id' }, 'the file changed while the index was being built');
      }
      const c = rows[i].category;
      if (c !== null) {
        let ci = catIndex.get(c);
        if (ci === undefined) {
          ci = categories.push(c) - 1;
          catIndex.set(c, ci);
        }
        category[at + i] = ci;
      }
    }
    vectors.set(await model.embedItems(rows), at * dim);
    at += rows.length;
    progress?.tick(at);
  }
  if (at !== n) throw new InputError({ file: inputs.itemsFile }, `the file changed while the index was being built (${at} rows, ${n} before)`);
  progress?.end();
  return { vectors, category, categories };
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
