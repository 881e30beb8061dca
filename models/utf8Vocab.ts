/**
 * A vocabulary looked up by UTF-8 bytes, for values read straight from Arrow Utf8 buffers: making a
 * JavaScript string of every category and tag only to hash it again costs more than the item tower.
 *
 * Values with surrounding whitespace (which the row path trims) or empty ones (missing) are not
 * decided here: lookup returns NEEDS_STRING and the caller takes the string path for that value,
 * so both paths give the same index by construction.
 */
import { ByteIdTable, utf8Bytes } from '../shared/data/byteIdTable.js';
import type { Vocab } from './vocab.js';

/** lookup() could not decide from the bytes alone. */
export const NEEDS_STRING = -1;

export class Utf8Vocab {
  private readonly table = new ByteIdTable();
  /** Vocabulary index (1-based) of each table entry. */
  private readonly indexOfEntry: Int32Array;

  constructor(readonly vocab: Vocab) {
    this.indexOfEntry = new Int32Array(vocab.size);
    for (let i = 0; i < vocab.size; i++) {
      const b = utf8Bytes(vocab.values[i]);
      const before = this.table.size;
      const e = this.table.insert(b, 0, b.length);
      // First occurrence wins, as in Vocab: a repeated value keeps its first entry's index.
      if (e === before) this.indexOfEntry[e] = i + 1;
    }
  }

  /** The index of the value bytes[a, b): 0 when unknown, NEEDS_STRING when it must be trimmed or is empty. */
  lookup(bytes: Uint8Array, a: number, b: number): number {
    if (!plainValue(bytes, a, b)) return NEEDS_STRING;
    const e = this.table.find(bytes, a, b);
    return e < 0 ? 0 : this.indexOfEntry[e];
  }
}

/**
 * Non-empty and starting and ending on a printable ASCII byte: nothing that String.trim() would
 * remove (which includes Unicode spaces, hence no multi-byte character at either end).
 */
export function plainValue(bytes: Uint8Array, a: number, b: number): boolean {
  return b > a && bytes[a] > 32 && bytes[a] < 128 && bytes[b - 1] > 32 && bytes[b - 1] < 128;
}
