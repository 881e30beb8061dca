/**
 * Encoding rows into tower inputs, driven by the manifest. This is the only place that knows how a
 * raw column becomes a tensor; the trainer uses the same functions, so a model sees at serving
 * time exactly the encoding it was trained on.
 *
 * int64 inputs are built as Int32Array indices (what the trainer indexes tables with) and widened
 * to BigInt64Array only when they cross into onnxruntime.
 */
import { endianness } from 'node:os';
import * as ort from 'onnxruntime-node';
import { TwoTowerError } from '../shared/errors.js';
import type { ItemRow } from '../shared/data/types.js';
import type { TowerInput, TowerSpec, NumericInput } from './manifest.js';
import type { UserQuery } from './types.js';
import type { Vocab, Vocabularies } from './vocab.js';

export interface EncodedInput {
  name: string;
  dtype: 'int64' | 'float32';
  dims: number[];
  /** Indices (int64 inputs) or values (float32 inputs), row-major. */
  data: Int32Array | Float32Array;
}

/** Encodes catalog rows for the item tower, one EncodedInput per manifest input, in manifest order. */
export function encodeItems(spec: TowerSpec, vocabs: Vocabularies, rows: readonly ItemRow[]): EncodedInput[] {
  const n = rows.length;
  return spec.inputs.map((inp) => {
    switch (inp.kind) {
      case 'id': {
        const v = vocabOf(vocabs, inp);
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = v.indexOf(rows[i].itemId);
        return { name: inp.name, dtype: 'int64', dims: [n], data: out };
      }
      case 'categorical': {
        const v = vocabOf(vocabs, inp);
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = v.indexOf(rows[i].category);
        return { name: inp.name, dtype: 'int64', dims: [n], data: out };
      }
      case 'bag': {
        const v = vocabOf(vocabs, inp);
        const L = inp.maxLength;
        const out = new Int32Array(n * L);
        for (let i = 0; i < n; i++) {
          const tags = rows[i].tags;
          let k = 0;
          for (let j = 0; j < tags.length && k < L; j++) {
            const t = v.indexOf(tags[j]);
            if (t > 0) out[i * L + k++] = t;
          }
        }
        return { name: inp.name, dtype: 'int64', dims: [n, L], data: out };
      }
      case 'numeric':
        return encodeNumeric(inp, n, (i) => rows[i].numeric);
      default:
        throw unsupported('item', inp);
    }
  });
}

/** Encodes user queries for the user tower, one EncodedInput per manifest input, in manifest order. */
export function encodeUsers(spec: TowerSpec, vocabs: Vocabularies, queries: readonly UserQuery[]): EncodedInput[] {
  const n = queries.length;
  return spec.inputs.map((inp) => {
    switch (inp.kind) {
      case 'id': {
        const v = vocabOf(vocabs, inp);
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = v.indexOf(queries[i].userId);
        return { name: inp.name, dtype: 'int64', dims: [n], data: out };
      }
      case 'categorical': {
        const v = vocabOf(vocabs, inp);
        const col = inp.column;
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const u = queries[i].user;
          out[i] = u ? v.indexOf(u.categorical[col]) : 0;
        }
        return { name: inp.name, dtype: 'int64', dims: [n], data: out };
      }
      case 'numeric':
        return encodeNumeric(inp, n, (i) => queries[i].user?.numeric);
      case 'history': {
        const v = vocabOf(vocabs, inp);
        const H = inp.maxLength;
        const out = new Int32Array(n * H);
        for (let i = 0; i < n; i++) encodeHistory(v, queries[i].history, out, i * H, H);
        return { name: inp.name, dtype: 'int64', dims: [n, H], data: out };
      }
      default:
        throw unsupported('user', inp);
    }
  });
}

/**
 * Writes the indices of the most recent H known items of `history` (oldest first) at out[base..],
 * left-aligned; the rest stays 0 (padding).
 */
function encodeHistory(v: Vocab, history: readonly string[], out: Int32Array, base: number, H: number): void {
  // Walk back from the most recent item, filling slots from the right, then shift left.
  let slot = H;
  for (let j = history.length - 1; j >= 0 && slot > 0; j--) {
    const idx = v.indexOf(history[j]);
    if (idx > 0) out[base + --slot] = idx;
  }
  if (slot > 0) {
    const k = H - slot;
    out.copyWithin(base, base + slot, base + H);
    out.fill(0, base + k, base + H);
  }
}

function encodeNumeric(inp: NumericInput, n: number, get: (i: number) => Record<string, number> | undefined): EncodedInput {
  const F = inp.columns.length;
  const out = new Float32Array(n * F);
  for (let i = 0; i < n; i++) {
    const rec = get(i);
    if (!rec) continue;
    for (let f = 0; f < F; f++) {
      const x = rec[inp.columns[f]];
      // Missing or non-finite values become the mean, which is 0 after standardisation.
      if (typeof x === 'number' && Number.isFinite(x)) out[i * F + f] = (x - inp.mean[f]) / inp.std[f];
    }
  }
  return { name: inp.name, dtype: 'float32', dims: [n, F], data: out };
}

function vocabOf(vocabs: Vocabularies, inp: TowerInput & { vocab: string }): Vocab {
  const v = vocabs.get(inp.vocab);
  if (!v) throw new TwoTowerError('MODEL_CONTRACT', `input '${inp.name}' names vocabulary '${inp.vocab}', which is not loaded`);
  return v;
}

function unsupported(tower: string, inp: TowerInput): TwoTowerError {
  return new TwoTowerError('MODEL_CONTRACT', `the ${tower} tower cannot encode input '${inp.name}' of kind '${inp.kind}'`);
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Widens non-negative int32 indices to int64 without allocating a BigInt per element. */
export function widenToInt64(src: Int32Array): BigInt64Array {
  const out = new BigInt64Array(src.length);
  if (LITTLE_ENDIAN) {
    // Indices are >= 0, so the high word is 0 and the low word is the value.
    const words = new Int32Array(out.buffer);
    for (let i = 0; i < src.length; i++) words[2 * i] = src[i];
  } else {
    for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]);
  }
  return out;
}

/** Turns encoded inputs into onnxruntime feeds. */
export function toOrtFeeds(inputs: readonly EncodedInput[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const e of inputs) {
    feeds[e.name] =
      e.dtype === 'int64'
        ? new ort.Tensor('int64', widenToInt64(e.data as Int32Array), e.dims)
        : new ort.Tensor('float32', e.data as Float32Array, e.dims);
  }
  return feeds;
}
