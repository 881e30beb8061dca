/**
 * CSV source: csv-parse in streaming mode, first record is the header.
 * Values stay strings; empty strings mean missing (CSV has no null).
 */
import fs from 'node:fs';
import { parse } from 'csv-parse';
import { InputError } from '../errors.js';
import type { RawBatch } from './format.js';

export async function* csvBatches(file: string, batchSize: number): AsyncGenerator<RawBatch> {
  const input = fs.createReadStream(file);
  const parser = input.pipe(
    parse({
      bom: true,
      skip_empty_lines: true,
      // A record with a different field count is an error, not silently padded.
      relax_column_count: false,
    }),
  );
  // Stream errors (missing file, permission) surface through the parser's iterator.
  input.on('error', (err) => parser.destroy(err));

  let header: string[] | null = null;
  let rows: string[][] = [];
  let next = 1;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === null) {
        header = record.map((h) => h.trim());
        checkHeader(file, header);
        continue;
      }
      rows.push(record);
      if (rows.length >= batchSize) {
        yield csvRawBatch(header, rows, next);
        next += rows.length;
        rows = [];
      }
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const e = err as Error & { code?: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') throw new InputError({ file }, `cannot open: ${e.message}`);
    // The row that failed is the one after those already parsed.
    throw new InputError({ file, row: next + rows.length }, `malformed CSV: ${e.message}`);
  } finally {
    input.destroy();
  }
  if (header === null) throw new InputError({ file }, 'the file is empty: no header row');
  if (rows.length > 0 || next === 1) yield csvRawBatch(header, rows, next);
}

function checkHeader(file: string, header: string[]): void {
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new InputError({ file }, `header column ${i + 1} has no name`);
    if (seen.has(h)) throw new InputError({ file, column: h }, 'duplicate column in header');
    seen.add(h);
  });
}

function csvRawBatch(header: string[], rows: string[][], firstRow: number): RawBatch {
  const index = new Map(header.map((h, i) => [h, i]));
  const cache = new Map<string, string[]>();
  return {
    firstRow,
    length: rows.length,
    columnNames: header,
    column(name: string) {
      const i = index.get(name);
      if (i === undefined) return undefined;
      let col = cache.get(name);
      if (!col) {
        col = rows.map((r) => r[i]);
        cache.set(name, col);
      }
      return col;
    },
  };
}
