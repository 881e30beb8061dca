/**
 * The embedding stages: the catalog and the users table are read again batch by batch (now with
 * their feature columns), encoded, and each batch goes through its tower straight into a
 * preallocated matrix in shared memory, which the HNSW worker threads read without a copy.
 *
 * Arrow tables are encoded from their columns (columnFeeds.ts) rather than through row objects,
 * which cost more than the towers themselves; with a TowerRunner the towers run in a worker thread
 * while this thread encodes the next batch.
 */
import { Schema } from 'apache-arrow';
import { ColumnEncoder, unsupportedColumns } from '../models/columnFeeds.js';
import { encodeItems, encodeUsers, type EncodedInput } from '../models/features.js';
import type { TowerSpec } from '../models/manifest.js';
import type { LoadedModel } from '../models/model.js';
import type { UserQuery } from '../models/types.js';
import { historyOf } from '../shared/data/histories.js';
import { rawTableBatches } from '../shared/data/rawBatches.js';
import type { RawBatch } from '../shared/data/format.js';
import { toItemRows, toUserRows } from '../shared/data/rows.js';
import { InputError } from '../shared/errors.js';
import type { Progress } from '../shared/log.js';
import { CategoryCollector } from './categoryCollector.js';
import { checkBatchIds } from './checkBatchIds.js';
import { InFlight } from './inFlight.js';
import type { IndexerInputs } from './inputs.js';
import { inThisThread, type TowerExecutor } from './towerRunner.js';

/** The part of a loaded model the embedding stages use. */
export type Towers = Pick<LoadedModel, 'dim' | 'manifest' | 'vocabs' | 'embedEncoded' | 'embedItems' | 'embedUsers'>;

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

/**
 * Embeds the catalog into a shared matrix, with the towers run by `towers` (this thread unless a
 * TowerRunner is given), and collects each item's category for item_meta.
 */
export async function embedCatalog(inputs: IndexerInputs, model: Towers, batchSize: number, progress?: Progress, towers: TowerExecutor = inThisThread(model)): Promise<ItemEmbedding> {
  const n = inputs.items.size;
  const file = inputs.itemsFile;
  const spec = model.manifest.itemTower;
  const vectors = sharedMatrix(n, model.dim);
  const meta = new CategoryCollector(n);
  const columns = new ColumnEncoder(spec, model.vocabs, { ids: inputs.items.ids });
  const flight = new InFlight(towers.depth);
  let useColumns: boolean | undefined;
  let at = 0;
  let done = 0;
  try {
    for await (const raw of rawTableBatches(file, batchSize)) {
      if (raw.length === 0) continue;
      if (at + raw.length > n) throw changed(file);
      checkBatchIds(file, raw, inputs.items.ids, at, 'item_id');
      meta.addBatch(file, raw, at);
      useColumns ??= raw.arrow !== undefined && unsupportedColumns(spec, 'item', raw.arrow.schema) === null;
      const encoded = useColumns && raw.arrow ? columns.encode(at, raw.length, raw.arrow, { file, firstRow: raw.firstRow }) : encodeItems(spec, model.vocabs, toItemRows(file, raw));
      const len = raw.length;
      await flight.add(
        towers.run('item', encoded, len, vectors, at * model.dim).then(() => {
          done += len;
          progress?.tick(done);
        }),
      );
      at += len;
    }
    await flight.drain();
  } catch (err) {
    await flight.settle();
    throw err;
  }
  if (at !== n) throw changed(file);
  progress?.end();
  return { vectors, category: meta.category, categories: meta.categories };
}

function changed(file: string): InputError {
  return new InputError({ file }, 'the file changed while the index was being built');
}

/** How many of a user's latest items the user tower and the users store get at least (the model truncates further). */
export const HISTORY_FOR_TOWER = 200;

/**
 * The history window for a model: HISTORY_FOR_TOWER, or the user tower's own history length when
 * longer (a model trained on whole histories, e.g. --history-mode others, must see them here too).
 */
export function historyWindow(spec: TowerSpec): number {
  let longest = HISTORY_FOR_TOWER;
  for (const inp of spec.inputs) if (inp.kind === 'history' && inp.maxLength > longest) longest = inp.maxLength;
  return longest;
}

/** The latest items of user u as ids, oldest first. */
export function recentHistoryIds(inputs: IndexerInputs, u: number, limit: number): string[] {
  const h = historyOf(inputs.histories, u);
  const from = Math.max(0, h.length - limit);
  const out = new Array<string>(h.length - from);
  for (let i = from; i < h.length; i++) out[i - from] = inputs.items.ids[h[i]];
  return out;
}

/**
 * Embeds every known user in index order: the users table batch by batch, then the users known
 * only from interactions (no features). `onBatch` sees each user's query once, e.g. for the store
 * (the queries are built only for it, or for a table the column path cannot read).
 */
export async function embedUsers(
  inputs: IndexerInputs,
  model: Towers,
  batchSize: number,
  onBatch?: (start: number, queries: UserQuery[]) => Promise<void> | void,
  progress?: Progress,
  towers: TowerExecutor = inThisThread(model),
): Promise<Float32Array> {
  const n = inputs.users.size;
  const spec = model.manifest.userTower;
  const vectors = sharedMatrix(n, model.dim);
  const window = historyWindow(spec);
  const columns = new ColumnEncoder(spec, model.vocabs, { ids: inputs.users.ids, histories: inputs.histories, catalogIds: inputs.items.ids, historyWindow: window });
  const flight = new InFlight(towers.depth);
  let at = 0;
  let done = 0;
  const submit = async (encoded: EncodedInput[], len: number, queries: () => UserQuery[]) => {
    const start = at;
    at += len;
    await flight.add(
      towers.run('user', encoded, len, vectors, start * model.dim).then(() => {
        done += len;
        progress?.tick(done);
      }),
    );
    if (onBatch) await onBatch(start, queries());
  };
  try {
    if (inputs.usersFile) {
      const file = inputs.usersFile;
      let useColumns: boolean | undefined;
      for await (const raw of rawTableBatches(file, batchSize)) {
        if (raw.length === 0) continue;
        if (at + raw.length > inputs.usersInTable) throw changed(file);
        checkBatchIds(file, raw, inputs.users.ids, at, 'user_id');
        useColumns ??= raw.arrow !== undefined && unsupportedColumns(spec, 'user', raw.arrow.schema) === null;
        const rows = useColumns && !onBatch ? null : tableQueries(inputs, file, raw, at, window);
        const encoded = useColumns && raw.arrow ? columns.encode(at, raw.length, raw.arrow, { file, firstRow: raw.firstRow }) : encodeUsers(spec, model.vocabs, rows as UserQuery[]);
        await submit(encoded, raw.length, () => rows as UserQuery[]);
      }
      if (at !== inputs.usersInTable) throw changed(file);
    }
    const featureless = unsupportedColumns(spec, 'user', new Schema([])) === null;
    while (at < n) {
      const from = at;
      const len = Math.min(batchSize, n - from);
      const queries = () => Array.from({ length: len }, (_, i): UserQuery => ({ userId: inputs.users.ids[from + i], user: null, history: recentHistoryIds(inputs, from + i, window) }));
      const encoded = featureless ? columns.encode(from, len, null, { file: inputs.interactionsFile, firstRow: 1 }) : encodeUsers(spec, model.vocabs, queries());
      await submit(encoded, len, queries);
    }
    await flight.drain();
  } catch (err) {
    await flight.settle();
    throw err;
  }
  progress?.end();
  return vectors;
}

/** The users table's rows [at, at + raw.length) as tower queries with their latest `window` items. */
function tableQueries(inputs: IndexerInputs, file: string, raw: RawBatch, at: number, window: number): UserQuery[] {
  return toUserRows(file, raw).map((r, i) => ({ userId: r.userId, user: r, history: recentHistoryIds(inputs, at + i, window) }));
}
