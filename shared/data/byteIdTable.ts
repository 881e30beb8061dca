/**
 * An id → dense index table keyed by the ids' UTF-8 bytes, so that ids read from Arrow buffers are
 * looked up without first becoming JavaScript strings. A Map<string, number> lookup of a freshly
 * decoded string costs about 0.5 µs at a million keys (decode, hash, cache misses); hashing the
 * bytes in place costs a fraction of that, which at 40 million interactions is half a minute.
 *
 * Open addressing with linear probing over an Int32Array; FNV-1a over the bytes.
 */
export class ByteIdTable {
  private pool: Uint8Array;
  private poolLen = 0;
  private starts: Int32Array;
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    const slotCount = nextPow2(Math.max(16, capacity * 2));
    this.slots = new Int32Array(slotCount);
    this.mask = slotCount - 1;
    this.starts = new Int32Array(Math.max(16, capacity) + 1);
    this.pool = new Uint8Array(Math.max(256, capacity * 12));
  }

  static fromIds(ids: readonly string[]): ByteIdTable {
    const t = new ByteIdTable(ids.length);
    for (const id of ids) {
      const b = Buffer.from(id, 'utf8');
      t.insert(b, 0, b.length);
    }
    return t;
  }

  /** The index of bytes[start, end), or -1. */
  find(bytes: Uint8Array, start: number, end: number): number {
    const h = hash(bytes, start, end);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const v = this.slots[s];
      if (v === 0) return -1;
      if (this.equals(v - 1, bytes, start, end)) return v - 1;
    }
  }

  /** The index of bytes[start, end), added at the end if new (then `added` is true). */
  insert(bytes: Uint8Array, start: number, end: number): number {
    const h = hash(bytes, start, end);
    let s = h & this.mask;
    for (; ; s = (s + 1) & this.mask) {
      const v = this.slots[s];
      if (v === 0) break;
      if (this.equals(v - 1, bytes, start, end)) return v - 1;
    }
    const index = this.size++;
    const len = end - start;
    if (this.poolLen + len > this.pool.length) this.pool = growBytes(this.pool, this.poolLen + len);
    this.pool.set(bytes.subarray(start, end), this.poolLen);
    if (index + 2 > this.starts.length) this.starts = growInts(this.starts, index + 2);
    this.starts[index] = this.poolLen;
    this.poolLen += len;
    this.starts[index + 1] = this.poolLen;
    this.slots[s] = index + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return index;
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
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let index = 0; index < this.size; index++) {
      let s = hash(this.pool, this.starts[index], this.starts[index + 1]) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = index + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function hash(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  // FNV's low bits are weak for short keys that differ only in their last byte; mix them.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
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
