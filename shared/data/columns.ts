/**
 * The flat column layout of each logical table, shared by every writer so that Arrow, CSV and
 * JSONL outputs of the same rows have the same columns in the same order.
 */
import type { InteractionRow, ItemRow, UserRow } from './types.js';

export type ColumnKind = 'string' | 'float64' | 'int64';
export type FlatValue = string | number | null;

export interface ColumnSpec<R> {
  name: string;
  kind: ColumnKind;
  get(row: R): FlatValue;
}

/** Feature keys in first-seen order: rows may carry different subsets of num_* / cat_* keys. */
function unionKeys<R>(rows: readonly R[], pick: (r: R) => Record<string, unknown>): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(pick(r))) keys.add(k);
  return [...keys];
}

export function itemColumns(rows: readonly ItemRow[]): ColumnSpec<ItemRow>[] {
  const cols: ColumnSpec<ItemRow>[] = [
    { name: 'item_id', kind: 'string', get: (r) => r.itemId },
    { name: 'category', kind: 'string', get: (r) => r.category },
    // Tags travel as one '|'-separated string: every format can hold it, and readers split it.
    { name: 'tags', kind: 'string', get: (r) => (r.tags.length ? r.tags.join('|') : null) },
  ];
  for (const k of unionKeys(rows, (r) => r.numeric)) {
    cols.push({ name: k, kind: 'float64', get: (r) => r.numeric[k] ?? null });
  }
  return cols;
}

export function userColumns(rows: readonly UserRow[]): ColumnSpec<UserRow>[] {
  const cols: ColumnSpec<UserRow>[] = [{ name: 'user_id', kind: 'string', get: (r) => r.userId }];
  for (const k of unionKeys(rows, (r) => r.categorical)) {
    cols.push({ name: k, kind: 'string', get: (r) => r.categorical[k] ?? null });
  }
  for (const k of unionKeys(rows, (r) => r.numeric)) {
    cols.push({ name: k, kind: 'float64', get: (r) => r.numeric[k] ?? null });
  }
  return cols;
}

export const INTERACTION_COLUMNS: readonly ColumnSpec<InteractionRow>[] = [
  { name: 'user_id', kind: 'string', get: (r) => r.userId },
  { name: 'item_id', kind: 'string', get: (r) => r.itemId },
  { name: 'timestamp', kind: 'int64', get: (r) => r.timestamp },
  { name: 'rating', kind: 'float64', get: (r) => r.rating },
];
