/**
 * RawBatch → typed rows for each logical table (see types.ts), with the column checks.
 */
import { InputError } from '../errors.js';
import type { RawBatch } from './format.js';
import type { InteractionRow, ItemRow, UserRow } from './types.js';
import { toCategoryOrNull, toId, toNumberOrNull, toTags, toTimestamp } from './values.js';

function requireColumn(file: string, batch: RawBatch, name: string): ArrayLike<unknown> {
  const col = batch.column(name);
  if (col === undefined) {
    const found = batch.columnNames.length ? batch.columnNames.join(', ') : '(none)';
    throw new InputError({ file, column: name }, `missing required column '${name}' (columns found: ${found})`);
  }
  return col;
}

function prefixed(batch: RawBatch, prefix: string): string[] {
  return batch.columnNames.filter((c) => c.startsWith(prefix) && c.length > prefix.length);
}

/** Every num_* column of one row; missing values are left out rather than invented. */
function numericColumns(file: string, batch: RawBatch): (i: number, row: number) => Record<string, number> {
  const names = prefixed(batch, 'num_');
  const cols = names.map((n) => batch.column(n) as ArrayLike<unknown>);
  return (i, row) => {
    const out: Record<string, number> = {};
    for (let c = 0; c < names.length; c++) {
      const v = toNumberOrNull(cols[c][i], { file, row, column: names[c] });
      if (v !== null) out[names[c]] = v;
    }
    return out;
  };
}

export function toItemRows(file: string, batch: RawBatch): ItemRow[] {
  const ids = requireColumn(file, batch, 'item_id');
  const category = batch.column('category');
  const tags = batch.column('tags');
  const numeric = numericColumns(file, batch);
  const out = new Array<ItemRow>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const row = batch.firstRow + i;
    out[i] = {
      itemId: toId(ids[i], { file, row, column: 'item_id' }),
      category: category ? toCategoryOrNull(category[i], { file, row, column: 'category' }) : null,
      tags: tags ? toTags(tags[i], { file, row, column: 'tags' }) : [],
      numeric: numeric(i, row),
    };
  }
  return out;
}

export function toUserRows(file: string, batch: RawBatch): UserRow[] {
  const ids = requireColumn(file, batch, 'user_id');
  const catNames = prefixed(batch, 'cat_');
  const catCols = catNames.map((n) => batch.column(n) as ArrayLike<unknown>);
  const numeric = numericColumns(file, batch);
  const out = new Array<UserRow>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const row = batch.firstRow + i;
    const categorical: Record<string, string> = {};
    for (let c = 0; c < catNames.length; c++) {
      const v = toCategoryOrNull(catCols[c][i], { file, row, column: catNames[c] });
      if (v !== null) categorical[catNames[c]] = v;
    }
    out[i] = { userId: toId(ids[i], { file, row, column: 'user_id' }), categorical, numeric: numeric(i, row) };
  }
  return out;
}

export function toInteractionRows(file: string, batch: RawBatch): InteractionRow[] {
  const users = requireColumn(file, batch, 'user_id');
  const items = requireColumn(file, batch, 'item_id');
  const times = requireColumn(file, batch, 'timestamp');
  const ratings = batch.column('rating');
  const out = new Array<InteractionRow>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const row = batch.firstRow + i;
    const rating = ratings ? toNumberOrNull(ratings[i], { file, row, column: 'rating' }) : null;
    out[i] = {
      userId: toId(users[i], { file, row, column: 'user_id' }),
      itemId: toId(items[i], { file, row, column: 'item_id' }),
      timestamp: toTimestamp(times[i], { file, row, column: 'timestamp' }),
      // An implicit-feedback log has no rating: every interaction counts as one positive.
      rating: rating ?? 1,
    };
  }
  return out;
}
