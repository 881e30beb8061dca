/**
 * The embedding stages read each table a second time (its feature columns); a row whose id is not
 * the one the first pass saw at that position means the file was replaced mid-build, which is
 * refused rather than embedded under the wrong id.
 */
import type { Data, Utf8 } from 'apache-arrow';
import { DataType } from 'apache-arrow';
import type { RawBatch } from '../shared/data/format.js';
import { idAt } from '../shared/data/idIndex.js';
import { requireRawColumn } from '../shared/data/rawBatches.js';
import { InputError } from '../shared/errors.js';

/** Checks that the batch's ids are ids[at ..]: on the Utf8 bytes for Arrow (no string per row), else on the converted values. */
export function checkBatchIds(file: string, raw: RawBatch, ids: readonly string[], at: number, column: string): void {
  const bytes = utf8Data(raw, column);
  let col: ArrayLike<unknown> | null = null;
  for (let i = 0; i < raw.length; i++) {
    const want = ids[at + i];
    if (bytes && asciiEquals(want, bytes.values, bytes.valueOffsets[i], bytes.valueOffsets[i + 1])) continue;
    // Not a plain ASCII match (or not Arrow Utf8): decide on the id as the first pass read it.
    col ??= requireRawColumn(file, raw, column);
    if (want === undefined || idAt(file, raw, col, i, column) !== want) {
      throw new InputError({ file, row: raw.firstRow + i, column }, 'the file changed while the index was being built');
    }
  }
}

function utf8Data(raw: RawBatch, column: string): Data<Utf8> | null {
  const vec = raw.arrow?.getChild(column);
  if (!vec || !DataType.isUtf8(vec.type) || vec.data.length !== 1 || vec.nullCount > 0) return null;
  return vec.data[0] as Data<Utf8>;
}

/** s equals bytes[a, b) when both are the same ASCII text; false for anything else (then checked the slow way). */
function asciiEquals(s: string | undefined, bytes: Uint8Array, a: number, b: number): boolean {
  if (s === undefined || s.length !== b - a) return false;
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) !== bytes[a + k]) return false;
  return true;
}
