/**
 * JSONL source: one JSON object per line; blank lines are skipped and do not count as rows
 * (errors name the physical line as well).
 * Objects may differ in their keys, so a batch's columns are the union of its rows' keys and a
 * key absent from one row reads as missing there.
 */
import { InputError } from '../errors.js';
import type { RawBatch } from './format.js';
import { readLineBatches } from './lines.js';

type JsonObject = Record<string, unknown>;

export async function* jsonlBatches(file: string, batchSize: number): AsyncGenerator<RawBatch> {
  let rows: JsonObject[] = [];
  let next = 1;
  for await (const { firstLine, lines } of readLineBatches(file, 'utf8')) {
    for (let l = 0; l < lines.length; l++) {
      const text = lines[l];
      if (text.trim() === '') continue;
      const row = next + rows.length;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new InputError({ file, row }, `line ${firstLine + l} is not valid JSON: ${(err as Error).message}`);
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new InputError({ file, row }, `line ${firstLine + l} is not a JSON object`);
      }
      rows.push(value as JsonObject);
      if (rows.length >= batchSize) {
        yield jsonRawBatch(rows, next);
        next += rows.length;
        rows = [];
      }
    }
  }
  // Without a header an empty file is simply an empty table: nothing to check.
  if (rows.length > 0) yield jsonRawBatch(rows, next);
}

function jsonRawBatch(rows: JsonObject[], firstRow: number): RawBatch {
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) names.add(k);
  const columnNames = [...names];
  return {
    firstRow,
    length: rows.length,
    columnNames,
    column(name: string) {
      return names.has(name) ? rows.map((r) => r[name]) : undefined;
    },
  };
}
