/**
 * The format-neutral raw batches of any table file, for loaders that want columns rather than
 * row objects (the row readers in readers.ts are built on the same sources).
 */
import { InputError } from '../errors.js';
import { arrowBatches } from './arrowSource.js';
import { csvBatches } from './csvSource.js';
import { detectFormat, type RawBatch } from './format.js';
import { jsonlBatches } from './jsonlSource.js';

export function rawTableBatches(file: string, batchSize: number): AsyncGenerator<RawBatch> {
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

/** The column, or an InputError naming the columns that are there. */
export function requireRawColumn(file: string, batch: RawBatch, name: string): ArrayLike<unknown> {
  const col = batch.column(name);
  if (col === undefined) {
    const found = batch.columnNames.length ? batch.columnNames.join(', ') : '(none)';
    throw new InputError({ file, column: name }, `missing required column '${name}' (columns found: ${found})`);
  }
  return col;
}
