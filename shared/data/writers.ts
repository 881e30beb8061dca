/**
 * Writers for the logical tables. The format follows the file's extension: Arrow IPC file
 * format for .arrow/.ipc (the default output of every tool here), CSV or JSONL otherwise (handy
 * for fixtures and for people who want to look at the data). All of them write batch-wise.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { Field, Float64, Int64, Utf8, type DataType, type Vector } from 'apache-arrow';
import { float64Vector, int64Vector, utf8Vector } from './arrowColumns.js';
import { ArrowFileSink } from './arrowSink.js';
import { INTERACTION_COLUMNS, itemColumns, userColumns, type ColumnSpec } from './columns.js';
import { detectFormat } from './format.js';
import type { InteractionRow, ItemRow, UserRow } from './types.js';

export const WRITE_BATCH_SIZE = 65536;

export function writeItems(file: string, rows: readonly ItemRow[], batchSize = WRITE_BATCH_SIZE): Promise<void> {
  return writeRows(file, itemColumns(rows), rows, batchSize);
}

export function writeUsers(file: string, rows: readonly UserRow[], batchSize = WRITE_BATCH_SIZE): Promise<void> {
  return writeRows(file, userColumns(rows), rows, batchSize);
}

/** Interactions and holdout share one layout. */
export function writeInteractions(file: string, rows: readonly InteractionRow[], batchSize = WRITE_BATCH_SIZE): Promise<void> {
  return writeRows(file, INTERACTION_COLUMNS, rows, batchSize);
}

/** An incremental writer, for producers that never hold the whole table (e.g. 25M ratings). */
export interface TableWriter<R> {
  /** Appends rows; call with batches (thousands of rows), not single rows. */
  write(rows: readonly R[]): Promise<void>;
  /** Finishes the file; returns the number of rows written. */
  close(): Promise<number>;
  /** Gives up after an error, leaving an incomplete file behind. */
  abort(): Promise<void>;
}

/** An Arrow IPC file writer for interactions/holdout: one record batch per write() call. */
export async function openInteractionsWriter(file: string): Promise<TableWriter<InteractionRow>> {
  return openArrowWriter(file, INTERACTION_COLUMNS);
}

async function writeRows<R>(file: string, cols: readonly ColumnSpec<R>[], rows: readonly R[], batchSize: number): Promise<void> {
  const writer = detectFormat(file) === 'arrow' ? await openArrowWriter(file, cols) : await openTextWriter(file, cols);
  try {
    for (let start = 0; start < rows.length; start += batchSize) {
      await writer.write(rows.slice(start, start + batchSize));
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

const ARROW_TYPES = { string: () => new Utf8(), float64: () => new Float64(), int64: () => new Int64() };

async function openArrowWriter<R>(file: string, cols: readonly ColumnSpec<R>[]): Promise<TableWriter<R>> {
  const sink = await ArrowFileSink.open(
    file,
    cols.map((c) => new Field(c.name, ARROW_TYPES[c.kind](), true)),
  );
  return {
    write: (rows) => (rows.length ? sink.write(cols.map((c) => arrowColumn(c, rows))) : Promise.resolve()),
    close: async () => {
      await sink.close();
      return sink.rowCount;
    },
    abort: () => sink.abort(),
  };
}

function arrowColumn<R>(col: ColumnSpec<R>, rows: readonly R[]): Vector<DataType> {
  const values = rows.map((r) => col.get(r));
  if (col.kind === 'int64') {
    values.forEach((v, i) => {
      // BigInt() would throw a bare RangeError; say which value is wrong instead.
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new RangeError(`${col.name} must be an integer, got ${v} (batch row ${i + 1})`);
    });
    return int64Vector(values as number[]);
  }
  if (col.kind === 'float64') return float64Vector(values as (number | null)[]);
  return utf8Vector(values as (string | null)[]);
}

async function openTextWriter<R>(file: string, cols: readonly ColumnSpec<R>[]): Promise<TableWriter<R>> {
  const csv = detectFormat(file) === 'csv';
  const out = fs.createWriteStream(file, { encoding: 'utf8' });
  await once(out, 'open');
  let rowsWritten = 0;
  const put = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  if (csv) await put(cols.map((c) => csvField(c.name)).join(',') + '\n');
  return {
    write: async (rows) => {
      const lines = rows.map((r) => (csv ? csvLine(cols, r) : jsonLine(cols, r)));
      rowsWritten += rows.length;
      if (lines.length) await put(lines.join('\n') + '\n');
    },
    close: async () => {
      out.end();
      await once(out, 'finish');
      return rowsWritten;
    },
    abort: async () => {
      out.destroy();
    },
  };
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

function csvLine<R>(cols: readonly ColumnSpec<R>[], row: R): string {
  return cols
    .map((c) => {
      const v = c.get(row);
      return v === null ? '' : typeof v === 'number' ? String(v) : csvField(v);
    })
    .join(',');
}

/** Missing values are left out of the object, which the JSONL reader reads as missing. */
function jsonLine<R>(cols: readonly ColumnSpec<R>[], row: R): string {
  const obj: Record<string, string | number> = {};
  for (const c of cols) {
    const v = c.get(row);
    if (v !== null) obj[c.name] = v;
  }
  return JSON.stringify(obj);
}
