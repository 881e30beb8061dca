/**
 * Fast conversions between JS arrays and Arrow columns.
 *
 * apache-arrow's generic builders (vectorFromArray) and Utf8 toArray() cost about 2 µs and 0.8 µs
 * per string; writing the offsets and bytes directly is 15× and 8× faster, which is the
 * difference between seconds and minutes for the 25M ids of ml-25m.
 */
import { isAscii } from 'node:buffer';
import { Float64, Int64, makeData, makeVector, Utf8, type Data, type Vector } from 'apache-arrow';

/** Arrow validity bitmap (1 = valid), or undefined when nothing is null. */
function validity(n: number, isNull: (i: number) => boolean): { bitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  let bitmap: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    if (!isNull(i)) continue;
    if (!bitmap) bitmap = new Uint8Array((n + 7) >> 3).fill(0xff);
    bitmap[i >> 3] &= ~(1 << (i & 7));
    nullCount++;
  }
  return { bitmap, nullCount };
}

export function utf8Vector(values: readonly (string | null)[]): Vector<Utf8> {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  let buf = Buffer.allocUnsafe(1 << 16);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const s = values[i];
    if (s !== null) {
      // A UTF-16 code unit takes at most 3 UTF-8 bytes.
      if (pos + s.length * 3 > buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + s.length * 3));
        buf.copy(grown, 0, 0, pos);
        buf = grown;
      }
      pos += buf.write(s, pos, 'utf8');
    }
    offsets[i + 1] = pos;
  }
  const { bitmap, nullCount } = validity(n, (i) => values[i] === null);
  // Copy out so the column does not pin the (up to 2× larger) scratch buffer.
  const data = Uint8Array.prototype.slice.call(buf, 0, pos);
  return makeVector(makeData({ type: new Utf8(), length: n, nullCount, nullBitmap: bitmap, valueOffsets: offsets, data }));
}

export function float64Vector(values: readonly (number | null)[]): Vector<Float64> {
  const n = values.length;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = values[i] ?? 0;
  const { bitmap, nullCount } = validity(n, (i) => values[i] === null);
  return makeVector(makeData({ type: new Float64(), length: n, nullCount, nullBitmap: bitmap, data }));
}

export function int64Vector(values: readonly number[]): Vector<Int64> {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return makeVector(data);
}

/** The strings of a Utf8 column, null where missing. */
export function utf8Values(vec: Vector<Utf8>): (string | null)[] {
  const out = new Array<string | null>(vec.length);
  let base = 0;
  for (const chunk of vec.data as Data<Utf8>[]) {
    decodeChunk(chunk, out, base);
    base += chunk.length;
  }
  return out;
}

function decodeChunk(d: Data<Utf8>, out: (string | null)[], base: number): void {
  const vo = d.valueOffsets;
  const bytes = d.values;
  if (d.length === 0) return;
  // Offsets of a sliced chunk index into the full value buffer: decode only the used span.
  const start = vo[0];
  const end = vo[d.length];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hasNulls = d.nullCount > 0;
  if (isAscii(buf.subarray(start, end))) {
    // ASCII: byte offsets are character offsets, so one decode and cheap slices do it.
    const all = buf.toString('latin1', start, end);
    for (let i = 0; i < d.length; i++) out[base + i] = hasNulls && !d.getValid(i) ? null : all.slice(vo[i] - start, vo[i + 1] - start);
  } else {
    for (let i = 0; i < d.length; i++) out[base + i] = hasNulls && !d.getValid(i) ? null : buf.toString('utf8', vo[i], vo[i + 1]);
  }
}
