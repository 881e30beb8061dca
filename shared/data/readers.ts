/**
 * Streaming readers for the logical tables (items, users, interactions/holdout) from Arrow IPC,
 * CSV or JSONL. Generators yield arrays of at most `batchSize` rows so that large files are never
 * held in memory as a whole by the reader itself; load* helpers collect everything.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { InputError } from '../errors.js';
import { arrowBatches } from './arrowSource.js';
import { csvBatches } from './csvSource.js';
import { detectFormat, type RawBatch } from './format.js';
import { jsonlBatches } from './jsonlSource.js';
import { toInteractionRows, toItemRows, toUserRows } from './rows.js';
import type { InteractionRow, ItemRow, UserRow } from './types.js';

export { resolveTable, detectFormat, type FileFormat } from './format.js';

export const DEFAULT_BATCH_SIZE = 65536;

function rawBatches(file: string, batchSize: number): AsyncGenerator<RawBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InputError({ file }, `batch size must be a positive integer, got ${batchSize}`);
  }
  switch (detectFormat(file)) {
    case 'arrow':
      return arrowBatches(file, batchSize);
    case 'csv':
      return csvBatches(file, batchSize);
    case 'jsonl':
      return jsonlBatches(file, batchSize);
  }
}

async function* readTable<T>(file: string, batchSize: number, convert: (file: string, b: RawBatch) => T[]): AsyncGenerator<T[]> {
  for await (const batch of rawBatches(file, batchSize)) {
    const rows = convert(file, batch);
    if (rows.length > 0) yield rows;
  }
}

export function readItems(file: string, batchSize = DEFAULT_BATCH_SIZE): AsyncGenerator<ItemRow[]> {
  return readTable(file, batchSize, toItemRows);
}

export function readUsers(file: string, batchSize = DEFAULT_BATCH_SIZE): AsyncGenerator<UserRow[]> {
  return readTable(file, batchSize, toUserRows);
}

/** Interactions and holdout share one layout. */
export function readInteractions(file: string, batchSize = DEFAULT_BATCH_SIZE): AsyncGenerator<InteractionRow[]> {
  return readTable(file, batchSize, toInteractionRows);
}

async function loadUnique<T>(file: string, batches: AsyncGenerator<T[]>, idColumn: string, idOf: (r: T) => string): Promise<T[]> {
  const all: T[] = [];
  const firstRow = new Map<string, number>();
  for await (const rows of batches) {
    for (const r of rows) {
      const id = idOf(r);
      const row = all.length + 1;
      const prev = firstRow.get(id);
      if (prev !== undefined) {
        throw new InputError({ file, row, column: idColumn }, `duplicate ${idColumn} '${id}' (rows ${prev} and ${row})`);
      }
      firstRow.set(id, row);
      all.push(r);
    }
  }
  return all;
}

/** All items; a duplicate item_id is an error naming both rows. */
export function loadItems(file: string): Promise<ItemRow[]> {
  return loadUnique(file, readItems(file), 'item_id', (r) => r.itemId);
}

/** All users; a duplicate user_id is an error naming both rows. */
export function loadUsers(file: string): Promise<UserRow[]> {
  return loadUnique(file, readUsers(file), 'user_id', (r) => r.userId);
}

export async function loadInteractions(file: string): Promise<InteractionRow[]> {
  const all: InteractionRow[] = [];
  for await (const rows of readInteractions(file)) for (const r of rows) all.push(r);
  return all;
}

/** Data rows in the file (header not counted), without converting values. */
export async function countRows(file: string): Promise<number> {
  let n = 0;
  for await (const batch of rawBatches(file, DEFAULT_BATCH_SIZE)) n += batch.length;
  return n;
}

/** sha256 of the file's bytes, hex: identifies the data snapshot an index was built from. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  } catch (err) {
    throw new InputError({ file }, `cannot read: ${(err as Error).message}`);
  }
  return hash.digest('hex');
}
