/**
 * The session similarities with WebAssembly SIMD (sessionDots.wat): the same values as
 * sessionDotsJs bit for bit, at a fraction of its CPU. With it, computeRankFeatures for 200
 * candidates and 5 session items over 100k items took 27 µs against 56 µs at 32 dimensions, and
 * 35–42 µs against 86–120 µs at 64; the features are most of what the ranker's scoring worker
 * spends per request.
 *
 * A kernel reads the embeddings in place from their shared memory (embeddingMemory.ts), so each
 * thread that scores creates its own kernel over the version's memory: the instance and its
 * scratch region (candidates, session rows, results) belong to that thread.
 */
import { WASM_PAGE_BYTES } from './embeddingMemory.js';
import { SESSION_DOTS_WASM_BASE64 } from './sessionDotsWasm.js';

type Dots = (cands: number, n: number, dim: number, s: number, out: number, stride: number) => void;
interface KernelExports {
  touch(cands: number, n: number, dim: number): number;
  dots2: Dots;
  dots4: Dots;
  dots6: Dots;
}

/** Compiled once per thread, on first use. */
let compiled: WebAssembly.Module | null = null;

function sessionDotsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(SESSION_DOTS_WASM_BASE64, 'base64'));
  return compiled;
}

/** The kernels take session items in groups of 2, 4 or 6 (a group's last lane may be padding). */
type GroupWidth = 2 | 4 | 6;

export class SessionDotKernel {
  readonly #memory: WebAssembly.Memory;
  readonly #dim: number;
  readonly #items: number;
  readonly #exports: KernelExports;
  /** This thread's scratch region: [base, base + size). */
  #base = 0;
  #size = 0;
  #f64: Float64Array = new Float64Array(0);
  #i32: Int32Array = new Int32Array(0);
  /** The embeddings (byte 0 of the memory). */
  readonly #f32: Float32Array;

  /**
   * The kernel a scoring thread uses over a version's embeddings: null when they are not in a
   * WebAssembly memory (past its 4 GiB), and the JavaScript kernel runs instead.
   */
  static over(memory: WebAssembly.Memory | null | undefined, dim: number, items: number): SessionDotKernel | null {
    return memory ? new SessionDotKernel(memory, dim, items) : null;
  }

  /** `memory` holds items × dim float32 embeddings from byte 0. */
  constructor(memory: WebAssembly.Memory, dim: number, items: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`session kernel: dim must be a positive integer, got ${dim}`);
    if (items * dim * 4 > memory.buffer.byteLength) throw new RangeError(`session kernel: ${items} × ${dim} embeddings do not fit the memory's ${memory.buffer.byteLength} bytes`);
    this.#memory = memory;
    this.#dim = dim;
    this.#items = items;
    this.#f32 = new Float32Array(memory.buffer, 0, items * dim);
    this.#exports = new WebAssembly.Instance(sessionDotsModule(), { env: { memory } }).exports as unknown as KernelExports;
  }

  /**
   * dots[j * n + i]: candidate i's dot product with session item j, as sessionDotsJs computes it.
   * The returned array is this kernel's scratch, valid until its next call. Null when the
   * JavaScript kernel must do it instead (the caller then runs it): an index outside the table,
   * where this kernel would read the memory above the embeddings and the JavaScript one gives NaN
   * similarities that the scorer refuses; or a memory that cannot grow by this call's scratch
   * (near its 4 GiB).
   */
  dots(candidates: Int32Array, sessionItems: Int32Array): Float64Array | null {
    const n = candidates.length;
    const s = sessionItems.length;
    const dim = this.#dim;
    if (!inTable(candidates, this.#items) || !inTable(sessionItems, this.#items)) return null;
    const padded = s + (s % 2);
    // Layout of the scratch region, in 16-byte units where a vector is read: results, session
    // rows, candidates.
    const dotsBytes = align16(padded * n * 8);
    const sessionBytes = padded * dim * 8;
    if (!this.#ensureScratch(dotsBytes + sessionBytes + n * 4)) return null;
    const dotsAt = this.#base;
    const sessionAt = dotsAt + dotsBytes;
    const candsAt = sessionAt + sessionBytes;
    this.#i32.set(candidates, candsAt / 4);
    const { touch } = this.#exports;
    touch(candsAt, n, dim);

    // Each group's session rows as the kernel reads them: for each d, the group's values side by
    // side (float32 to double is exact), a padded lane zero.
    const E = this.#f32;
    const S = this.#f64;
    for (let j = 0; j < s; ) {
      const width = groupWidth(s - j);
      const groupAt = (sessionAt + j * dim * 8) / 8;
      for (let lane = 0; lane < width; lane++) {
        if (j + lane === s) {
          for (let d = 0; d < dim; d++) S[groupAt + d * width + lane] = 0;
          continue;
        }
        const row = sessionItems[j + lane] * dim;
        for (let d = 0; d < dim; d++) S[groupAt + d * width + lane] = E[row + d];
      }
      const kernel = width === 2 ? this.#exports.dots2 : width === 4 ? this.#exports.dots4 : this.#exports.dots6;
      if (n > 0) kernel(candsAt, n, dim, groupAt * 8, dotsAt + j * n * 8, n);
      j += width;
    }
    return this.#f64.subarray(dotsAt / 8, dotsAt / 8 + padded * n);
  }

  /**
   * A region of at least `bytes` for this kernel alone, grown by whole pages and never shared;
   * false when the memory cannot grow that far.
   */
  #ensureScratch(bytes: number): boolean {
    if (bytes <= this.#size) return true;
    const pages = Math.ceil(Math.max(bytes, 4 * WASM_PAGE_BYTES) / WASM_PAGE_BYTES);
    // grow() is atomic across threads: the pages it returns the start of are this thread's. A
    // region outgrown is left behind (it was the smaller one).
    let startPage: number;
    try {
      startPage = this.#memory.grow(pages);
    } catch {
      return false;
    }
    this.#base = startPage * WASM_PAGE_BYTES;
    this.#size = pages * WASM_PAGE_BYTES;
    // Views over the buffer as it is now, which covers the new region.
    const buffer = this.#memory.buffer;
    this.#f64 = new Float64Array(buffer);
    this.#i32 = new Int32Array(buffer);
    return true;
  }
}

/** Whether every index is an item of a table of `items` (a pass over a few hundred values). */
function inTable(indices: Int32Array, items: number): boolean {
  for (let i = 0; i < indices.length; i++) if (!(indices[i] >= 0 && indices[i] < items)) return false;
  return true;
}

/** The group the kernels take for `left` session items still to do. */
function groupWidth(left: number): GroupWidth {
  return left >= 5 ? 6 : left >= 3 ? 4 : 2;
}

function align16(bytes: number): number {
  return (bytes + 15) & ~15;
}
