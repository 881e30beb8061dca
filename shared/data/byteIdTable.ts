/**
 * An id → dense index table keyed by the ids' UTF-8 bytes, so that ids read from Arrow buffers are
 * looked up without first becoming JavaScript strings. A Map<string, number> lookup of a freshly
 * decoded string costs about 0.5 µs at a million keys (decode, hash, cache misses).
 *
 * Open addressing with linear probing. Each slot is 16 bytes: the index, a tag (key length and
 * 24 bits of the hash) and the key's first 8 bytes. Keys of up to 8 bytes (most ids) are compared
 * inside the slot, so a lookup costs one cache miss instead of three (slot, key offsets, key
 * bytes); longer keys compare the tag first and their bytes in the pool only on a tag match.
 */
const STRIDE = 4;
const INLINE = 8;

export class ByteIdTable {
  private pool: Uint8Array;
  private poolLen = 0;
  private starts: Int32Array;
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    const slotCount = nextPow2(Math.max(16, capacity * 2));
    this.slots = new Int32Array(slotCount * STRIDE);
    this.mask = slotCount - 1;
    this.starts = new Int32Array(Math.max(16, capacity) + 1);
    this.pool = new Uint8Array(Math.max(256, capacity * 12));
  }

  static fromIds(ids: readonly string[]): ByteIdTable {
    const t = new ByteIdTable(ids.length);
    for (const id of ids) {
      const b = utf8Bytes(id);
      t.insert(b, 0, b.length);
    }
    return t;
  }

  /** The index of bytes[start, end), or -1. */
  find(bytes: Uint8Array, start: number, end: number): number {
    const h = hash(bytes, start, end);
    const tag = tagOf(h, end - start);
    const w0 = word(bytes, start, end, 0);
    const w1 = word(bytes, start, end, 4);
    const slots = this.slots;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const base = s * STRIDE;
      const v = slots[base];
      if (v === 0) return -1;
      if (slots[base + 1] === tag && slots[base + 2] === w0 && slots[base + 3] === w1 && (end - start <= INLINE || this.equals(v - 1, bytes, start, end))) return v - 1;
    }
  }

  /** The index of bytes[start, end), added at the end if new. */
  insert(bytes: Uint8Array, start: number, end: number): number {
    const found = this.find(bytes, start, end);
    if (found >= 0) return found;
    const index = this.size++;
    const len = end - start;
    if (this.poolLen + len > this.pool.length) this.pool = growBytes(this.pool, this.poolLen + len);
    this.pool.set(bytes.subarray(start, end), this.poolLen);
    if (index + 2 > this.starts.length) this.starts = growInts(this.starts, index + 2);
    this.starts[index] = this.poolLen;
    this.poolLen += len;
    this.starts[index + 1] = this.poolLen;
    this.place(index, hash(bytes, start, end), this.slots, this.mask);
    if (this.size * 2 > this.slots.length / STRIDE) this.rehash();
    return index;
  }

  private place(index: number, h: number, slots: Int32Array, mask: number): void {
    const a = this.starts[index];
    const b = this.starts[index + 1];
    let s = h & mask;
    while (slots[s * STRIDE] !== 0) s = (s + 1) & mask;
    const base = s * STRIDE;
    slots[base] = index + 1;
    slots[base + 1] = tagOf(h, b - a);
    slots[base + 2] = word(this.pool, a, b, 0);
    slots[base + 3] = word(this.pool, a, b, 4);
  }

  private equals(index: number, bytes: Uint8Array, start: number, end: number): boolean {
    const a = this.starts[index];
    const len = this.starts[index + 1] - a;
    if (len !== end - start) return false;
    const pool = this.pool;
    for (let i = 0; i < len; i++) if (pool[a + i] !== bytes[start + i]) return false;
    return true;
  }

  private rehash(): void {
    const count = (this.slots.length / STRIDE) * 2;
    const slots = new Int32Array(count * STRIDE);
    const mask = count - 1;
    for (let index = 0; index < this.size; index++) this.place(index, hash(this.pool, this.starts[index], this.starts[index + 1]), slots, mask);
    this.slots = slots;
    this.mask = mask;
  }
}

/**
 * A string's UTF-8 bytes as a plain Uint8Array. Buffers are a different class to V8: if both
 * reached find() and hash(), their element loads would go polymorphic on the hottest loop.
 */
export function utf8Bytes(s: string): Uint8Array {
  const b = Buffer.from(s, 'utf8');
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function hash(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  // FNV's low bits are weak for short keys that differ only in their last byte; mix them.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

/** Key length (capped at 127; longer keys are compared in the pool anyway) and 24 bits of the hash. */
function tagOf(h: number, len: number): number {
  return (Math.min(len, 127) << 24) | (h >>> 8);
}

/** Bytes [off, off + 4) of the key as a little-endian int32, zero past the key's end. */
function word(bytes: Uint8Array, start: number, end: number, off: number): number {
  let w = 0;
  for (let k = 0; k < 4; k++) {
    const i = start + off + k;
    if (i < end) w |= bytes[i] << (8 * k);
  }
  return w;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function growBytes(a: Uint8Array, need: number): Uint8Array {
  const b = new Uint8Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growInts(a: Int32Array, need: number): Int32Array {
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}
