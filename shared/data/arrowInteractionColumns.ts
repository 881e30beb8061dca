/**
 * The fast path of loadInteractionColumns for Arrow IPC files whose user_id and item_id are Utf8
 * and whose timestamp is a plain integer or float: ids are looked up by their bytes in the Arrow
 * buffers (ByteIdTable) and timestamps read from the value buffer, so no JavaScript string or
 * BigInt is made per row. Returns null when the file does not have that shape; the caller then
 * takes the general path, which also produces every error message for malformed files.
 */
import fs from 'node:fs/promises';
import { RecordBatchReader, Type, type Data, type Int, type Schema, type Utf8 } from 'apache-arrow';
import { InputError } from '../errors.js';
import { recordBatches } from './arrowSource.js';
import { ByteIdTable, utf8Bytes } from './byteIdTable.js';
import type { IdIndex } from './idIndex.js';
import type { InteractionColumns, LoadInteractionColumnsOptions } from './interactionColumns.js';
import { toId, toTimestamp } from './values.js';

export async function arrowInteractionColumns(
  file: string,
  items: IdIndex,
  users: IdIndex,
  opts: LoadInteractionColumnsOptions,
): Promise<InteractionColumns | null> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return null;
  }
  try {
    let reader: RecordBatchReader;
    try {
      reader = await RecordBatchReader.from(handle);
      await reader.open();
    } catch {
      return null;
    }
    if (!fastShape(reader.schema)) return null;
    const itemTable = ByteIdTable.fromIds(items.ids);
    const userTable = ByteIdTable.fromIds(users.ids);
    let cap = 1 << 20;
    let user = new Int32Array(cap);
    let item = new Int32Array(cap);
    let time = new Float64Array(cap);
    let n = 0;
    for await (const batch of recordBatches(file, reader)) {
      const len = batch.numRows;
      if (n + len > cap) {
        while (n + len > cap) cap *= 2;
        user = grow(user, cap);
        item = grow(item, cap);
        time = grow(time, cap);
      }
      const u = only(batch.getChild('user_id')?.data) as Data<Utf8> | null;
      const itc = only(batch.getChild('item_id')?.data) as Data<Utf8> | null;
      const ts = only(batch.getChild('timestamp')?.data) as Data<Int> | null;
      // Every record batch of an IPC file has one buffer per column; anything else is damage.
      if (!u || !itc || !ts) throw new InputError({ file }, `malformed Arrow IPC data after ${n} rows: a record batch without its columns`);
      const firstRow = n + 1;
      readItems(file, itc, itemTable, item, n, firstRow);
      readUsers(file, u, userTable, users, user, n, firstRow);
      readTimes(file, ts, time, n, firstRow);
      n += len;
      opts.onBatch?.(n);
    }
    return { rows: n, user: user.slice(0, n), item: item.slice(0, n), time: time.slice(0, n) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function fastShape(schema: Schema): boolean {
  const type = (name: string) => schema.fields.find((f) => f.name === name)?.type.typeId;
  const ts = type('timestamp');
  return type('user_id') === Type.Utf8 && type('item_id') === Type.Utf8 && (ts === Type.Int || ts === Type.Float);
}

function only<T>(data: readonly T[] | undefined): T | null {
  return data && data.length === 1 ? data[0] : null;
}

/** Id bytes that need the general conversion: missing, empty, or with surrounding whitespace. */
function plain(bytes: Uint8Array, a: number, b: number): boolean {
  return b > a && bytes[a] > 32 && bytes[b - 1] > 32;
}

function slowId(file: string, d: Data<Utf8>, i: number, row: number, column: string): string {
  const valid = d.nullCount === 0 || d.getValid(i);
  const raw = valid ? Buffer.from(d.values.buffer, d.values.byteOffset, d.values.byteLength).toString('utf8', d.valueOffsets[i], d.valueOffsets[i + 1]) : null;
  return toId(raw, { file, row, column });
}

function readItems(file: string, d: Data<Utf8>, table: ByteIdTable, out: Int32Array, at: number, firstRow: number): void {
  const vo = d.valueOffsets;
  const bytes = d.values;
  const nulls = d.nullCount > 0;
  for (let i = 0; i < d.length; i++) {
    let index: number;
    if (!nulls && plain(bytes, vo[i], vo[i + 1])) index = table.find(bytes, vo[i], vo[i + 1]);
    else {
      const b = utf8Bytes(slowId(file, d, i, firstRow + i, 'item_id'));
      index = table.find(b, 0, b.length);
    }
    if (index < 0) {
      const id = slowId(file, d, i, firstRow + i, 'item_id');
      throw new InputError({ file, row: firstRow + i, column: 'item_id' }, `item '${id}' is not in the catalog`);
    }
    out[at + i] = index;
  }
}

function readUsers(file: string, d: Data<Utf8>, table: ByteIdTable, users: IdIndex, out: Int32Array, at: number, firstRow: number): void {
  const vo = d.valueOffsets;
  const bytes = d.values;
  const nulls = d.nullCount > 0;
  let prevA = -1;
  let prevB = -1;
  let prev = -1;
  for (let i = 0; i < d.length; i++) {
    const a = vo[i];
    const b = vo[i + 1];
    if (!nulls && prev >= 0 && b - a === prevB - prevA && sameBytes(bytes, a, prevA, b - a)) {
      // Logs are grouped by user: most rows repeat the row before, which costs one compare.
      out[at + i] = prev;
      continue;
    }
    let index: number;
    if (!nulls && plain(bytes, a, b)) {
      index = table.insert(bytes, a, b);
      if (index === users.size) users.intern(Buffer.from(bytes.buffer, bytes.byteOffset + a, b - a).toString('utf8'));
    } else {
      const id = slowId(file, d, i, firstRow + i, 'user_id');
      const buf = utf8Bytes(id);
      index = table.insert(buf, 0, buf.length);
      if (index === users.size) users.intern(id);
    }
    out[at + i] = index;
    prev = index;
    prevA = a;
    prevB = b;
  }
}

function sameBytes(bytes: Uint8Array, a: number, b: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (bytes[a + k] !== bytes[b + k]) return false;
  return true;
}

function readTimes(file: string, d: Data<Int>, out: Float64Array, at: number, firstRow: number): void {
  const values = d.values as ArrayLike<number | bigint>;
  const nulls = d.nullCount > 0;
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    // Two 32-bit words per value (little-endian, as Arrow IPC is): no BigInt per row.
    const words = new Int32Array(values.buffer, values.byteOffset, d.length * 2);
    const signed = values instanceof BigInt64Array;
    for (let i = 0; i < d.length; i++) {
      if (nulls && !d.getValid(i)) out[at + i] = toTimestamp(null, { file, row: firstRow + i, column: 'timestamp' });
      else out[at + i] = (signed ? words[2 * i + 1] : words[2 * i + 1] >>> 0) * 4294967296 + (words[2 * i] >>> 0);
    }
    return;
  }
  for (let i = 0; i < d.length; i++) {
    const v = values[i] as number;
    if ((nulls && !d.getValid(i)) || !Number.isFinite(v)) out[at + i] = toTimestamp(nulls && !d.getValid(i) ? null : v, { file, row: firstRow + i, column: 'timestamp' });
    else out[at + i] = Math.floor(v);
  }
}

function grow<T extends Int32Array | Float64Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}
