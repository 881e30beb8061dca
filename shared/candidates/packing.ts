/**
 * A user's candidates travel as one binary value: n int32 item indices then n float32 scores,
 * little-endian. One copy from LMDB and two typed-array views; no JSON, no per-item objects.
 */
import type { Candidates } from '../store/types.js';

export function packCandidates(items: Int32Array, scores: Float32Array): Buffer {
  const n = items.length;
  const buf = Buffer.allocUnsafe(n * 8);
  Buffer.from(items.buffer, items.byteOffset, n * 4).copy(buf, 0);
  Buffer.from(scores.buffer, scores.byteOffset, n * 4).copy(buf, n * 4);
  return buf;
}

export function unpackCandidates(buf: Uint8Array): Candidates {
  const n = buf.byteLength / 8;
  // Copy into a fresh, aligned buffer: LMDB's buffer may be unaligned or reused.
  const own = new ArrayBuffer(buf.byteLength);
  new Uint8Array(own).set(buf);
  return { items: new Int32Array(own, 0, n), scores: new Float32Array(own, n * 4, n) };
}
