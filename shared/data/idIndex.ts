/**
 * Dense indices for string ids: the id of index i and the index of an id. Tables of a million rows
 * become typed arrays of these indices instead of arrays of row objects.
 */
import { InputError } from '../errors.js';
import type { RawBatch } from './format.js';
import { rawTableBatches, requireRawColumn } from './rawBatches.js';
import { toId } from './values.js';

export class IdIndex {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.ids.length;
  }

  get(id: string): number | undefined {
    return this.index.get(id);
  }

  /** The index of `id`, adding it at the end if new. */
  intern(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.push(id) - 1;
      this.index.set(id, i);
    }
    return i;
  }
}

/**
 * The ids of a table's id column, in file order, without converting any other column (so a pass
 * over a million-row catalog costs little). A repeated id is an InputError naming both rows.
 */
export async function scanIds(file: string, column: string, batchSize = 65536): Promise<{ index: IdIndex; rows: number }> {
  const index = new IdIndex();
  let rows = 0;
  for await (const batch of rawTableBatches(file, batchSize)) {
    const col = requireRawColumn(file, batch, column);
    for (let i = 0; i < batch.length; i++) {
      const id = idAt(file, batch, col, i, column);
      const before = index.size;
      const at = index.intern(id);
      if (index.size === before) {
        throw new InputError({ file, row: batch.firstRow + i, column }, `duplicate ${column} '${id}' (rows ${at + 1} and ${batch.firstRow + i})`);
      }
    }
    rows += batch.length;
  }
  return { index, rows };
}

/** A column value as an id: plain strings pass without allocating; anything else goes through toId. */
export function idAt(file: string, batch: RawBatch, col: ArrayLike<unknown>, i: number, column: string): string {
  const v = col[i];
  if (typeof v === 'string' && v.length > 0 && v.charCodeAt(0) > 32 && v.charCodeAt(v.length - 1) > 32) return v;
  return toId(v, { file, row: batch.firstRow + i, column });
}
