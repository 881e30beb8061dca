/**
 * Each item's category for item_meta: category names in first-seen order and every item's index
 * into them. Arrow Utf8 columns are looked up by their bytes (a cache in front of the names, so a
 * million rows of a few dozen categories make no string per row); anything else goes through
 * toCategoryOrNull, the row path's conversion.
 */
import type { Data, Utf8 } from 'apache-arrow';
import { DataType } from 'apache-arrow';
import { ByteIdTable } from '../shared/data/byteIdTable.js';
import type { RawBatch } from '../shared/data/format.js';
import { toCategoryOrNull } from '../shared/data/values.js';
import { plainValue } from '../models/utf8Vocab.js';

export class CategoryCollector {
  readonly category: Int32Array;
  readonly categories: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly byBytes = new ByteIdTable();
  /** Category of each byBytes entry. */
  private bytesCategory = new Int32Array(64);

  constructor(n: number) {
    this.category = new Int32Array(n).fill(-1);
  }

  /** The categories of items [at, at + raw.length). */
  addBatch(file: string, raw: RawBatch, at: number): void {
    const vec = raw.arrow?.getChild('category');
    if (vec && DataType.isUtf8(vec.type) && vec.data.length === 1) {
      this.addUtf8(file, raw.firstRow, vec.data[0] as Data<Utf8>, at);
      return;
    }
    const cats = raw.column('category');
    if (!cats) return;
    for (let i = 0; i < raw.length; i++) this.add(at + i, toCategoryOrNull(cats[i], { file, row: raw.firstRow + i, column: 'category' }));
  }

  add(item: number, c: string | null): void {
    if (c === null) return;
    let ci = this.index.get(c);
    if (ci === undefined) {
      ci = this.categories.push(c) - 1;
      this.index.set(c, ci);
    }
    this.category[item] = ci;
  }

  private addUtf8(file: string, firstRow: number, d: Data<Utf8>, at: number): void {
    const { valueOffsets: vo, values } = d;
    const nulls = d.nullCount > 0;
    const text = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    for (let i = 0; i < d.length; i++) {
      if (nulls && !d.getValid(i)) continue;
      const a = vo[i];
      const b = vo[i + 1];
      const plain = plainValue(values, a, b);
      const e = plain ? this.byBytes.find(values, a, b) : -1;
      if (e >= 0) {
        this.category[at + i] = this.bytesCategory[e];
        continue;
      }
      this.add(at + i, toCategoryOrNull(text.toString('utf8', a, b), { file, row: firstRow + i, column: 'category' }));
      if (plain && this.category[at + i] >= 0) this.remember(values, a, b, this.category[at + i]);
    }
  }

  private remember(values: Uint8Array, a: number, b: number, category: number): void {
    const e = this.byBytes.insert(values, a, b);
    if (e >= this.bytesCategory.length) {
      const grown = new Int32Array(this.bytesCategory.length * 2);
      grown.set(this.bytesCategory);
      this.bytesCategory = grown;
    }
    this.bytesCategory[e] = category;
  }
}
