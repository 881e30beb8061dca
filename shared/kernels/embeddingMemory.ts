/**
 * Item embeddings in a shared WebAssembly memory, from byte 0: an ordinary SharedArrayBuffer to
 * every Float32Array view (worker threads read it without a copy, as before), and memory the SIMD
 * session kernel (sessionDotKernel.ts) reads in place. Each thread that runs the kernel grows the
 * memory by a scratch region of its own above the embeddings.
 */

export const WASM_PAGE_BYTES = 65536;
/** A 32-bit memory's limit: 4 GiB. */
const MAX_PAGES = 65536;
/** Left free above the embeddings for the kernels' scratch regions (a few pages each). */
const SCRATCH_RESERVE_PAGES = 256;

/**
 * A shared memory whose first `byteLength` bytes are free for the embeddings, or null when they
 * do not fit a 32-bit memory with room to spare (about 4 GiB: 16 million items of 64 dimensions)
 * or the runtime refuses one; the caller then uses a plain SharedArrayBuffer, and
 * computeRankFeatures its JavaScript kernel.
 */
export function allocateEmbeddingMemory(byteLength: number): WebAssembly.Memory | null {
  const pages = Math.max(1, Math.ceil(byteLength / WASM_PAGE_BYTES));
  if (pages + SCRATCH_RESERVE_PAGES > MAX_PAGES) return null;
  try {
    // The maximum only reserves address space; pages are committed as they are used.
    return new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
  } catch {
    return null;
  }
}

/** A copy of `embeddings` in a new embedding memory (for tests and callers that hold a plain array). */
export function copyIntoEmbeddingMemory(embeddings: Float32Array): { memory: WebAssembly.Memory; embeddings: Float32Array } | null {
  const memory = allocateEmbeddingMemory(embeddings.byteLength);
  if (!memory) return null;
  const view = new Float32Array(memory.buffer, 0, embeddings.length);
  view.set(embeddings);
  return { memory, embeddings: view };
}
