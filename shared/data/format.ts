/**
 * File formats and the format-neutral batch every source produces.
 *
 * Sources (Arrow, CSV, JSONL) only split a file into batches of raw values; turning raw values
 * into typed rows, and every check on them, lives in one place (rows.ts), so that the same
 * column means the same thing and fails with the same message whatever the format.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { RecordBatch } from 'apache-arrow';
import type { TableName } from './types.js';

export type FileFormat = 'arrow' | 'csv' | 'jsonl';

const EXTENSIONS: Record<string, FileFormat> = {
  '.arrow': 'arrow',
  '.ipc': 'arrow',
  '.feather': 'arrow',
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
};

/** Looked up in this order: a binary columnar file wins over text if both are present. */
const TABLE_EXTENSIONS = ['.arrow', '.ipc', '.csv', '.jsonl'] as const;

export function detectFormat(file: string): FileFormat {
  const format = EXTENSIONS[path.extname(file).toLowerCase()];
  if (!format) {
    throw new InputError(
      { file },
      `unknown file format '${path.extname(file) || '(no extension)'}': expected one of ${Object.keys(EXTENSIONS).join(', ')}`,
    );
  }
  return format;
}

export function resolveTable(dir: string, table: TableName): string | null {
  for (const ext of TABLE_EXTENSIONS) {
    const file = path.join(dir, table + ext);
    if (fs.existsSync(file) && fs.statSync(file).isFile()) return file;
  }
  return null;
}

/**
 * A batch of raw rows. Columns are materialised on demand because conversion (Arrow BigInt
 * columns, CSV transposition) costs time and most files carry columns nobody asked for.
 */
export interface RawBatch {
  /** 1-based data row number (header not counted) of the batch's first row. */
  readonly firstRow: number;
  readonly length: number;
  /** Columns present in this batch, in file order. */
  readonly columnNames: readonly string[];
  /** The column's values, `length` long, or undefined if absent. null/undefined mean missing. */
  column(name: string): ArrayLike<unknown> | undefined;
  /** The Arrow record batch behind it (Arrow sources only), for readers that work on its buffers. */
  readonly arrow?: RecordBatch;
}
