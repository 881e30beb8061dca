/**
 * Interactions as columns of dense indices, built batch by batch: a user index, an item index and
 * a timestamp per row in typed arrays (16 bytes a row) instead of one object per row. At 40 million
 * interactions that is 640 MB instead of several GB of objects, and no pause of the garbage collector.
 */
import { InputError } from '../errors.js';
import { arrowInteractionColumns } from './arrowInteractionColumns.js';
import { detectFormat } from './format.js';
import { idAt, type IdIndex } from './idIndex.js';
import { rawTableBatches, requireRawColumn } from './rawBatches.js';
import { toTimestamp } from './values.js';

export interface InteractionColumns {
  rows: number;
  /** User index per row (into the users IdIndex). */
  user: Int32Array;
  /** Item index per row (into the items IdIndex). */
  item: Int32Array;
  /** Epoch seconds per row. */
  time: Float64Array;
}

export interface LoadInteractionColumnsOptions {
  batchSize?: number;
  /** Called after each batch with the rows read so far. */
  onBatch?: (rows: number) => void;
}

/**
 * Reads user_id, item_id and timestamp. Items must be in `items` (an unknown item is an InputError
 * with file, row and column); users are interned into `users`, so users known only from their
 * interactions get indices after those already there.
 */
export async function loadInteractionColumns(
  file: string,
  items: IdIndex,
  users: IdIndex,
  opts: LoadInteractionColumnsOptions = {},
): Promise<InteractionColumns> {
  if (detectFormat(file) === 'arrow') {
    // Users interned by a fast attempt that gave up would shift indices: it gives up only before
    // reading a row (schema or file shape), never midway.
    const fast = await arrowInteractionColumns(file, items, users, opts);
    if (fast) return fast;
  }
  let cap = 1 << 20;
  let user = new Int32Array(cap);
  let item = new Int32Array(cap);
  let time = new Float64Array(cap);
  let n = 0;
  for await (const batch of rawTableBatches(file, opts.batchSize ?? 65536)) {
    const u = requireRawColumn(file, batch, 'user_id');
    const it = requireRawColumn(file, batch, 'item_id');
    const ts = requireRawColumn(file, batch, 'timestamp');
    if (n + batch.length > cap) {
      // Doubling keeps the copies at O(rows) in all; the slack is trimmed at the end.
      while (n + batch.length > cap) cap *= 2;
      user = grow(user, cap);
      item = grow(item, cap);
      time = grow(time, cap);
    }
    for (let i = 0; i < batch.length; i++) {
      const itemId = idAt(file, batch, it, i, 'item_id');
      const itemIndex = items.get(itemId);
      if (itemIndex === undefined) {
        throw new InputError({ file, row: batch.firstRow + i, column: 'item_id' }, `item '${itemId}' is not in the catalog`);
      }
      item[n] = itemIndex;
      user[n] = users.intern(idAt(file, batch, u, i, 'user_id'));
      const t = ts[i];
      time[n] = typeof t === 'bigint' ? Number(t) : toTimestamp(t, { file, row: batch.firstRow + i, column: 'timestamp' });
      n++;
    }
    opts.onBatch?.(n);
  }
  return { rows: n, user: user.slice(0, n), item: item.slice(0, n), time: time.slice(0, n) };
}

function grow<T extends Int32Array | Float64Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}
