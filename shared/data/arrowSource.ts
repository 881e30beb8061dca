/**
 * Arrow IPC source (file or stream format), read record batch by record batch.
 *
 * The file is opened as a FileHandle so that apache-arrow reads the file format with random
 * access (footer first, then one batch at a time) instead of loading the whole file; the stream
 * format is read sequentially from the same handle.
 */
import fs from 'node:fs/promises';
import { Precision, RecordBatchReader, Type, type DataType, type Float, type RecordBatch, type Utf8, type Vector } from 'apache-arrow';
import { utf8Values } from './arrowColumns.js';
import { InputError } from '../errors.js';
import type { RawBatch } from './format.js';

const FILE_MAGIC = 'ARROW1';

export async function* arrowBatches(file: string, batchSize: number): AsyncGenerator<RawBatch> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    throw new InputError({ file }, `cannot open: ${(err as Error).message}`);
  }
  try {
    await checkMagic(file, handle);
    let reader: RecordBatchReader;
    try {
      reader = await RecordBatchReader.from(handle);
      await reader.open();
    } catch (err) {
      throw new InputError({ file }, `not a readable Arrow IPC file: ${(err as Error).message}`);
    }
    const columnNames = reader.schema.fields.map((f) => f.name);
    let next = 1;
    for await (const batch of recordBatches(file, reader)) {
      // A writer may use huge record batches; slicing keeps the caller's batch size promise.
      for (let start = 0; start < batch.numRows; start += batchSize) {
        const slice = start === 0 && batch.numRows <= batchSize ? batch : batch.slice(start, start + batchSize);
        yield arrowRawBatch(slice, columnNames, next);
        next += slice.numRows;
      }
    }
    // A file with a schema but no rows still gets its columns checked.
    if (next === 1) yield emptyBatch(columnNames);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The reader's record batches, with a batch that fails to decode reported as the file's bad input
 * (how many rows came before it) rather than as apache-arrow's bare error.
 */
export async function* recordBatches(file: string, reader: RecordBatchReader): AsyncGenerator<RecordBatch> {
  let rows = 0;
  const it = reader[Symbol.asyncIterator]();
  for (;;) {
    let res: IteratorResult<RecordBatch>;
    try {
      res = await it.next();
    } catch (err) {
      throw new InputError({ file }, `malformed Arrow IPC data after ${rows} rows: ${(err as Error).message}`);
    }
    if (res.done) return;
    rows += res.value.numRows;
    yield res.value;
  }
}

async function checkMagic(file: string, handle: fs.FileHandle): Promise<void> {
  const head = Buffer.alloc(8);
  let bytesRead: number;
  try {
    ({ bytesRead } = await handle.read(head, 0, 8, 0));
  } catch (err) {
    throw new InputError({ file }, `cannot read: ${(err as Error).message}`);
  }
  if (bytesRead === 0) throw new InputError({ file }, 'the file is empty (not an Arrow IPC file)');
  const isFile = bytesRead >= 6 && head.toString('latin1', 0, 6) === FILE_MAGIC;
  // The stream format starts with a 0xFFFFFFFF continuation marker (pre-0.15 writers omit it
  // and start with a small positive metadata length).
  const isStream = bytesRead >= 4 && (head.readUInt32LE(0) === 0xffffffff || (head.readInt32LE(0) > 0 && head.readInt32LE(0) < 1 << 24));
  if (!isFile && !isStream) {
    throw new InputError({ file }, 'not an Arrow IPC file (no ARROW1 magic and no stream header)');
  }
}

function emptyBatch(columnNames: string[]): RawBatch {
  return { firstRow: 1, length: 0, columnNames, column: (name) => (columnNames.includes(name) ? [] : undefined) };
}

function arrowRawBatch(batch: RecordBatch, columnNames: string[], firstRow: number): RawBatch {
  const cache = new Map<string, ArrayLike<unknown>>();
  return {
    firstRow,
    length: batch.numRows,
    columnNames,
    arrow: batch,
    column(name: string) {
      let col = cache.get(name);
      if (col === undefined) {
        const vec = batch.getChild(name);
        if (!vec) return undefined;
        col = vectorValues(vec);
        cache.set(name, col);
      }
      return col;
    },
  };
}

/**
 * Plain JS values of a column: numbers, bigints, strings, booleans, string[] for lists, and null
 * for missing. Temporal columns become epoch seconds, the unit of the logical schema.
 */
function vectorValues(vec: Vector<DataType>): ArrayLike<unknown> {
  const typeId = vec.type.typeId;
  if (typeId === Type.Timestamp || typeId === Type.Date) {
    // apache-arrow returns epoch milliseconds whatever the unit.
    return mapGet(vec, (v) => (typeof v === 'number' ? Math.floor(v / 1000) : v instanceof Date ? Math.floor(v.getTime() / 1000) : v));
  }
  if (typeId === Type.List || typeId === Type.LargeList || typeId === Type.FixedSizeList) {
    return mapGet(vec, (v) => (v && typeof (v as Vector).toArray === 'function' ? Array.from((v as Vector).toArray() as ArrayLike<unknown>) : v));
  }
  if (typeId === Type.Utf8) return utf8Values(vec as Vector<Utf8>);
  const primitive = typeId === Type.Int || typeId === Type.Float || typeId === Type.Bool;
  // Float16's typed array holds raw half-precision bits; get() decodes them.
  const half = typeId === Type.Float && (vec.type as Float).precision === Precision.HALF;
  if (primitive && (vec.nullCount > 0 || half)) return mapGet(vec, (v) => v);
  // toArray() is a zero-copy typed array for primitive columns, and an array of values (nulls
  // included) for strings and dictionaries.
  return vec.toArray() as ArrayLike<unknown>;
}

function mapGet(vec: Vector<DataType>, f: (v: unknown) => unknown): unknown[] {
  const out = new Array<unknown>(vec.length);
  for (let i = 0; i < vec.length; i++) out[i] = vec.isValid(i) ? f(vec.get(i)) : null;
  return out;
}
