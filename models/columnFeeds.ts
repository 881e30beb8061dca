/**
 * Tower inputs encoded from columns rather than from row objects: the indexer's path for Arrow
 * tables. Building an ItemRow per row (decoding every string, splitting tags, one object per row)
 * cost about twice what the item tower itself costs per row; here categories and tags are looked
 * up by their bytes in the Arrow buffers, numbers are read from the value buffers, and histories
 * come from the indexer's CSR arrays of catalog indices.
 *
 * features.ts stays the definition of the encoding: this file must give the same tensors for the
 * same table, value for value (a test compares the two), and anything it cannot read from bytes
 * alone (a value to trim, a type other than Utf8 or a plain number) goes through the same string
 * functions the row path uses, or the whole table through the row path (unsupportedColumns).
 */
import { DataType, type Data, type RecordBatch, type Schema, type Utf8 } from 'apache-arrow';
import { InputError, TwoTowerError } from '../shared/errors.js';
import type { Histories } from '../shared/data/histories.js';
import { splitTags, toCategoryOrNull, toNumberOrNull } from '../shared/data/values.js';
import type { EncodedInput } from './features.js';
import type { NumericInput, TowerInput, TowerSpec } from './manifest.js';
import { NEEDS_STRING, Utf8Vocab } from './utf8Vocab.js';
import type { Vocab, Vocabularies } from './vocab.js';

export interface ColumnEncoderOptions {
  /** Ids of the table's rows in order: rows [at, at + n) of encode() are ids[at ..]. */
  ids: readonly string[];
  /** For a history input: every user's items as catalog indices, and the catalog's ids. */
  histories?: Histories;
  catalogIds?: readonly string[];
  /** The row path's cap on the history it reads (the tower then keeps its own maxLength of it). */
  historyWindow?: number;
}

/** Where the rows came from, for error messages. */
export interface RowsAt {
  file: string;
  /** 1-based row of the first row in its file. */
  firstRow: number;
}

/**
 * Why this table cannot take the column path (the caller then uses the row path), or null. Only
 * Utf8 text columns and plain number columns are read from buffers.
 */
export function unsupportedColumns(spec: TowerSpec, tower: 'item' | 'user', schema: Schema): string | null {
  const typeOf = (name: string) => schema.fields.find((f) => f.name === name)?.type;
  for (const f of schema.fields) {
    const prefix = f.name.startsWith('num_') ? 'num_' : f.name.startsWith('cat_') ? 'cat_' : null;
    if (prefix === 'num_' && !isPlainNumber(f.type)) return `${f.name} is ${f.type}, not a 32/64-bit float or 8-32-bit integer`;
    if (prefix === 'cat_' && tower === 'user' && !DataType.isUtf8(f.type)) return `${f.name} is ${f.type}, not Utf8`;
  }
  for (const inp of spec.inputs) {
    if (inp.kind === 'categorical' || inp.kind === 'bag') {
      // The row path reads an item's category and tags from these columns whatever the manifest says.
      const expected = tower === 'item' ? (inp.kind === 'bag' ? 'tags' : 'category') : inp.column;
      if (inp.column !== expected) return `input '${inp.name}' reads column '${inp.column}', the row path reads '${expected}'`;
      const t = typeOf(inp.column);
      if (t !== undefined && !DataType.isUtf8(t)) return `${inp.column} is ${t}, not Utf8`;
    } else if (inp.kind !== 'id' && inp.kind !== 'numeric' && !(inp.kind === 'history' && tower === 'user')) {
      return `input '${inp.name}' of kind '${inp.kind}'`;
    }
  }
  return null;
}

function isPlainNumber(t: DataType): boolean {
  if (DataType.isFloat(t)) return t.precision !== 0; // half-precision floats are decoded by get() only
  return DataType.isInt(t) && t.bitWidth <= 32;
}

export class ColumnEncoder {
  private readonly utf8 = new Map<string, Utf8Vocab>();
  /** Vocabulary index of each catalog item, for history inputs. */
  private catalogVocab: Int32Array | null = null;

  constructor(
    private readonly spec: TowerSpec,
    private readonly vocabs: Vocabularies,
    private readonly opts: ColumnEncoderOptions,
  ) {}

  /** Inputs for table rows [at, at + n): `batch` holds their columns, or null for rows without any (users known only from interactions). */
  encode(at: number, n: number, batch: RecordBatch | null, where: RowsAt): EncodedInput[] {
    if (batch) {
      if (batch.numRows !== n) throw new TwoTowerError('INTERNAL', `encode: ${n} rows asked, batch has ${batch.numRows}`);
      checkNumericColumns(batch, where);
    }
    return this.spec.inputs.map((inp) => {
      switch (inp.kind) {
        case 'id':
          return { name: inp.name, dtype: 'int64', dims: [n], data: vocabIndices(this.vocab(inp), this.opts.ids, at, n) };
        case 'categorical':
          return { name: inp.name, dtype: 'int64', dims: [n], data: this.categorical(inp.vocab, utf8Column(batch, inp.column), n, where, inp.column) };
        case 'bag':
          return { name: inp.name, dtype: 'int64', dims: [n, inp.maxLength], data: this.bag(inp.vocab, utf8Column(batch, inp.column), n, inp.maxLength) };
        case 'numeric':
          return numeric(inp, batch, n);
        case 'history':
          return { name: inp.name, dtype: 'int64', dims: [n, inp.maxLength], data: this.history(inp.vocab, at, n, inp.maxLength) };
        default:
          throw new TwoTowerError('MODEL_CONTRACT', `input '${(inp as TowerInput).name}' cannot be encoded from columns`);
      }
    });
  }

  private vocab(inp: { name: string; vocab: string }): Vocab {
    const v = this.vocabs.get(inp.vocab);
    if (!v) throw new TwoTowerError('MODEL_CONTRACT', `input '${inp.name}' names vocabulary '${inp.vocab}', which is not loaded`);
    return v;
  }

  private utf8Vocab(name: string): Utf8Vocab {
    let u = this.utf8.get(name);
    if (!u) {
      u = new Utf8Vocab(this.vocab({ name, vocab: name }));
      this.utf8.set(name, u);
    }
    return u;
  }

  private categorical(vocabName: string, col: Data<Utf8> | null, n: number, where: RowsAt, column: string): Int32Array {
    const out = new Int32Array(n);
    if (!col) return out;
    const v = this.utf8Vocab(vocabName);
    const { valueOffsets: vo, values } = col;
    const nulls = col.nullCount > 0;
    for (let i = 0; i < n; i++) {
      if (nulls && !col.getValid(i)) continue;
      let idx = v.lookup(values, vo[i], vo[i + 1]);
      if (idx === NEEDS_STRING) idx = v.vocab.indexOf(toCategoryOrNull(text(values, vo[i], vo[i + 1]), { file: where.file, row: where.firstRow + i, column }));
      out[i] = idx;
    }
    return out;
  }

  /** The row path's splitTags + "first maxLength known tags", on the bytes between '|' separators. */
  private bag(vocabName: string, col: Data<Utf8> | null, n: number, L: number): Int32Array {
    const out = new Int32Array(n * L);
    if (!col) return out;
    const v = this.utf8Vocab(vocabName);
    const { valueOffsets: vo, values } = col;
    const nulls = col.nullCount > 0;
    for (let i = 0; i < n; i++) {
      if (nulls && !col.getValid(i)) continue;
      const end = vo[i + 1];
      let k = 0;
      for (let s = vo[i]; s <= end && k < L; ) {
        let e = s;
        while (e < end && values[e] !== PIPE) e++;
        let t = v.lookup(values, s, e);
        if (t === NEEDS_STRING) {
          const tag = splitTags(text(values, s, e));
          t = tag.length ? v.vocab.indexOf(tag[0]) : 0;
        }
        if (t > 0) out[i * L + k++] = t;
        s = e + 1;
      }
    }
    return out;
  }

  /**
   * The row path's encodeHistory over the latest `historyWindow` items: the most recent known items,
   * at most H, oldest first and left-aligned, zero padding after.
   */
  private history(vocabName: string, at: number, n: number, H: number): Int32Array {
    const { histories, catalogIds } = this.opts;
    if (!histories || !catalogIds) throw new TwoTowerError('INTERNAL', 'a history input needs histories and catalog ids');
    const map = (this.catalogVocab ??= vocabIndices(this.vocab({ name: 'history', vocab: vocabName }), catalogIds));
    const window = this.opts.historyWindow ?? Infinity;
    const { offsets, items } = histories;
    const out = new Int32Array(n * H);
    for (let r = 0; r < n; r++) {
      const u = at + r;
      const from = Math.max(offsets[u], offsets[u + 1] - window);
      // Count the known items that fit, then write them oldest first.
      let take = 0;
      let j = offsets[u + 1] - 1;
      for (; j >= from && take < H; j--) if (map[items[j]] > 0) take++;
      let w = r * H;
      for (let q = j + 1; q < offsets[u + 1]; q++) {
        const idx = map[items[q]];
        if (idx > 0) out[w++] = idx;
      }
    }
    return out;
  }
}

const PIPE = 0x7c;

/** Vocabulary indices of idList[from, from + n) (strings already hashed by the IdIndex that holds them). */
function vocabIndices(v: Vocab, idList: readonly string[], from = 0, n = idList.length - from): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = v.indexOf(idList[from + i]);
  return out;
}

function numeric(inp: NumericInput, batch: RecordBatch | null, n: number): EncodedInput {
  const F = inp.columns.length;
  const out = new Float32Array(n * F);
  for (let f = 0; f < F && batch; f++) {
    const col = only(batch, inp.columns[f]);
    if (!col) continue;
    const values = col.values as ArrayLike<number>;
    const nulls = col.nullCount > 0;
    const mean = inp.mean[f];
    const std = inp.std[f];
    // Missing values stay 0, the mean after standardisation (checkNumericColumns refused the rest).
    for (let i = 0; i < n; i++) if (!nulls || col.getValid(i)) out[i * F + f] = (values[i] - mean) / std;
  }
  return { name: inp.name, dtype: 'float32', dims: [n, F], data: out };
}

/** Every num_* column, used by the tower or not, is checked as the row path checks it. */
function checkNumericColumns(batch: RecordBatch, where: RowsAt): void {
  for (const f of batch.schema.fields) {
    if (!f.name.startsWith('num_') || f.name.length === 4) continue;
    const col = only(batch, f.name);
    if (!col) continue;
    const values = col.values as ArrayLike<number>;
    const nulls = col.nullCount > 0;
    for (let i = 0; i < col.length; i++) {
      if (Number.isFinite(values[i]) || (nulls && !col.getValid(i))) continue;
      // The row path's own error for this value (it throws: the value is not finite).
      toNumberOrNull(values[i], { file: where.file, row: where.firstRow + i, column: f.name });
      throw new InputError({ file: where.file, row: where.firstRow + i, column: f.name }, `${values[i]} is not a finite number`);
    }
  }
}

function utf8Column(batch: RecordBatch | null, name: string): Data<Utf8> | null {
  return batch ? (only(batch, name) as Data<Utf8> | null) : null;
}

/** The column's one data chunk (a record batch has one per column), or null when absent. */
function only(batch: RecordBatch, name: string): Data | null {
  const vec = batch.getChild(name);
  if (!vec) return null;
  if (vec.data.length !== 1) throw new TwoTowerError('INTERNAL', `column ${name} has ${vec.data.length} chunks in one record batch`);
  return vec.data[0];
}

function text(bytes: Uint8Array, a: number, b: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', a, b);
}
